"""Bokeh plots of run statistics: the task stream and the seconds per function.

Written as standalone HTML files by ``StatisticsRecorder.save``
(:mod:`uvflow.execution.statistics`); bokeh is imported when a plot is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uvflow.execution.statistics import TaskRecord

__all__ = ["plot_function_totals", "plot_task_stream"]


def _colours(names: list[str]) -> dict[str, str]:
    from bokeh.palettes import Category20

    palette = Category20[20]
    return {name: palette[i % len(palette)] for i, name in enumerate(sorted(set(names)))}


def _save_bar_chart(
    filename: str,
    title: str,
    columns: dict,
    rows: list[str],
    row_height: int,
    draw: Callable,
    **figure_options,
) -> None:
    """Save a bokeh figure of horizontal bars, one row per item of ``rows``, as HTML.

    ``draw(fig, source)`` adds the glyphs; ``columns`` become the ``ColumnDataSource``.
    """
    from bokeh.io import save
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure
    from bokeh.resources import CDN

    fig = figure(
        title=title,
        y_range=rows,
        height=max(200, row_height * len(rows) + 120),
        sizing_mode="stretch_width",
        **figure_options,
    )
    draw(fig, ColumnDataSource(columns))
    save(fig, filename=filename, resources=CDN, title=title)


def plot_task_stream(records: list[TaskRecord], filename: str, title: str = "Task stream") -> None:
    """Save a bokeh plot of the tasks on their lanes (workers/threads) over time.

    Parameters
    ----------
    records : list of TaskRecord
        The tasks.
    filename : str
        HTML file to write.
    title : str
        Plot title.
    """
    t0 = min((r.start for r in records), default=0.0)
    colours = _colours([r.name for r in records])

    def draw(fig, source):
        if records:
            from bokeh.models import HoverTool

            fig.hbar(
                y="lane",
                left="left",
                right="right",
                height=0.8,
                color="colour",
                legend_field="name",
                source=source,
            )
            fig.add_tools(
                HoverTool(tooltips=[("function", "@name"), ("seconds", "@duration{0.000}")])
            )

    _save_bar_chart(
        filename,
        title,
        {
            "lane": [r.lane for r in records],
            "left": [r.start - t0 for r in records],
            "right": [r.stop - t0 for r in records],
            "name": [r.name for r in records],
            "duration": [r.duration for r in records],
            "colour": [colours[r.name] for r in records],
        },
        rows=sorted({r.lane for r in records}) or ["(no tasks)"],
        row_height=40,
        draw=draw,
        x_axis_label="seconds since the first task started",
        tools="xpan,xwheel_zoom,box_zoom,reset,save",
    )


def plot_function_totals(stats: dict, filename: str, title: str = "Seconds per function") -> None:
    """Save a bokeh bar chart of the seconds spent in each function.

    Parameters
    ----------
    stats : dict
        Output of :func:`summarise_records`.
    filename : str
        HTML file to write.
    title : str
        Plot title.
    """
    names = list(stats["functions"])[::-1] or ["(no tasks)"]
    colours = _colours(names)
    _save_bar_chart(
        filename,
        title,
        {
            "name": names,
            "seconds": [stats["functions"].get(n, {}).get("seconds", 0.0) for n in names],
            "colour": [colours[n] for n in names],
        },
        rows=names,
        row_height=30,
        draw=lambda fig, source: fig.hbar(
            y="name", right="seconds", height=0.8, color="colour", source=source
        ),
        x_axis_label="seconds (sum over calls)",
        tooltips=[("function", "@name"), ("seconds", "@seconds{0.000}")],
    )
