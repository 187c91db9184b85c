"""The README's "Targets at a glance": written by ``make bench`` from the rows of the run itself.

Why generated: a hand-kept table drifted from the runs it quoted (figures of different runs and
loads side by side). The run that produced ``bench-results.json`` writes the table between two
markers of README.md, headed by the machine it ran on, and leaves the prose around it alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.results import Row

BEGIN = "<!-- bench:targets:begin (written by `make bench`, bench/readme.py) -->"
END = "<!-- bench:targets:end -->"
# Issue 7's rows and the checks behind them; any other row with a target is listed too.
ISSUE_ROWS = (
    "pipeline_profiles_per_s",
    "pipeline_p50_ms",
    "pipeline_p99_ms",
    "pipeline_lost",
    "pipeline_ratio_to_raw_kafka",
    "pipeline_saturation_profiles_per_s",
    "import_rows_per_s",
    "import_seconds_to_last_match",
    "import_rows_matched",
    "scale_out_ratio_2_instances",
    "scaleout_seekers_differing_from_one_instance",
    "scaleout_cap_violations",
    "match_rss_bytes_per_seeker_1m",
    "make_bench_seconds",
)


def machine_line(info: dict[str, Any]) -> str:
    """CPU, cores, load, Python, broker and store versions, duration and date of the run."""
    parts = [
        f"{info.get('cpu', 'unknown CPU')}, {info.get('cores', '?')} cores",
        f"1-min load average {info['load_1min']:.1f} at the start, {info['load_1min_end']:.1f} at the end"
        if "load_1min" in info and "load_1min_end" in info
        else "",
        f"Python {info.get('python', '?')}",
        f"Kafka {info['kafka']}" if info.get("kafka") else "",
        f"FerretDB {info['ferretdb']} on PostgreSQL {info.get('postgresql') or '?'}"
        if info.get("ferretdb")
        else "",
        f"`python -m bench {' '.join(info.get('benchmarks', []))}` took {info['seconds']:.0f} s"
        + (
            f" (plus {info['seconds_waiting_for_stack_lock']:.0f} s waiting for another run's stack lock)"
            if info.get("seconds_waiting_for_stack_lock")
            else ""
        )
        if "seconds" in info
        else "",
        f"run {info['date']}" if info.get("date") else "",
    ]
    return "Measured on " + "; ".join(p for p in parts if p) + "."


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def targets(rows: list[Row], info: dict[str, Any]) -> str:
    """The machine line and one table line per issue row present (and per other row with a target)."""
    listed = [r for name in ISSUE_ROWS for r in rows if r["metric"] == name]
    listed += [r for r in rows if r["target"] is not None and r["metric"] not in ISSUE_ROWS]
    lines = [
        machine_line(info),
        "",
        "| metric | measured | unit | baseline (same run) | target | met |",
        "| --- | ---: | --- | ---: | ---: | --- |",
    ]
    for r in listed:
        cells = [_cell(r[k]) for k in ("value", "unit", "baseline", "target", "met")]
        lines.append(f"| `{r['metric']}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def replace_between(path: Path, body: str) -> None:
    """Put ``body`` between the markers of ``path`` (appended with them if absent)."""
    text = path.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{body.strip()}\n{END}"
    pattern = re.compile(rf"{re.escape(BEGIN)}.*?{re.escape(END)}", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
