"""Reading uploads: CSV in the encodings Chinese Excel produces, XLSX, and files to refuse."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from services.ingest.spreadsheet import SpreadsheetError, TooManyRows, read_sheet

CSV_TEXT = (
    "姓名,手机号,出生年份,户籍区县代码\n王小梅,13912345678,1990,422801\n\n李强,13800001111,1985,360481\n"
)


def xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(encoding: str) -> None:
    sheet = read_sheet(CSV_TEXT.encode(encoding))
    assert sheet.format == "csv"
    assert sheet.headers == ["姓名", "手机号", "出生年份", "户籍区县代码"]
    # the blank line is skipped but row numbers stay those Excel shows
    assert [n for n, _ in sheet.rows] == [2, 4]
    assert sheet.rows[0][1][0] == "王小梅"


def test_utf16_tab_separated_unicode_text() -> None:
    sheet = read_sheet(CSV_TEXT.replace(",", "\t").encode("utf-16"))
    assert sheet.headers[1] == "手机号"
    assert sheet.rows[1][1] == ["李强", "13800001111", "1985", "360481"]


def test_xlsx_detected_by_content_keeps_numbers_and_row_numbers() -> None:
    content = xlsx(
        [
            ["姓名", "手机号", "期望月薪"],
            ["王小梅", 13912345678, 4000.0],
            [None, None, None],
            ["李强", "13800001111", 3500],
        ]
    )
    sheet = read_sheet(content)
    assert sheet.format == "xlsx"
    assert sheet.rows == [(2, ["王小梅", 13912345678, 4000]), (4, ["李强", "13800001111", 3500])]


def test_short_rows_are_padded() -> None:
    sheet = read_sheet(b"a,b,c\n1\n")
    assert sheet.rows == [(2, ["1", None, None])]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "为空"),
        (b"   \n\n", "为空"),
        ("姓名,手机号\n".encode(), "没有数据行"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        (b"PK\x03\x04not really a zip", "XLSX"),
        (b"\x00\x01\x02\x03binary", "无法识别"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(content: bytes, message: str) -> None:
    with pytest.raises(SpreadsheetError, match=message):
        read_sheet(content)


def test_row_limit() -> None:
    body = "姓名\n" + "".join(f"人{i}\n" for i in range(11))
    with pytest.raises(TooManyRows, match="10"):
        read_sheet(body.encode(), max_rows=10)
    assert len(read_sheet(body.encode(), max_rows=11).rows) == 11
