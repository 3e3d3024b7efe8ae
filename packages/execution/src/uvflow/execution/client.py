"""Connect to a Dask scheduler, or start a local one: :func:`get_dask_client`.

Where the scheduler is looked for, first match wins:

1. the ``scheduler`` argument (an address such as ``tcp://10.0.0.1:8786``);
2. the ``scheduler_file`` argument (the JSON file ``dask scheduler --scheduler-file``
   writes);
3. the environment variable ``UVFLOW_DASK_SCHEDULER`` (or RASCIL's
   ``RASCIL_DASK_SCHEDULER``) holding an address;
4. the environment variable ``UVFLOW_DASK_SCHEDULER_FILE`` naming a scheduler file;
5. otherwise a new ``LocalCluster`` on this machine, owned by the returned client
   (closing the client closes the cluster).

Explicit arguments beat the environment, so a script can always override a batch
job's settings; ``use_environment=False`` ignores the environment (a new local cluster
unless an address or file is given). ``n_workers`` applies to a new local cluster only:
given while the environment names a scheduler, it is ignored with a warning.

A scheduler address whose host refuses the connection (nothing listens at that port:
ECONNREFUSED) fails at once; a port that accepts the connection but sends nothing (a
scheduler greets at once) fails after ``timeout`` seconds, where Dask alone would wait
forever; other failures (a host that cannot be reached) wait up to ``timeout`` seconds.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import TYPE_CHECKING

from uvflow.execution.errors import ClusterConnectionError
from uvflow.execution.keywords import strict_keywords

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "SCHEDULER_ENV_VARS",
    "SCHEDULER_FILE_ENV_VAR",
    "WORKER_ENVIRON",
    "dashboard_link",
    "get_dask_client",
    "read_scheduler_file",
]

logger = logging.getLogger(__name__)

#: Environment variables holding a scheduler address, in order of precedence.
SCHEDULER_ENV_VARS = ("UVFLOW_DASK_SCHEDULER", "RASCIL_DASK_SCHEDULER")
#: Environment variable naming a scheduler file.
SCHEDULER_FILE_ENV_VAR = "UVFLOW_DASK_SCHEDULER_FILE"
#: Dask configuration of the worker processes of local clusters made here: glibc's own
#: (adaptive) malloc thresholds instead of distributed's MALLOC_TRIM_THRESHOLD_=65536.
WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@strict_keywords
def get_dask_client(
    timeout: float = 30,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
    memory_limit: str | float | None = None,
    scheduler_file: str | os.PathLike | None = None,
    dashboard_address: str | None = ":8787",
    scheduler: str | None = None,
    use_environment: bool = True,
) -> Client:
    """Return a ``distributed.Client`` for an existing scheduler or a new local cluster.

    Parameters
    ----------
    timeout : float
        Seconds to wait for the scheduler (and for a scheduler file to appear). A
        scheduler that cannot be reached in this time raises
        :class:`~uvflow.execution.errors.ClusterConnectionError`.
    n_workers : int, optional
        Worker processes (or threads, with ``processes=False``) of a new local
        cluster; default: Dask's choice from the number of cores. Ignored when
        connecting to an existing scheduler.
    threads_per_worker : int
        Threads per worker of a new local cluster.
    processes : bool
        Local cluster of processes (True) or of threads in this process (False).
    memory_limit : str or float, optional
        Memory limit per worker of a new local cluster (``"4GiB"``, bytes, or a
        fraction of the machine's memory); default: Dask's ``"auto"``.
    scheduler_file : str or path, optional
        Scheduler file written by ``dask scheduler --scheduler-file``.
    dashboard_address : str or None
        Address of a new local cluster's dashboard (``":8787"``; ``":0"`` picks a
        free port).
    scheduler : str, optional
        Address of a running scheduler, e.g. ``"tcp://127.0.0.1:8786"``.
    use_environment : bool
        Look for a scheduler in the environment variables (the module notes); False: a
        new local cluster unless ``scheduler`` or ``scheduler_file`` is given.

    Returns
    -------
    distributed.Client
        The connected client. It is also Dask's default client.

    Notes
    -----
    The worker processes of a new local cluster start without distributed's default
    ``MALLOC_TRIM_THRESHOLD_=65536`` (:data:`WORKER_ENVIRON`): with it glibc maps every
    array above 128 KiB afresh and page-faults it in, which made the imaging kernels'
    large temporaries ~20 % slower in workers than in the client (measured on the
    continuum pipeline). Workers started by hand can do the same through their Dask
    configuration (``docs/dask.md``).

    Raises
    ------
    ClusterConnectionError
        No scheduler answered at the address within ``timeout`` seconds, or the
        scheduler file did not appear in time. The message names the address or file.
    ValueError
        Both ``scheduler`` and ``scheduler_file`` were given.
    """
    if scheduler is not None and scheduler_file is not None:
        raise ValueError("give either scheduler (an address) or scheduler_file, not both")

    address, source = _find_scheduler(scheduler, scheduler_file, timeout, use_environment)
    if address is not None:
        if n_workers is not None and source.startswith(("$", "scheduler file ")):
            logger.warning("n_workers=%d ignored: connecting to the scheduler at %s (from %s)",
                           n_workers, address, source)  # fmt: skip
        client = _connect(address, timeout, source)
    else:
        cluster_kwargs: dict = {
            "threads_per_worker": threads_per_worker,
            "processes": processes,
            "dashboard_address": dashboard_address,
        }
        if n_workers is not None:
            cluster_kwargs["n_workers"] = n_workers
        if memory_limit is not None:
            cluster_kwargs["memory_limit"] = memory_limit
        import dask
        from distributed import Client

        with dask.config.set(WORKER_ENVIRON):
            client = Client(timeout=timeout, **cluster_kwargs)
        source = "new LocalCluster"
    nworkers = len(client.nthreads())
    logger.info(
        "Dask client connected to %s (%s) with %d workers; dashboard: %s",
        client.scheduler.address,
        source,
        nworkers,
        dashboard_link(client) or "none",
    )
    return client


def read_scheduler_file(scheduler_file: str | os.PathLike, timeout: float = 30) -> str:
    """Return the scheduler address stored in a Dask scheduler file.

    Waits up to ``timeout`` seconds for the file to appear and hold an address (the
    scheduler writes it shortly after it starts).

    Parameters
    ----------
    scheduler_file : str or path
        JSON file written by ``dask scheduler --scheduler-file``.
    timeout : float
        Seconds to wait.

    Returns
    -------
    str
        The address, e.g. ``"tcp://10.0.0.1:8786"``.

    Raises
    ------
    ClusterConnectionError
        The file did not appear, or held no address, within ``timeout`` seconds.
    """
    path = os.fspath(scheduler_file)
    deadline = time.monotonic() + timeout
    problem = "does not exist"
    while True:
        try:
            with open(path) as f:
                address = json.load(f)["address"]
            if isinstance(address, str) and address:
                return address
            problem = "holds no scheduler address"
        except FileNotFoundError:
            problem = "does not exist"
        except (ValueError, KeyError, TypeError):
            problem = "holds no scheduler address"
        if time.monotonic() >= deadline:
            raise ClusterConnectionError(
                f"scheduler file {path!r} {problem} after waiting {timeout} s; start "
                f"'dask scheduler --scheduler-file {path}' first or fix the path"
            )
        time.sleep(0.05)


def dashboard_link(client: Client) -> str | None:
    """Return the link to the client's Dask dashboard, or None when there is none.

    Parameters
    ----------
    client : distributed.Client
        A connected client.

    Returns
    -------
    str or None
        For example ``"http://127.0.0.1:8787/status"``.
    """
    try:
        link = client.dashboard_link
    except Exception:  # no HTTP service, or scheduler_info not available
        return None
    return link or None


def _find_scheduler(
    scheduler: str | None,
    scheduler_file: str | os.PathLike | None,
    timeout: float,
    use_environment: bool = True,
) -> tuple[str | None, str]:
    """The scheduler address to use and where it came from; (None, '') for a local cluster."""
    if scheduler is not None:
        return str(scheduler), "scheduler argument"
    if scheduler_file is not None:
        path = os.fspath(scheduler_file)
        return read_scheduler_file(path, timeout), f"scheduler file {path}"
    if not use_environment:
        return None, ""
    for var in SCHEDULER_ENV_VARS:
        value = os.environ.get(var, "").strip()
        if value:
            return value, f"${var}"
    path = os.environ.get(SCHEDULER_FILE_ENV_VAR, "").strip()
    if path:
        return read_scheduler_file(
            path, timeout
        ), f"scheduler file {path} (${SCHEDULER_FILE_ENV_VAR})"
    return None, ""


def _probe(address: str, timeout: float) -> str | None:
    """What is wrong with a TCP connection to ``address``, or None if it looks like a scheduler.

    A Dask scheduler sends its handshake as soon as it accepts a connection; Dask's own
    connect waits for it without a bound, so a port that accepts but never answers (not a
    scheduler, or a hung one) would hang ``Client`` whatever its timeout.

    Parameters
    ----------
    address : str
        A scheduler address (``tcp://host:port``, ``tls://…``, ``host:port``).
    timeout : float
        Seconds the connection and the first bytes may take.

    Returns
    -------
    str or None
        ``"refused"`` (ECONNREFUSED: nothing listens there), ``"silent"`` (connected, but
        nothing arrived within ``timeout``), or None: bytes arrived, the host could not be
        reached (Dask waits for it and says so), or the address is not plain TCP (TLS
        speaks only after the client; only a refusal is told there).
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        host, port = parse_host_port(location)
    except (ValueError, TypeError):
        return None
    if scheme not in ("tcp", "tls") or not port:
        return None
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, int(port)), timeout=max(timeout, 0.1))
    except ConnectionRefusedError:
        return "refused"
    except OSError:  # no answer, unreachable, unknown host: Dask waits and says so
        return None
    with sock:
        if scheme != "tcp":
            return None
        sock.settimeout(max(deadline - time.monotonic(), 0.1))
        try:
            sock.recv(1, socket.MSG_PEEK)
        except TimeoutError:
            return "silent"
        except OSError:
            return None
    return None


def _connect(address: str, timeout: float, source: str) -> Client:
    """Connect to ``address``, turning Dask's errors into ClusterConnectionError."""
    start = time.monotonic()
    problem = _probe(address, timeout)
    if problem is not None:
        why = {
            "refused": "the connection was refused: no scheduler listens there; start one "
            "or fix the address",
            "silent": f"it accepted the connection but sent nothing within {timeout} s (a "
            "Dask scheduler answers at once): not a Dask scheduler, or a hung one",
        }[problem]
        raise ClusterConnectionError(
            f"could not connect to the Dask scheduler at {address} (from {source}): {why}"
        )
    try:
        from distributed import Client

        return Client(address, timeout=max(timeout - (time.monotonic() - start), 1.0))
    except ValueError as exc:
        raise ValueError(
            f"scheduler address {address!r} (from {source}) is not valid: {exc}; "
            "expected an address such as 'tcp://10.0.0.1:8786'"
        ) from exc
    except (OSError, TimeoutError) as exc:
        elapsed = time.monotonic() - start
        raise ClusterConnectionError(
            f"could not connect to the Dask scheduler at {address} (from {source}) within "
            f"{timeout} s (gave up after {elapsed:.1f} s): {exc}"
        ) from exc
