"""Bus manifests (乘车名单) as an XLSX workbook: what the dispatcher holds at the bus door.

One sheet per bus (“1号车”, …): pick-up points in order with their times, at each the seekers
who board there with masked name and masked phone, and the bus's total; a first sheet sums up
every bus. The rows are built by a pure function (``manifest_rows``) so that the layout is
tested without a workbook, and a test can read a workbook back into the same rows.

XLSX, not PDF: openpyxl is already a dependency, a spreadsheet is what bureaus print and
amend, and CJK text in a PDF needs a CJK font shipped with the service.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

HEADER = ["站序", "上车点", "上车时间", "座次", "姓名", "手机（已脱敏）", "求职者编号"]
SUMMARY_HEADER = ["车次", "上车点数", "人数", "发车", "预计到达", "公里（直线）"]
TOTAL = "合计"
NO_PHONE = "未登记"  # no contact known to campaign (yet): the dispatcher asks at the door

Row = list[Any]


def hhmm(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%H:%M")


def sheet_name(bus: int) -> str:
    return f"{bus}号车"


def manifest_rows(plan: Mapping[str, Any], contacts: Mapping[str, Mapping[str, Any]]) -> dict[str, list[Row]]:
    """Sheet name -> rows. ``plan`` is a stored plan (``PlanOut``'s shape); ``contacts`` holds
    the masked name and phone per profile id (campaign stores nothing else)."""
    dest = plan["destination"]
    sheets: dict[str, list[Row]] = {}
    summary: list[Row] = [
        [f"就业直通车乘车名单 · {dest['name']}", None, None, None, None, None],
        [f"日期 {plan['date']} · 每车 {plan['seats']} 座 · 车速按 {plan['speed_kmh']} 公里/小时计"],
        SUMMARY_HEADER,
    ]
    for bus in plan["buses"]:
        rows: list[Row] = [
            [f"{sheet_name(bus['bus'])} · 开往 {dest['name']}"],
            [f"发车 {hhmm(bus['stops'][0]['at'])} · 预计到达 {hhmm(bus['arrives_at'])} · 约{bus['km']}公里"],
            HEADER,
        ]
        seat_no = 0
        for n, stop in enumerate(bus["stops"], start=1):
            for pid in stop["seekers"]:
                seat_no += 1
                c = contacts.get(pid) or {}
                rows.append(
                    [
                        n,
                        stop["point"],
                        hhmm(stop["at"]),
                        seat_no,
                        c.get("name") or NO_PHONE,
                        c.get("phone") or NO_PHONE,
                        pid,
                    ]
                )
        rows.append([TOTAL, f"{len(bus['stops'])} 个上车点", None, seat_no, None, None, None])
        sheets[sheet_name(bus["bus"])] = rows
        summary.append(
            [
                sheet_name(bus["bus"]),
                len(bus["stops"]),
                bus["riders"],
                hhmm(bus["stops"][0]["at"]),
                hhmm(bus["arrives_at"]),
                bus["km"],
            ]
        )
    summary.append([TOTAL, len(plan["buses"]), plan["riders"], None, None, plan["km"]])
    return {"汇总": summary, **sheets}


def to_xlsx(sheets: Mapping[str, list[Row]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        sheet["A1"].font = Font(bold=True, size=14)
        for column, width in zip("ABCDEFG", (8, 28, 10, 6, 10, 16, 24), strict=True):
            sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
