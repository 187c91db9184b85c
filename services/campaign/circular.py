"""The daily circular (每日通报) as a plain function of the funnel facts and the postings.

Each figure is the number of distinct (seeker, posting) pairs that reached a step by the end of
the local day, per county (the workplace's county) and per key enterprise; the change since
the previous day is the same count one day earlier subtracted. The target is the headcount of
the postings that are not deleted, as campaign last heard of them (postings carry no history of
their headcount, so the target has no "change" column). Nothing here reads a clock or a store:
the same facts give the same circular, which is what makes a replay verifiable.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from services.campaign.documents import from_iso
from shared.places import label

COUNTED = ("recommended", "viewed", "interested", "interviewed", "hired", "stable_30d", "stable_90d", "left")


class Row(BaseModel):
    kind: str  # total | county | enterprise
    key: str  # county adcode, employer credit code (or name), or "all"
    name: str
    target: int
    recommended: int
    viewed: int  # opened in the inbox (an SMS-only seeker answers without it)
    interested: int
    interviewed: int
    hired: int
    stable_30d: int
    stable_90d: int
    left: int
    completion_rate: float | None  # hired / target, None without a target
    change: dict[str, int]  # step -> pairs that reached it on this day


class Circular(BaseModel):
    date: date
    county: str | None
    timezone: str
    total: Row
    counties: list[Row]
    enterprises: list[Row]


def county_of(adcode: str | None) -> str | None:
    return adcode[:6] if adcode else None


def local_date(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def daily_circular(
    facts: Iterable[Mapping[str, Any]],
    postings: Iterable[Mapping[str, Any]],
    day: date,
    *,
    tz: ZoneInfo,
    county: str | None = None,
    within: Callable[[str | None], bool] = lambda _c: True,
) -> Circular:
    """``county`` narrows to an adcode prefix; ``within`` is the caller's scope (an official's counties)."""
    posting_list = [p for p in postings if p.get("status") != "deleted"]
    by_posting = {p["_id"]: p for p in posting_list}

    def keep(c: str | None) -> bool:
        return within(c) and (county is None or (c is not None and c.startswith(county)))

    # step -> group -> {pair: local date it first reached the step}
    reached: dict[tuple[str, str, str], dict[str, date]] = {}
    names: dict[tuple[str, str], str] = {}
    for f in facts:
        step = f["step"]
        if step not in COUNTED:
            continue
        posting = by_posting.get(f["posting_id"], {})
        c = county_of(f.get("county") or posting.get("county"))
        if not keep(c):
            continue
        when = local_date(from_iso(f["at"]), tz)
        pair = f"{f['profile_id']}:{f['posting_id']}"
        groups: list[tuple[str, str]] = [("total", "all"), ("county", c or "unknown")]
        if f.get("key_enterprise") or posting.get("key_enterprise"):
            code = (
                f.get("employer_code") or posting.get("employer_code") or f.get("employer_name") or "unknown"
            )
            groups.append(("enterprise", code))
            names[("enterprise", code)] = f.get("employer_name") or posting.get("employer_name") or code
        for g in groups:
            seen = reached.setdefault((step, g[0], g[1]), {})
            seen[pair] = min(when, seen.get(pair, when))

    targets: dict[tuple[str, str], int] = {}
    for p in posting_list:
        c = county_of(p.get("county"))
        if not keep(c):
            continue
        pgroups: list[tuple[str, str]] = [("total", "all"), ("county", c or "unknown")]
        if p.get("key_enterprise"):
            code = p.get("employer_code") or p.get("employer_name") or "unknown"
            pgroups.append(("enterprise", code))
            names.setdefault(("enterprise", code), p.get("employer_name") or code)
        for g in pgroups:
            targets[g] = targets.get(g, 0) + int(p.get("headcount", 0))

    keys = set(targets) | {(k[1], k[2]) for k in reached}
    yesterday = day - timedelta(days=1) if day > date.min else day  # 0001-01-01 has no day before

    def row(kind: str, key: str) -> Row:
        counts = {s: _count(reached.get((s, kind, key), {}), day) for s in COUNTED}
        before = {s: _count(reached.get((s, kind, key), {}), yesterday) for s in COUNTED}
        target = targets.get((kind, key), 0)
        if kind == "county":
            name = label(key) if key != "unknown" else "未知地区"
        elif kind == "enterprise":
            name = names.get((kind, key), key)
        else:
            name = "合计"
        return Row(
            kind=kind,
            key=key,
            name=name,
            target=target,
            **counts,
            completion_rate=round(counts["hired"] / target, 4) if target else None,
            change={s: counts[s] - before[s] for s in COUNTED},
        )

    return Circular(
        date=day,
        county=county,
        timezone=str(tz),
        total=row("total", "all"),
        counties=[row("county", k) for kind, k in sorted(keys) if kind == "county"],
        enterprises=[row("enterprise", k) for kind, k in sorted(keys) if kind == "enterprise"],
    )


def _count(first_reached: Mapping[str, date], day: date) -> int:
    return sum(1 for when in first_reached.values() if when <= day)


HEADERS = [
    *("类别", "代码", "名称", "目标人数", "推荐", "查看", "有意向", "面试", "入职"),
    *("稳岗30天", "稳岗90天", "离职", "完成率"),
    *("较前日新增推荐", "较前日新增意向", "较前日新增面试", "较前日新增入职"),
]
KINDS = {"total": "合计", "county": "县市区", "enterprise": "重点企业"}


def table(circular: Circular) -> list[list[Any]]:
    """The circular as rows for a spreadsheet, headers first (what the county office pastes on)."""
    rows: list[list[Any]] = [HEADERS]
    for r in [circular.total, *circular.counties, *circular.enterprises]:
        rate = "" if r.completion_rate is None else f"{r.completion_rate:.1%}"
        rows.append(
            [KINDS[r.kind], r.key, r.name, r.target, r.recommended, r.viewed, r.interested, r.interviewed]
            + [r.hired]
            + [r.stable_30d, r.stable_90d, r.left, rate]
            + [r.change[s] for s in ("recommended", "interested", "interviewed", "hired")]
        )
    return rows


def to_csv(circular: Circular) -> bytes:
    """UTF-8 with a BOM: Excel and WPS take a BOM-less UTF-8 CSV for GBK and show mojibake."""
    out = io.StringIO()
    csv.writer(out).writerows(table(circular))
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def to_xlsx(circular: Circular) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"每日通报{circular.date.isoformat()}"
    for r in table(circular):
        # A name with a control character (a paste from elsewhere) cannot be written to a sheet:
        # openpyxl refuses the whole workbook. Such characters are dropped, the rest is kept.
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
