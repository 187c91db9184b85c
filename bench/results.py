"""What every benchmark reports, in one shape, so that ``make bench`` can put them side by side.

A benchmark returns a ``Report``: its rows for ``bench-results.json`` (the agreed plain list of
``{"metric", "value", "unit", "baseline", "target", "met"}`` objects that other tools read), the
facts about the run that go to ``bench-machine.json``, and its own section of
``docs/quality.md``. The machine description is the same for all of them, so it is taken once.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def metric(
    name: str,
    value: float,
    unit: str,
    baseline: float | None = None,
    target: float | None = None,
    met: bool | None = None,
) -> Row:
    """One row of ``bench-results.json``; values rounded so reruns diff on what matters."""
    return {
        "metric": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": baseline,
        "target": target,
        "met": met,
    }


def machine() -> dict[str, Any]:
    """CPU model, cores and Python: numbers mean little without them (no psutil: /proc suffices)."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "threads_used": 1}


def table(rows: list[Row]) -> str:
    """The rows as the Markdown table of ``docs/quality.md`` and the README."""
    lines = [
        "| metric | value | unit | baseline | target | met |",
        "| --- | ---: | --- | ---: | ---: | --- |",
    ]
    for m in rows:
        cells = ["" if m[k] is None else str(m[k]) for k in ("baseline", "target", "met")]
        lines.append(f"| {m['metric']} | {m['value']:,} | {m['unit']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(slots=True)
class Report:
    """One benchmark's outcome, written by ``bench.__main__`` only when the run is not ``--no-write``."""

    rows: list[Row]
    section: str  # the "## …" heading of docs/quality.md this benchmark owns
    note: str  # the paragraph above its table there: setup, sizes, how the baseline was taken
    info: dict[str, Any] = field(default_factory=dict)  # merged into bench-machine.json
    # Further files (a plot), given the repository root; kept out of ``run`` so --no-write writes nothing.
    write_extras: Callable[[Path], None] | None = None
