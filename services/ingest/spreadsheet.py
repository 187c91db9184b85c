"""Reading an uploaded sheet (CSV or XLSX) into a header and numbered rows. Pure: bytes in.

The format is told by the content, not the file name: an XLSX is a ZIP archive, a legacy XLS an
OLE2 file (refused with advice), anything else is tried as CSV. Excel on Chinese Windows saves
"CSV" as GBK, newer versions as UTF-8 with a BOM, and "Unicode text" as tab-separated UTF-16;
all are accepted. Row numbers are the ones the official sees in Excel.

Encodings are told by strict decoding in a fixed order — UTF-16 by its BOM, UTF-8 (BOM or not),
then GB18030 (a superset of GBK, what "CSV" means on Chinese Windows) — rather than by a
statistical detector such as charset-normalizer: a GBK file of Chinese text practically never
decodes as valid UTF-8 (its lead bytes 0x81–0xFE would need UTF-8's continuation pattern after
them), so the order decides correctly, while a detector guesses from few bytes on a short sheet
(Big5, Shift-JIS, Latin-1 are all plausible readings of two columns of names) and would be one
more dependency.

Sheets made by hand are not always one header row and data: a merged title row (求职登记表)
often comes first, and a two-row header may merge "联系方式" over "手机" and "身份证号" beneath
it. Given the names of the known columns, the header is found among the first rows (the row, or
pair of rows, naming the most known columns), and merged cells of an XLSX are filled with their
top-left value everywhere they span (a merged header spans its columns; a district merged down
a group of data rows belongs to each of them).
"""

from __future__ import annotations

import csv
import io
import posixpath
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any
from xml.etree import ElementTree

from services.ingest.columns import is_empty

HEADER_SEARCH_ROWS = 10  # the header is looked for among this many first non-empty rows

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


KnownHeader = Callable[[str], bool]
"""Whether a header cell names a known column (the header search counts them)."""


def read_sheet(content: bytes, *, max_rows: int = 5000, known: KnownHeader | None = None) -> Sheet:
    """The sheet's header and data rows. Without ``known`` the first non-empty row is the header."""
    if not content or not content.strip():
        raise SpreadsheetError("文件为空")
    if content.startswith(OLE2_MAGIC):
        raise SpreadsheetError("不支持旧版 .xls 文件，请在Excel中另存为 .xlsx 或 CSV 后再上传")
    if content.startswith(XLSX_MAGIC):
        return _sheet(_xlsx_rows(content), "xlsx", max_rows, known)
    return _sheet(_csv_rows(content), "csv", max_rows, known)


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
        _fill_merged(rows, _merged_ranges(content))
        return rows
    except Exception as exc:
        raise SpreadsheetError(f"无法读取XLSX文件：{type(exc).__name__}") from None
    finally:
        wb.close()


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _merged_ranges(content: bytes) -> list[tuple[int, int, int, int]]:
    """The merged ranges of the first worksheet, as (min_col, min_row, max_col, max_row).

    openpyxl's read-only mode (needed: a full load of a 10 MB upload takes hundreds of MB)
    does not read them, so the sheet's ``<mergeCells>`` are read here, streaming.
    """
    from openpyxl.utils.cell import range_boundaries

    with zipfile.ZipFile(io.BytesIO(content)) as z:
        sheets = ElementTree.fromstring(z.read("xl/workbook.xml")).find(f"{_MAIN_NS}sheets")
        first = sheets[0] if sheets is not None and len(sheets) else None
        rid = first.get(f"{_REL_NS}id") if first is not None else None
        rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        links = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_NS}Relationship")}
        target = links.get(rid, "")
        if not target:
            return []
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
        ranges: list[tuple[int, int, int, int]] = []
        with z.open(path) as part:
            for _, elem in ElementTree.iterparse(part):
                if elem.tag == f"{_MAIN_NS}mergeCell" and elem.get("ref"):
                    bounds = range_boundaries(str(elem.get("ref")))
                    if None not in bounds:
                        ranges.append(tuple(int(b) for b in bounds))  # type: ignore[arg-type]
                elif elem.tag == f"{_MAIN_NS}row":
                    elem.clear()  # the cells were read by openpyxl; keep memory flat
        return ranges


def _fill_merged(rows: list[list[Any]], ranges: list[tuple[int, int, int, int]]) -> None:
    """Give every cell of a merged range its top-left value, within the rows and columns the
    sheet has (a range over whole rows or columns must not blow up a small sheet)."""
    width = max((len(r) for r in rows), default=0)
    for min_col, min_row, max_col_, max_row in ranges:
        max_col = min(max_col_, width)
        if min_row > len(rows):
            continue
        top = rows[min_row - 1]
        value = top[min_col - 1] if min_col - 1 < len(top) else None
        if value is None:
            continue
        for r in range(min_row, min(max_row, len(rows)) + 1):
            row = rows[r - 1]
            if len(row) < max_col:
                row.extend([None] * (max_col - len(row)))
            for c in range(min_col, max_col + 1):
                row[c - 1] = value


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


def _text(cell: Any) -> str:
    return str(cell).strip() if not is_empty(cell) else ""


def _find_header(raw_rows: list[list[Any]], known: KnownHeader | None) -> tuple[int, list[str]]:
    """(index of the first data row, the header) — see the module's docstring."""
    filled = [i for i, r in enumerate(raw_rows) if any(not is_empty(c) for c in r)]
    if not filled:
        raise SpreadsheetError("文件为空：没有表头")
    if known is None:
        return filled[0] + 1, [_text(c) for c in raw_rows[filled[0]]]

    def score(header: list[str]) -> int:
        return len({h for h in header if h and known(h)})

    best = (0, filled[0] + 1, [_text(c) for c in raw_rows[filled[0]]])
    for i in filled[:HEADER_SEARCH_ROWS]:
        upper = [_text(c) for c in raw_rows[i]]
        single = score(upper)
        if single > best[0]:
            best = (single, i + 1, upper)
        if i + 1 < len(raw_rows):
            lower = [_text(c) for c in raw_rows[i + 1]]
            pair = [
                lo if known(lo) else up if known(up) else (lo or up)
                for up, lo in zip_longest(upper, lower, fillvalue="")
            ]
            if score(pair) > max(best[0], single):  # a tie keeps one row: the next may be data
                best = (score(pair), i + 2, pair)
    return best[1], best[2]


def _sheet(raw_rows: list[list[Any]], fmt: str, max_rows: int, known: KnownHeader | None = None) -> Sheet:
    data_at, headers = _find_header(raw_rows, known)
    while headers and headers[-1] == "":
        headers.pop()
    width = len(headers)
    rows: list[tuple[int, list[Any]]] = []
    for i in range(data_at, len(raw_rows)):
        cells = list(raw_rows[i][:width])
        if all(is_empty(c) for c in cells):
            continue
        rows.append((i + 1, cells + [None] * (width - len(cells))))
        if len(rows) > max_rows:
            raise TooManyRows(f"数据超过{max_rows}行，请拆分成多个文件上传")
    if not rows:
        raise SpreadsheetError("文件只有表头，没有数据行")
    return Sheet(headers=headers, rows=rows, format=fmt)
