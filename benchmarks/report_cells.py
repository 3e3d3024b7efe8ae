"""Cells of the benchmark report shared by its sections (``compare.py``,
``compare_large_data.py``, ``compare_wsclean.py``): numbers or "–", medians and ranges
of per-run figures, verdicts, and printing one section with a pass/fail exit code.
"""

from __future__ import annotations

import statistics
import sys

__all__ = ["fmt", "median", "peak", "print_section", "verdict", "walls"]


def fmt(x, spec: str = ".3g", none: str = "–") -> str:
    """``x`` formatted with ``spec``, or ``none`` when it is None."""
    return none if x is None else format(x, spec)


def median(values) -> float | None:
    """Median of the values that are not None; None when there are none."""
    values = [v for v in values or [] if v is not None]
    return float(statistics.median(values)) if values else None


def peak(values) -> float | None:
    """Largest of the values (lists of values flattened, zeros and None dropped): a
    run's peak memory over its rounds and processes; None when there is none."""
    flat = [v for x in values or [] for v in (x if isinstance(x, list) else [x]) if v]
    return max(flat) if flat else None


def walls(side: dict, spec: str = ".1f") -> str:
    """``median (min–max)`` of ``side['wall_s']`` (the walls of one program's runs, s),
    the range left out for one run; "–" for none."""
    values = side.get("wall_s") or []
    if not values:
        return "–"
    text = format(median(values), spec)
    if len(values) > 1:
        text += f" ({format(min(values), spec)}–{format(max(values), spec)})"
    return text


def verdict(ok: bool | None) -> str:
    """An acceptance line's "met" cell: ``yes``, ``**no**``, or ``–`` (not measured)."""
    return "–" if ok is None else ("yes" if ok else "**no**")


def print_section(lines: list[str], rows: list[tuple[str, str, str]], what: str) -> int:
    """Print a report section and whether its acceptance ``rows`` (line, measured, met)
    are met; 1 if the section is empty (no ``what`` benchmark found) or a line is not."""
    if not lines:
        print(f"no {what} benchmark in the runs given", file=sys.stderr)
        return 1
    print("\n".join(lines))
    failed = [t for t, _, v in rows if v == "**no**"]
    print(f"{len(failed)} acceptance line(s) not met" if failed else "every line measured is met")
    return 1 if failed else 0
