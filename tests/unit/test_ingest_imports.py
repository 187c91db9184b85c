"""Rows -> models -> stored entities: per-row reports, Chinese reasons, no duplicates on re-import."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from stdnum.cn import ric

from services.ingest.columns import POSTING_COLUMNS, PROFILE_COLUMNS
from services.ingest.documents import POSTING, PROFILE
from services.ingest.imports import apply_rows, map_headers, parse_sheet
from services.ingest.repository import Repository
from services.ingest.spreadsheet import SpreadsheetError, read_sheet
from services.ingest.template import build_template
from shared.store.memory import MemoryStore

ID_BASE = "42280119900101001"
VALID_ID = ID_BASE + ric.calc_check_digit(ID_BASE + "0")  # it ignores the last character
BAD_ID = ID_BASE + ("0" if VALID_ID[-1] != "0" else "1")

PROFILE_CSV = "\n".join(
    [
        "姓名,手机号,身份证号,出生年份,户籍区县代码,期望月薪,可工作时间,重点群体,接收渠道,接受省外就业,备注",
        f"王小梅,13912345678,{VALID_ID},1990,422801,4000.0,仅工作日,脱贫人口、返乡农民工,短信,否,村里推荐",
        "李强,12345,,1985,422801,3500,不限,,,是,",
        f"张敏,13800001111,{BAD_ID},1990,999999,3000,早班,,,,",
        "赵刚,13700002222,,1980,360481,,,,微信,,",
    ]
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


def errors_of(report: dict, row: int) -> dict[str, str]:
    entry = next(r for r in report["rows"] if r["row"] == row)
    return {e["column"]: e["reason"] for e in entry["errors"]}


def test_missing_required_column_rejects_the_file() -> None:
    with pytest.raises(SpreadsheetError, match="出生年份"):
        map_headers("profile", ["姓名", "手机号", "户籍区县代码"])


def test_duplicate_column_rejects_the_file() -> None:
    with pytest.raises(SpreadsheetError, match="重复"):
        map_headers("profile", ["姓名", "手机号", "phone", "出生年份", "户籍区县代码"])


def test_api_field_names_work_as_headers() -> None:
    sheet = read_sheet(b"name,phone,birth_year,adcode,groups\nWang,13912345678,1990,422801,graduate\n")
    parsed = parse_sheet("profile", sheet)
    assert parsed.rows[0].errors == []
    assert parsed.rows[0].payload["home"] == {"adcode": "422801"}


async def test_gbk_csv_report_names_each_bad_row_column_and_reason() -> None:
    parsed = parse_sheet("profile", read_sheet(PROFILE_CSV.encode("gbk")))
    assert parsed.ignored == ["备注"]
    good = parsed.rows[0].model
    assert good is not None and good.model_dump()["desired_wage"] == 4000
    assert good.model_dump()["groups"] == ["poverty_alleviated", "returning_migrant"]
    assert good.model_dump()["channels"] == ["inbox", "sms"]

    repo = Repository(MemoryStore(), PROFILE)
    report = await apply_rows(repo, parsed)
    assert (report["total"], report["created"], report["updated"], report["rejected"]) == (4, 2, 0, 2)
    assert errors_of(report, 3) == {"手机号": "不是有效的大陆手机号（11位，以13–19开头）"}
    # conversion errors are reported before the model runs; the enum error names its column
    assert "可工作时间" in errors_of(report, 4)
    assert [r["status"] for r in report["rows"]] == ["created", "rejected", "rejected", "created"]
    assert all("id" in r for r in report["rows"] if r["status"] == "created")


async def test_model_errors_are_mapped_to_columns_in_chinese() -> None:
    csv = (
        f"姓名,手机号,身份证号,出生年份,户籍区县代码\n张敏,13800001111,{BAD_ID},1990,999999\n"
        f"王五,13800002222,{VALID_ID},1991,422801\n,13800003333,,1991,422801\n"
    )
    parsed = parse_sheet("profile", read_sheet(csv.encode()))
    first = {e.column: e.reason for e in parsed.rows[0].errors}
    assert first["身份证号"].startswith("身份证号无效")
    assert first["户籍区县代码"] == "未知的区县代码：999999"
    second = {e.column: e.reason for e in parsed.rows[1].errors}
    assert second == {"身份证号、出生年份": "出生年份与身份证号不符"}
    assert parsed.rows[2].errors[0].column == "姓名"


async def test_reimport_updates_the_same_people_instead_of_duplicating() -> None:
    store = MemoryStore()
    repo = Repository(store, PROFILE)
    first = await apply_rows(repo, parse_sheet("profile", read_sheet(PROFILE_CSV.encode("utf-8-sig"))))
    again = await apply_rows(repo, parse_sheet("profile", read_sheet(PROFILE_CSV.encode("gbk"))))
    assert (again["created"], again["updated"]) == (0, 2)
    assert [r.get("id") for r in again["rows"]] == [r.get("id") for r in first["rows"]]
    assert await store.collection("profiles").count() == 2
    # an identical row writes nothing: no version bump, no new event
    doc = await store.collection("profiles").get(first["rows"][0]["id"])
    assert doc is not None and doc["version"] == 1


async def test_reimport_changes_only_what_the_sheet_gives_and_keeps_status() -> None:
    store = MemoryStore()
    repo = Repository(store, PROFILE)
    report = await apply_rows(repo, parse_sheet("profile", read_sheet(PROFILE_CSV.encode())))
    pid = report["rows"][0]["id"]
    await repo.set_status(pid, "hired")
    update = "手机号,姓名,出生年份,户籍区县代码,期望月薪\n139 1234 5678,王小梅,1990,422801,4500\n"
    again = await apply_rows(repo, parse_sheet("profile", read_sheet(update.encode())))
    assert again["rows"][0] == {"row": 2, "status": "updated", "id": pid, "errors": []}
    stored = await repo.get(pid)
    assert stored["desired_wage"] == 4500
    assert stored["availability"] == "weekdays_only"  # not in this sheet: kept
    assert stored["status"] == "hired"  # not in this sheet: kept
    assert stored["version"] == 3


async def test_deleted_profile_is_not_revived_by_reimport() -> None:
    store = MemoryStore()
    repo = Repository(store, PROFILE)
    report = await apply_rows(repo, parse_sheet("profile", read_sheet(PROFILE_CSV.encode())))
    await repo.delete(report["rows"][0]["id"])
    again = await apply_rows(repo, parse_sheet("profile", read_sheet(PROFILE_CSV.encode())))
    assert again["rows"][0]["status"] == "created"
    assert again["rows"][0]["id"] != report["rows"][0]["id"]


async def test_posting_xlsx_with_excel_floats_and_reimport_key() -> None:
    header: list[object] = [
        "企业名称",
        "岗位名称",
        "招聘人数",
        "月薪下限",
        "月薪上限",
        "工作地区县代码",
        "班次",
        "福利待遇",
        "到岗日期",
        "是否计件",
    ]
    rows: list[list[object]] = [
        header,
        [
            "瑞昌纺织",
            "缝纫工",
            80.0,
            3500.0,
            6000.0,
            360481.0,
            "宝妈班",
            "五险一金、包吃住",
            "2024/3/1",
            "是",
        ],
        ["资中电子", "普工", 10, 5000, 4000, "511025", "白班", "", "", ""],
        ["广信食品", "包装工", "十个", 3000, 4000, "361104", "", "", "", ""],
    ]
    store = MemoryStore()
    repo = Repository(store, POSTING)
    report = await apply_rows(repo, parse_sheet("posting", read_sheet(xlsx(rows))))
    assert [r["status"] for r in report["rows"]] == ["created", "rejected", "rejected"]
    posting = await repo.get(report["rows"][0]["id"])
    assert (posting["headcount"], posting["wage"]["min"], posting["location"]["adcode"]) == (
        80,
        3500,
        "360481",
    )
    assert posting["shift"] == "weekday_day" and posting["start_date"] == "2024-03-01"
    assert posting["wage"]["piece_rate"] is True
    assert errors_of(report, 3) == {"月薪下限、月薪上限": "月薪上限不能低于月薪下限"}
    assert list(errors_of(report, 4)) == ["招聘人数"]

    rows[1][2] = 120
    again = await apply_rows(repo, parse_sheet("posting", read_sheet(xlsx(rows))))
    assert again["rows"][0]["status"] == "updated"
    assert await store.collection("postings").count() == 1
    assert (await repo.get(report["rows"][0]["id"]))["headcount"] == 120


@pytest.mark.parametrize(("kind", "columns"), [("profile", PROFILE_COLUMNS), ("posting", POSTING_COLUMNS)])
def test_template_headers_notes_frozen_pane_and_example_row(kind: str, columns: tuple) -> None:
    wb = load_workbook(io.BytesIO(build_template(kind)))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers == [c.header for c in columns]
    assert all(c.comment is not None and c.comment.text for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws["A2"].value  # example row present
    # the example row is recognised and not imported as a real record
    parsed = parse_sheet(kind, read_sheet(build_template(kind)))
    assert len(parsed.rows) == 1 and parsed.rows[0].model is None
    assert "示例行" in parsed.rows[0].errors[0].reason


@pytest.mark.parametrize("kind", ["profile", "posting"])
def test_template_filled_in_imports_cleanly(kind: str) -> None:
    wb = load_workbook(io.BytesIO(build_template(kind)))
    ws = wb.worksheets[0]
    ws["A2"] = ws["A2"].value + "甲"  # the official edits the example into a real row
    out = io.BytesIO()
    wb.save(out)
    parsed = parse_sheet(kind, read_sheet(out.getvalue()))
    assert parsed.rows[0].errors == [] and parsed.rows[0].model is not None
