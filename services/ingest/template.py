"""The XLSX templates officials download, fill in and upload again.

Each header carries a cell comment with what the column means and its allowed values, so the
sheet explains itself when it is forwarded from the county bureau to a township cadre.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from services.ingest.columns import POSTING_COLUMNS, PROFILE_COLUMNS, Column

TITLES = {"profile": "求职者登记", "posting": "岗位需求登记"}
COLUMNS = {"profile": PROFILE_COLUMNS, "posting": POSTING_COLUMNS}

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def build_template(kind: str) -> bytes:
    columns: tuple[Column, ...] = COLUMNS[kind]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = TITLES[kind]
    required_fill = PatternFill("solid", fgColor="FCE4D6")
    optional_fill = PatternFill("solid", fgColor="DDEBF7")
    for i, col in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i, value=col.header)
        cell.font = Font(bold=True, color="C00000" if col.required else "000000")
        cell.fill = required_fill if col.required else optional_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        note = Comment(f"{col.header}（{col.field}）\n{col.note}", "春风")
        note.width, note.height = 260, 110
        cell.comment = note
        example = ws.cell(row=2, column=i, value=col.example if col.example != "" else None)
        if col.kind in ("phone", "id", "code", "text", "list", "enum", "enum_list", "date"):
            example.number_format = "@"  # text, so Excel keeps phones, IDs and codes as typed
        ws.column_dimensions[get_column_letter(i)].width = max(col.width, len(col.header) * 2 + 2)
        for row in range(3, 203):  # pre-format the rows officials fill in, too
            if col.kind in ("phone", "id", "code"):
                ws.cell(row=row, column=i).number_format = "@"
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = "A2"

    guide = wb.create_sheet("填写说明")
    guide.append(["列名", "是否必填", "说明", "接口字段"])
    for col in columns:
        guide.append([col.header, "必填" if col.required else "选填", col.note, col.field])
    for letter, width in zip("ABCD", (16, 10, 70, 26), strict=True):
        guide.column_dimensions[letter].width = width
    guide.append([])
    guide.append(["第2行是示例，可直接覆盖或删除；每行一条记录；只读取第一个工作表。"])

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
