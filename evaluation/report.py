"""The eval table in three forms: the terminal, ``docs/quality.md`` ("Latest eval") and JSON."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from evaluation.simulation import Result

COLUMNS: tuple[tuple[str, str], ...] = (
    ("violations", "hard-constraint violations"),
    ("coverage_before_wider", "… the same on day 0, before wider offers (放宽推荐)"),
    ("coverage", "seekers with a feasible job who got ≥1 recommendation"),
    ("mean_commute_km", "mean commute of accepted jobs (km)"),
    ("hires", "simulated hires"),
    ("headcount_filled", "share of open headcount filled"),
    ("ndcg5", "nDCG@5 vs. simulated preferences"),
    ("max_congestion", "max recommendations / open positions"),
    ("gini", "Gini of recommendations per posting"),
)


def _fmt(key: str, value: object) -> str:
    if value is None:
        return "–"
    if key in ("coverage", "coverage_before_wider", "headcount_filled"):
        return f"{float(value):.1%}"  # type: ignore[arg-type]
    if isinstance(value, float):
        return f"{value:.3f}" if key in ("ndcg5", "gini") else f"{value:.1f}"
    return str(value)


def markdown_table(results: Sequence[Result]) -> str:
    head = "| metric | " + " | ".join(r.name for r in results) + " |"
    rule = "| --- | " + " | ".join("---:" for _ in results) + " |"
    rows = [
        f"| {label} | " + " | ".join(_fmt(key, getattr(r, key)) for r in results) + " |"
        for key, label in COLUMNS
    ]
    return "\n".join([head, rule, *rows])


def replace_section(path: Path, title: str, body: str) -> None:
    """Replace the ``## title`` section of a Markdown file (append it if absent), leaving the rest."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Quality\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")
