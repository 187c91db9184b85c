"""Reading an uploaded sheet (CSV or XLSX) into a header and numbered rows. Pure: bytes in.

The format is told by the content, not the file name: an XLSX is a ZIP archive, a legacy XLS an
OLE2 file (refused with advice), anything else is tried as CSV. Excel on Chinese Windows saves
"CSV" as GBK, newer versions as UTF-8 with a BOM, and "Unicode text" as tab-separated UTF-16;
all are accepted. Row numbers are the ones the official sees in Excel (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from services.ingest.columns import is_empty

XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class SpreadsheetError(ValueError):
    """The file as a whole cannot be imported; the message tells the official why (Chinese)."""


class TooManyRows(SpreadsheetError):
    pass


@dataclass(frozen=True, slots=True)
class Sheet:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (Excel row number, cells in header order)
    format: str


def read_sheet(content: bytes, *, max_rows: int = 5000) -> Sheet:
    if not content or not content.strip():
        raise SpreadsheetError("文件为空")
    if content.startswith(OLE2_MAGIC):
        raise SpreadsheetError("不支持旧版 .xls 文件，请在Excel中另存为 .xlsx 或 CSV 后再上传")
    if content.startswith(XLSX_MAGIC):
        return _sheet(_xlsx_rows(content), "xlsx", max_rows)
    return _sheet(_csv_rows(content), "csv", max_rows)


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise SpreadsheetError(
            f"无法读取XLSX文件（文件损坏或不是Excel工作簿）：{type(exc).__name__}"
        ) from None
    try:
        ws = wb.worksheets[0]
        # In read-only mode rows absent from the XML are skipped; cell.row keeps Excel numbering.
        rows: list[list[Any]] = []
        for row in ws.iter_rows():
            cells = [c for c in row if getattr(c, "row", None) is not None]
            if not cells:
                continue
            number = cells[0].row
            while len(rows) < number - 1:
                rows.append([])
            values: list[Any] = []
            for c in cells:
                col = getattr(c, "column", None) or len(values) + 1
                while len(values) < col - 1:
                    values.append(None)
                values.append(c.value)
            rows.append(values)
        return rows
    except Exception as exc:
        raise SpreadsheetError(f"无法读取XLSX文件：{type(exc).__name__}") from None
    finally:
        wb.close()


def decode_text(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict")
    for encoding in ("utf-8", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SpreadsheetError("无法识别文件编码：请上传 UTF-8 或 GBK 编码的CSV，或 .xlsx 文件")


def _csv_rows(content: bytes) -> list[list[Any]]:
    try:
        text = decode_text(content)
    except UnicodeDecodeError:
        raise SpreadsheetError("文件编码损坏，无法读取") from None
    if "\x00" in text:
        raise SpreadsheetError("无法识别的文件：请上传CSV或.xlsx文件")
    first = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first.count) if any(d in first for d in ",\t;") else ","
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise SpreadsheetError(f"CSV格式错误：{exc}") from None


def _sheet(raw_rows: list[list[Any]], fmt: str, max_rows: int) -> Sheet:
    header_at = next((i for i, r in enumerate(raw_rows) if any(not is_empty(c) for c in r)), None)
    if header_at is None:
        raise SpreadsheetError("文件为空：没有表头")
    headers = [str(c).strip() if not is_empty(c) else "" for c in raw_rows[header_at]]
    while headers and headers[-1] == "":
        headers.pop()
    width = len(headers)
    rows: list[tuple[int, list[Any]]] = []
    for i in range(header_at + 1, len(raw_rows)):
        cells = list(raw_rows[i][:width])
        if all(is_empty(c) for c in cells):
            continue
        rows.append((i + 1, cells + [None] * (width - len(cells))))
        if len(rows) > max_rows:
            raise TooManyRows(f"数据超过{max_rows}行，请拆分成多个文件上传")
    if not rows:
        raise SpreadsheetError("文件只有表头，没有数据行")
    return Sheet(headers=headers, rows=rows, format=fmt)
