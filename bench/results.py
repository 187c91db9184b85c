"""What every benchmark reports, in one shape, so that ``make bench`` can put them side by side.

A benchmark returns a ``Report``: its rows for ``bench-results.json`` (the agreed plain list of
``{"metric", "value", "unit", "baseline", "target", "met"}`` objects that other tools read), the
facts about the run that go to ``bench-machine.json``, and its own section of
``docs/quality.md``. The machine description is the same for all of them, so it is taken once.
"""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Row = dict[str, Any]
ROOT = Path(__file__).resolve().parents[1]


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
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "threads_used": 1,
        "load_1min": round(os.getloadavg()[0], 2),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        **infra_versions(),
    }


def _script_version(name: str) -> str | None:
    """The ``version=`` a start script of ``scripts/`` pins (what the local stack runs)."""
    try:
        text = (ROOT / "scripts" / name).read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r"^version=(\S+)", text, re.M)
    return found.group(1) if found else None


def _major(path: Path) -> int:
    name = path.parent.parent.name
    return int(name) if name.isdigit() else 0


def infra_versions() -> dict[str, str | None]:
    """Kafka and FerretDB as pinned by their scripts; PostgreSQL as installed (Debian's package)."""
    postgres = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=_major)
    return {
        "kafka": _script_version("kafka.sh"),
        "ferretdb": _script_version("ferretdb.sh"),
        "postgresql": postgres[-1].parent.parent.name if postgres else None,
    }


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
