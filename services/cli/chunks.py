"""Cutting a big sheet into uploads small enough to show progress, without renumbering a row.

Each chunk is an XLSX whose header is row 1 and whose data rows sit at the very row numbers
they have in the official's sheet (the rows in between are left empty, which ingest skips while
keeping Excel's numbering). So ingest's report names the rows as the official sees them in
their own file, with no offset to add, and one chunk never exceeds ingest's row limit. The sheet
is read with ingest's own reader (``services.ingest.spreadsheet``: CSV in UTF-8/GBK/UTF-16 or
XLSX), so the CLI sees exactly the header and rows the service would. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from services.ingest.imports import known_header
from services.ingest.spreadsheet import Sheet, read_sheet

NO_LIMIT = 10**9


@dataclass(frozen=True, slots=True)
class Chunk:
    first_row: int
    last_row: int
    rows: int
    xlsx: bytes


def read(content: bytes, kind: str | None = None) -> Sheet:
    """The sheet as ingest reads it; with the kind (profile, posting), its header is found as
    ingest finds it (under a title row, two header rows)."""
    return read_sheet(content, max_rows=NO_LIMIT, known=known_header(kind) if kind else None)


def chunks(sheet: Sheet, size: int) -> Iterator[Chunk]:
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for start in range(0, len(sheet.rows), size):
        part = sheet.rows[start : start + size]
        yield Chunk(part[0][0], part[-1][0], len(part), _xlsx(sheet.headers, part))


def _xlsx(headers: list[str], rows: list[tuple[int, list[Any]]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for col, name in enumerate(headers, start=1):
        ws.cell(row=1, column=col, value=name)
    for number, cells in rows:
        for col, value in enumerate(cells, start=1):
            if value is not None and value != "":
                ws.cell(row=number, column=col, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
