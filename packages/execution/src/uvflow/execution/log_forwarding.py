"""Log records from tasks reach the client's handlers, whatever runs the tasks.

Library code logs on ``uvflow.*`` loggers and never configures handlers; the program
(the ``uvflow`` command, a script, pytest) configures them in its own process. Tasks
that run in other processes would log into the void, so :meth:`Executor.set_client
<uvflow.execution.executor.Executor.set_client>` forwards their records here:

- on a ``distributed`` cluster, :func:`forward_worker_logs` registers a
  :class:`LogForwardingPlugin` with ``Client.register_plugin`` (every worker gets it, also
  workers that join later or are restarted by their nanny). In each worker process it
  sets the ``uvflow`` logger's level (workers start at ``WARNING``) and adds a handler
  that sends every record, as a dict of plain values (:func:`record_to_dict`), to the
  scheduler with ``Worker.log_event``. The client subscribes to that topic
  (``Client.subscribe_topic``) and hands each record to its own logger of the same name
  (:func:`handle_forwarded_record`), with a ``worker`` attribute naming the worker;
- with Dask's ``processes`` scheduler, :func:`process_pool_forwarding` gives the pool's
  processes the same handler, writing into a ``multiprocessing`` queue that a thread of
  this process drains;
- in serial mode, with the ``threads`` and ``synchronous`` schedulers and for workers in
  this process (a ``LocalCluster(processes=False)``), records reach the handlers directly
  and nothing is forwarded (no record arrives twice).

``distributed``'s own ``Client.forward_logging`` is not used: it leaves the worker's
logger level alone (so INFO records are dropped before its handler sees them), sends
each record's whole ``__dict__`` (which need not be serialisable), and forwards the
records of workers in the client's own process a second time.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from distributed.diagnostics.plugin import WorkerPlugin

from uvflow.execution.logging_setup import (
    DEFAULT_FORWARD_LOGGER,
    FORWARDING_MARK,
    forwarding_level,
    parse_level,
)

__all__ = [
    "DEFAULT_FORWARD_LOGGER",
    "LogForwarding",
    "LogForwardingPlugin",
    "forward_worker_logs",
    "forwarding_level",
    "handle_forwarded_record",
    "process_pool_forwarding",
    "record_to_dict",
]

logger = logging.getLogger(__name__)

#: LogRecord attributes a forwarded record keeps (all plain values); ``msg`` (the
#: formatted message), ``args`` (None), ``exc_text`` and ``worker`` are added.
RECORD_FIELDS = tuple(
    "name levelno levelname pathname filename module lineno funcName created msecs process "
    "processName thread threadName stack_info".split()
)

# This process: a random token (a pid alone repeats across machines) and the pid (a
# forked child inherits the token).
_TOKEN = uuid.uuid4().hex
# The handlers LogForwardingPlugin added in this process, by (logger, topic).
_WORKER_HANDLERS: dict[tuple[str, str], _WorkerEventHandler] = {}
_LOCK = threading.Lock()
# Key of the worker's name in an event (the scheduler sets "worker" to its address).
_NAME_KEY = "uvflow_worker_name"


def _this_process() -> tuple[str, int]:
    return _TOKEN, os.getpid()


def record_to_dict(record: logging.LogRecord, worker: str) -> dict:
    """The attributes of ``record`` to send to another process, as plain values.

    The message is formatted with its arguments here (they need not be serialisable),
    and an exception's traceback becomes ``exc_text``.
    """
    attrs = {field: getattr(record, field, None) for field in RECORD_FIELDS}
    exc_text = record.exc_text
    if record.exc_info and not exc_text:
        exc_text = logging.Formatter().formatException(record.exc_info)
    attrs.update(msg=record.getMessage(), args=None, exc_text=exc_text, worker=worker)
    return attrs


def handle_forwarded_record(attrs: dict) -> None:
    """Re-create a forwarded record and pass it to this process's logger of its name.

    The logger's own level applies, as for a record logged here; the handlers (and its
    ancestors' handlers) receive a record with a ``worker`` attribute.
    """
    record = logging.makeLogRecord(attrs)
    target = logging.getLogger(record.name)
    if target.isEnabledFor(record.levelno):
        target.handle(record)


class _ForwardingHandler(logging.Handler):
    """Sends every record it handles, as :func:`record_to_dict`, to a destination.

    ``destination()`` gives ``(send, worker name)``, or None to drop the record.
    """

    def __init__(self, level: int) -> None:
        super().__init__(level)
        setattr(self, FORWARDING_MARK, True)

    def destination(self) -> tuple[Callable[[dict], None], str] | None:
        raise NotImplementedError

    def emit(self, record: logging.LogRecord) -> None:
        try:
            where = self.destination()
            if where is not None:
                send, worker = where
                send(record_to_dict(record, worker))
        except Exception:  # a closing worker or queue: the record is lost, quietly
            pass


class _QueueHandler(_ForwardingHandler):
    """Puts the records into a ``multiprocessing`` queue (Dask's ``processes`` scheduler)."""

    def __init__(self, level: int, queue) -> None:
        super().__init__(level)
        self.queue = queue

    def destination(self) -> tuple[Callable[[dict], None], str]:
        return self.queue.put, multiprocessing.current_process().name


def _attach(target: logging.Logger, handler: logging.Handler) -> None:
    """Add ``handler`` and lower the logger's level to the handler's if need be."""
    handler.previous_level = target.level  # type: ignore[attr-defined]
    if target.level == logging.NOTSET or target.level > handler.level:
        target.setLevel(handler.level)
    target.addHandler(handler)


def _detach(target: logging.Logger, handler: logging.Handler) -> None:
    """Undo :func:`_attach` (the level only if nobody changed it since)."""
    target.removeHandler(handler)
    handler.close()
    if target.level == handler.level:
        target.setLevel(handler.previous_level)  # type: ignore[attr-defined]


class LogForwardingPlugin(WorkerPlugin):
    """Worker plugin sending the records of ``logger`` to the event topic ``topic``.

    Parameters
    ----------
    topic : str
        Event topic the client subscribed to.
    level : int
        Records at this level or above are sent; the worker's logger is set to it
        (or left lower, when something else set it lower).
    logger : str
        Logger name (its children are included).

    Notes
    -----
    Workers in the process that made the plugin do nothing: their records reach that
    process's handlers directly. Several workers in one other process share one
    handler, which sends through the worker running the task that logged.
    """

    def __init__(self, topic: str, level: int, logger: str = DEFAULT_FORWARD_LOGGER) -> None:
        self.topic = topic
        self.level = level
        self.logger = logger
        self.origin = _this_process()

    def setup(self, worker) -> None:
        if tuple(self.origin) == _this_process():
            return
        with _LOCK:
            handler = _WORKER_HANDLERS.get((self.logger, self.topic))
            if handler is None:
                handler = _WorkerEventHandler(self.level, self.topic)
                _WORKER_HANDLERS[(self.logger, self.topic)] = handler
                _attach(logging.getLogger(self.logger), handler)
            handler.workers.append(worker)

    def teardown(self, worker) -> None:
        with _LOCK:
            handler = _WORKER_HANDLERS.get((self.logger, self.topic))
            if handler is None or worker not in handler.workers:
                return
            handler.workers.remove(worker)
            if not handler.workers:
                del _WORKER_HANDLERS[(self.logger, self.topic)]
                _detach(logging.getLogger(self.logger), handler)


class _WorkerEventHandler(_ForwardingHandler):
    """The handler of :class:`LogForwardingPlugin`: ``Worker.log_event`` of the right worker."""

    def __init__(self, level: int, topic: str) -> None:
        super().__init__(level)
        self.topic = topic
        self.workers: list = []

    def destination(self) -> tuple[Callable[[dict], None], str] | None:
        workers = list(self.workers)
        if not workers:
            return None
        worker = workers[0]
        if len(workers) > 1:  # several workers in this process: the one running the task
            try:
                from distributed import get_worker

                running = get_worker()
                worker = running if running in workers else worker
            except ValueError:
                pass
        name = worker.name if worker.name is not None else worker.address
        return partial(_log_event, worker, self.topic), str(name)


def _log_event(worker, topic: str, attrs: dict) -> None:
    worker.log_event(topic, {**attrs, _NAME_KEY: attrs["worker"]})


class LogForwarding:
    """The forwarding of one logger's records from a client's workers; :meth:`stop` ends it.

    Made by :func:`forward_worker_logs`.
    """

    def __init__(self, client, level: int, logger: str = DEFAULT_FORWARD_LOGGER) -> None:
        self.client = client
        self.level = level
        self.logger = logger
        # one name per client: stopping one client's forwarding leaves another's alone
        self.name = f"uvflow-forward-logs-{logger or 'root'}-{client.id}"
        self.topic = self.name
        self.active = False

    def start(self) -> LogForwarding:
        # subscribe first: no record is published before someone listens
        self.client.subscribe_topic(self.topic, self._handle_event)
        try:
            self.client.register_plugin(
                LogForwardingPlugin(self.topic, self.level, self.logger), name=self.name
            )
        except BaseException:
            self.client.unsubscribe_topic(self.topic)
            raise
        self.active = True
        return self

    @staticmethod
    def _handle_event(event) -> None:
        _, attrs = event
        if _NAME_KEY in attrs:  # "worker" is the address the scheduler put there
            attrs["worker_address"] = attrs.get("worker")
            attrs["worker"] = attrs.pop(_NAME_KEY)
        handle_forwarded_record(attrs)

    def stop(self) -> None:
        """Unsubscribe and remove the plugin from the workers (a closed client: nothing)."""
        if not self.active:
            return
        self.active = False
        if self.client.status != "running":
            return
        try:
            self.client.unsubscribe_topic(self.topic)
            self.client.unregister_worker_plugin(self.name)
        except Exception as exc:  # the scheduler went away meanwhile
            logger.debug("could not stop log forwarding on %s: %s", self.client, exc)

    def __repr__(self) -> str:
        return (
            f"LogForwarding(logger={self.logger!r}, level={logging.getLevelName(self.level)!r}, "
            f"active={self.active})"
        )


def forward_worker_logs(
    client, level: str | int = logging.INFO, logger: str = DEFAULT_FORWARD_LOGGER
) -> LogForwarding:
    """Forward the records of ``logger`` from every worker of ``client`` to this process.

    ``rsexecute.set_client`` calls this; call it yourself for a client used without
    ``rsexecute``.

    Parameters
    ----------
    client : distributed.Client
        A connected client.
    level : str or int
        Records at this level or above are forwarded.
    logger : str
        Logger name; its children are included (``""``: the root logger, everything).

    Returns
    -------
    LogForwarding
        Its ``stop()`` ends the forwarding.
    """
    return LogForwarding(client, parse_level(level), logger).start()


def _init_pool_process(queue, logger: str, level: int, user_initializer=None) -> None:
    """Initializer of the processes of Dask's ``processes`` scheduler (see below)."""
    _attach(logging.getLogger(logger), _QueueHandler(level, queue))
    if user_initializer is not None:
        user_initializer()


def _drain(queue) -> None:
    while True:
        attrs = queue.get()
        if attrs is None:
            return
        try:
            handle_forwarded_record(attrs)
        except Exception:  # a handler failed: logging reports its own errors
            pass


@contextmanager
def process_pool_forwarding(
    level: int | None, logger: str = DEFAULT_FORWARD_LOGGER
) -> Iterator[dict]:
    """Context giving the keywords that make Dask's ``processes`` scheduler forward records.

    Yields ``{"initializer": ...}`` for ``dask.compute(..., scheduler="processes",
    **kwargs)``: each process of the pool Dask creates for that call sends the records
    of ``logger`` at ``level`` or above into a queue, and a thread here hands them to
    this process's loggers. A Dask-configured ``multiprocessing.initializer`` still
    runs. Yields ``{}`` (no forwarding) when ``level`` is None or Dask is configured
    with its own ``pool``.
    """
    import dask
    from dask.multiprocessing import get_context

    if level is None or dask.config.get("pool", None) is not None:
        yield {}
        return
    queue = get_context().Queue()
    drainer = threading.Thread(target=_drain, args=(queue,), daemon=True, name="uvflow-log-drain")
    drainer.start()
    user_initializer = dask.config.get("multiprocessing.initializer", None)
    try:
        yield {"initializer": partial(_init_pool_process, queue, logger, level, user_initializer)}
    finally:
        # the pool's processes have exited (Dask shuts its pool down): what they put is
        # in the queue before this end mark
        queue.put(None)
        drainer.join()
        queue.close()
        queue.join_thread()
