"""Run statistics: where the time went, per function, in every execution mode.

:class:`StatisticsRecorder` records one :class:`TaskRecord` (function name, start,
stop, lane) per task executed after :meth:`~StatisticsRecorder.start`:

- on a Dask cluster from the scheduler's task stream (``distributed.get_task_stream``;
  only the ``compute`` part of each task, not transfers);
- with a local Dask scheduler from ``dask.diagnostics.Profiler`` around each compute;
- in serial mode from timing wrappers that ``Executor.execute`` puts around each
  function while recording (serial mode has no graph to inspect).

:meth:`~StatisticsRecorder.save` writes ``<name>_task_stream.html`` (a bokeh plot of
the tasks on their workers), ``<name>_profile.html`` (Dask's statistical profile on a
cluster; elsewhere a bar chart of seconds per function) and ``<name>_statistics.json``,
logs a table, and returns the statistics as a dict.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from uvflow.execution.statistics_plots import plot_function_totals, plot_task_stream

__all__ = [
    "StatisticsRecorder",
    "TaskRecord",
    "format_statistics",
    "plot_function_totals",
    "plot_task_stream",
    "records_from_profiler",
    "records_from_task_stream",
    "summarise_records",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskRecord:
    """One executed task.

    Attributes
    ----------
    name : str
        Function name (the task key's prefix, ``dask.utils.key_split``).
    start, stop : float
        Start and stop, seconds since the epoch.
    lane : str
        Where it ran: ``"<worker>-<thread>"`` on a cluster, ``"local-<n>"`` for a
        local scheduler, ``"serial"`` in serial mode.
    """

    name: str
    start: float
    stop: float
    lane: str

    @property
    def duration(self) -> float:
        """Seconds spent computing."""
        return self.stop - self.start


def records_from_task_stream(msgs: Iterable[dict]) -> list[TaskRecord]:
    """Turn ``distributed`` task-stream messages into :class:`TaskRecord` s.

    Parameters
    ----------
    msgs : iterable of dict
        As returned by ``Client.get_task_stream``: each with ``key``, ``worker``,
        ``thread`` and ``startstops`` (dicts with ``action``, ``start``, ``stop``).

    Returns
    -------
    list of TaskRecord
        One per ``compute`` interval.
    """
    from dask.utils import key_split

    records = []
    for msg in msgs:
        name = key_split(msg["key"])
        lane = f"{msg.get('worker', '?')}-{msg.get('thread', '')}"
        for ss in msg.get("startstops", ()):
            if isinstance(ss, dict):
                action, start, stop = ss["action"], ss["start"], ss["stop"]
            else:  # very old distributed: (action, start, stop)
                action, start, stop = ss
            if action == "compute":
                records.append(TaskRecord(name, float(start), float(stop), lane))
    return records


def records_from_profiler(results: Iterable, offset: float) -> list[TaskRecord]:
    """Turn ``dask.diagnostics.Profiler`` results into :class:`TaskRecord` s.

    Parameters
    ----------
    results : iterable of dask.diagnostics.profile.TaskData
        ``Profiler.results``; times are ``timeit.default_timer`` seconds.
    offset : float
        ``time.time() - timeit.default_timer()``, added to convert to epoch seconds.

    Returns
    -------
    list of TaskRecord
    """
    from dask.utils import key_split

    return [
        TaskRecord(
            key_split(r.key), r.start_time + offset, r.end_time + offset, f"local-{r.worker_id}"
        )
        for r in results
    ]


def summarise_records(records: list[TaskRecord], since: float, until: float) -> dict:
    """Per-function totals and overall times of a list of task records.

    Parameters
    ----------
    records : list of TaskRecord
        The tasks.
    since, until : float
        Start and end of the recording, seconds since the epoch.

    Returns
    -------
    dict
        ``functions`` (name → ``seconds``, ``percent``, ``calls``, sorted by seconds,
        most first), ``n_tasks``, ``cpu_time`` (sum of task durations), ``wall_time``
        (first task start to last task stop), ``elapsed`` (``until - since``),
        ``speedup`` (``cpu_time / wall_time``; None when there were no tasks), and
        ``n_lanes`` (distinct worker threads seen).
    """
    totals: dict[str, float] = {}
    calls: dict[str, int] = {}
    for r in records:
        totals[r.name] = totals.get(r.name, 0.0) + r.duration
        calls[r.name] = calls.get(r.name, 0) + 1
    cpu = sum(totals.values())
    functions = {
        name: {
            "seconds": totals[name],
            "percent": 100.0 * totals[name] / cpu if cpu > 0 else 0.0,
            "calls": calls[name],
        }
        for name in sorted(totals, key=lambda n: (-totals[n], n))
    }
    wall = max(r.stop for r in records) - min(r.start for r in records) if records else 0.0
    return {
        "functions": functions,
        "n_tasks": len(records),
        "n_lanes": len({r.lane for r in records}),
        "cpu_time": cpu,
        "wall_time": wall,
        "elapsed": until - since,
        "speedup": cpu / wall if wall > 0 else None,
    }


def format_statistics(stats: dict) -> str:
    """A plain-text table of :func:`summarise_records` output."""
    width = max([len("function")] + [len(n) for n in stats["functions"]])
    lines = [f"{'function':<{width}}  {'seconds':>10}  {'percent':>7}  {'calls':>7}"]
    for name, f in stats["functions"].items():
        lines.append(
            f"{name:<{width}}  {f['seconds']:10.4f}  {f['percent']:6.1f}%  {f['calls']:7d}"
        )
    speedup = stats["speedup"]
    lines += [
        f"Total CPU time (sum of task durations): {stats['cpu_time']:.3f} s in {stats['n_tasks']} tasks",
        f"Wall time (first task start to last task stop): {stats['wall_time']:.3f} s",
        f"Elapsed since init_statistics: {stats['elapsed']:.3f} s",
        "Speed-up (CPU / wall): " + ("n/a" if speedup is None else f"{speedup:.2f}"),
    ]
    return "\n".join(lines)


class StatisticsRecorder:
    """Collects :class:`TaskRecord` s for one executor; see the module docstring."""

    def __init__(self) -> None:
        self.active = False
        self.start_time: float | None = None
        self._records: list[TaskRecord] = []
        self._client = None
        self._task_stream = None

    def start(self, client=None) -> None:
        """Start (or restart) recording; with ``client``, from its scheduler's task stream."""
        self.stop()
        self.start_time = time.time()
        self._records = []
        self.active = True
        if client is not None:
            from distributed import get_task_stream

            task_stream = get_task_stream(client=client)
            task_stream.__enter__()  # records the scheduler's cursor (and starts its plugin)
            self._client, self._task_stream = client, task_stream

    def stop(self) -> None:
        """Stop recording and forget the records."""
        self.active = False
        self.start_time = None
        self._client = self._task_stream = None
        self._records = []

    def wrap(self, func: Callable) -> Callable:
        """Return ``func`` wrapped so that each call is recorded (serial mode)."""
        from dask.utils import funcname

        name = funcname(func)

        @functools.wraps(func)
        def timed(*args, **kwargs):
            start = time.time()
            try:
                return func(*args, **kwargs)
            finally:
                if self.active:
                    self._records.append(TaskRecord(name, start, time.time(), "serial"))

        return timed

    @contextmanager
    def profiling(self) -> Iterator[None]:
        """Context recording the tasks a local Dask scheduler runs inside it."""
        if not self.active:
            yield
            return
        from timeit import default_timer

        from dask.diagnostics import Profiler

        offset = time.time() - default_timer()
        with Profiler() as prof:
            yield
        self._records.extend(records_from_profiler(prof.results, offset))

    def records(self) -> list[TaskRecord]:
        """Everything recorded since :meth:`start`."""
        records = list(self._records)
        if self._task_stream is not None:
            self._task_stream.data.clear()
            self._task_stream.__exit__(None, None, None)
            records += records_from_task_stream(self._task_stream.data)
        return sorted(records, key=lambda r: (r.start, r.lane))

    def save(
        self, name: str, directory: str | os.PathLike, mode: str, extra: dict | None = None
    ) -> dict:
        """Write the HTML plots and JSON, log the table, return the statistics.

        Parameters
        ----------
        name : str
            File name stem.
        directory : str or path
            Where to write (created if needed).
        mode : str
            Execution mode, stored in the JSON.
        extra : dict, optional
            More JSON-serialisable items to store (e.g. ``n_workers``).

        Returns
        -------
        dict
            :func:`summarise_records` output plus ``name``, ``mode``, the ``extra``
            items and ``files`` (paths written).
        """
        if self.start_time is None:
            raise RuntimeError("statistics were never started: call init_statistics() first")
        until = time.time()
        records = self.records()
        if not records:
            logger.warning(
                "no tasks were recorded since init_statistics(); in serial mode only "
                "functions wrapped by execute() after init_statistics() are timed"
            )
        stats = summarise_records(records, self.start_time, until)
        os.makedirs(directory, exist_ok=True)
        files = {
            "task_stream": os.path.join(directory, f"{name}_task_stream.html"),
            "profile": os.path.join(directory, f"{name}_profile.html"),
            "statistics": os.path.join(directory, f"{name}_statistics.json"),
        }
        plot_task_stream(records, files["task_stream"], title=f"{name}: task stream ({mode})")
        if self._client is not None:
            self._client.profile(start=self.start_time, filename=files["profile"])
        else:
            plot_function_totals(
                stats, files["profile"], title=f"{name}: seconds per function ({mode})"
            )
        stats = {"name": name, "mode": mode, **(extra or {}), **stats, "files": files}
        with open(files["statistics"], "w") as f:
            json.dump(stats, f, indent=2, allow_nan=False)
        logger.info("Statistics of %s (%s mode):\n%s", name, mode, format_statistics(stats))
        return stats
