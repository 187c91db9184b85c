"""The circular's funnel as a PNG: what a county office pastes into its WeChat group.

Drawn with matplotlib's object API on the Agg backend (no display, no pyplot global state, so
two requests may draw at once). The labels are Chinese when a CJK font is installed
(``scripts/chromium.sh`` installs Debian's fonts-wqy-zenhei); without one, matplotlib would draw
empty boxes, so the chart falls back to English labels rather than render unreadable ones.
"""

from __future__ import annotations

import io
from functools import cache

from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from services.campaign.circular import Circular, Row
from services.campaign.funnel import LABELS
from shared.places import label

# The funnel as it narrows; "left" is drawn apart, in another colour.
BARS = ("recommended", "viewed", "interested", "interviewed", "hired", "stable_30d", "stable_90d", "left")
CJK_FONTS = (
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)
ENGLISH = {
    "recommended": "recommended",
    "viewed": "viewed",
    "interested": "interested",
    "interviewed": "interviewed",
    "hired": "hired",
    "stable_30d": "stable 30 d",
    "stable_90d": "stable 90 d",
    "left": "left",
}


# File names of those fonts, for a font installed after matplotlib cached its font list.
# (lower case, without "-" and "_")
CJK_FILES = ("wqyzenhei", "wqymicrohei", "notosanscjk", "sourcehansans", "droidsansfallback", "uming")


@cache
def cjk_font() -> str | None:
    """The first installed CJK family matplotlib can use, or None.

    matplotlib keeps its font list in a cache (~/.cache/matplotlib) made at its first import; a
    font apt-installed later is not in it, so the system's font files are looked at once more."""
    manager = font_manager.fontManager
    if not any(f.name in CJK_FONTS for f in manager.ttflist):
        for path in font_manager.findSystemFonts():
            if any(part in path.lower().replace("-", "").replace("_", "") for part in CJK_FILES):
                manager.addfont(path)
    installed = {f.name for f in manager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def funnel_png(circular: Circular, *, row: Row | None = None, width_px: int = 800) -> bytes:
    """One horizontal bar per step of ``row`` (default: the circular's total), the target marked."""
    row = row or circular.total
    font = cjk_font()
    labels = LABELS if font else ENGLISH
    values = [int(getattr(row, step)) for step in BARS]
    dpi = 100
    # Family fallback list: the CJK font for the labels, matplotlib's own for digits and Latin.
    with rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}):
        return _draw(circular, row, labels, values, chinese=font is not None, width_px=width_px, dpi=dpi)


def _draw(
    circular: Circular,
    row: Row,
    labels: dict[str, str],
    values: list[int],
    *,
    chinese: bool,
    width_px: int,
    dpi: int,
) -> bytes:
    fig = Figure(figsize=(width_px / dpi, width_px / dpi * 0.56), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    y = list(range(len(BARS)))[::-1]
    colours = ["#c0392b" if step == "left" else "#2e86c1" for step in BARS]
    ax.barh(y, values, color=colours)
    ax.set_yticks(y, [labels[step] for step in BARS])
    for yi, v in zip(y, values, strict=True):
        ax.annotate(str(v), (v, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=10)
    if row.target:
        ax.axvline(row.target, color="#7f8c8d", linestyle="--", linewidth=1)
        target_label = f"目标 {row.target}" if chinese else f"target {row.target}"
        ax.annotate(
            target_label,
            (row.target, y[0]),
            xytext=(-4, 10),
            textcoords="offset points",
            ha="right",
            fontsize=9,
            color="#555555",
        )
    if chinese:
        scope = (
            (label(circular.county) or circular.county)
            if circular.county and row.kind == "total"
            else row.name
        )
    else:
        scope = (circular.county or "all") if row.kind == "total" else row.key
    title = f"{scope} · {circular.date.isoformat()}" + (
        f" · 完成率 {row.completion_rate:.0%}" if chinese and row.completion_rate is not None else ""
    )
    ax.set_title(title)
    ax.set_xlim(0, max([*values, row.target, 1]) * 1.15)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
