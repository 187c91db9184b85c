"""Spreadsheets as officials really send them (issue 8): GBK bytes, merged title and header cells,
a seeker twice in one sheet or already stored, bad phones and ID numbers — every row accepted or
rejected with its row, column and reason, and nothing half-written."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from services.ingest.app import create_app
from services.ingest.documents import PROFILE
from services.ingest.imports import apply_rows, known_header, parse_sheet
from services.ingest.repository import Repository
from services.ingest.settings import IngestSettings
from services.ingest.spreadsheet import SpreadsheetError, read_sheet
from shared import idcard
from shared.bus.memory import MemoryBus
from shared.events import TOPIC_CONTACTS, TOPIC_PROFILES
from shared.store.base import Doc
from shared.store.memory import MemoryCollection, MemoryStore
from tests.unit.fakes import ADMIN, admin_keyring

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(area: str, birth: str, seq: str) -> str:
    """An ID number with its check digit computed here from GB 11643's weights (not by the code
    under test)."""
    body = area + birth + seq
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


ID_1990 = id_number("422801", "19900315", "123")
ID_1985 = id_number("421281", "19850101", "456")  # 赤壁市: a real county stdnum's table lacks
ID_1992 = id_number("422828", "19920229", "011")


def read(content: bytes) -> Any:
    return parse_sheet("profile", read_sheet(content, known=known_header("profile")))


async def imported(content: bytes, repo: Repository | None = None) -> tuple[dict[str, Any], Repository]:
    repo = repo or Repository(MemoryStore(), PROFILE)
    return await apply_rows(repo, read(content)), repo


def row_of(report: dict[str, Any], number: int) -> dict[str, Any]:
    return next(r for r in report["rows"] if r["row"] == number)


def reasons(report: dict[str, Any], number: int) -> dict[str, str]:
    return {e["column"]: e["reason"] for e in row_of(report, number)["errors"]}


def xlsx(rows: list[list[object]], merges: tuple[str, ...] = ()) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    for ref in merges:
        ws.merge_cells(ref)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- encodings -----------------------------------------------------------------------------------

GBK_CSV = (
    "姓名,手机号,身份证号,出生年份,户籍区县代码\n"
    "覃喆,13912345678,{id},1990,422801\n"
    "向堃,13800001111,,1985,421281\n"
)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_chinese_csv_in_gbk_or_utf8_with_or_without_bom(encoding: str) -> None:
    content = GBK_CSV.format(id=ID_1990).encode(encoding)
    if encoding.startswith("gb"):
        with pytest.raises(UnicodeDecodeError):  # real GBK bytes: not UTF-8 by accident
            content.decode("utf-8")
    parsed = read(content)
    assert [r.payload.get("name") for r in parsed.rows] == ["覃喆", "向堃"]
    assert all(r.errors == [] for r in parsed.rows)


def test_bytes_that_are_neither_utf8_nor_gbk_are_refused_with_a_reason() -> None:
    with pytest.raises(SpreadsheetError, match="编码"):
        read_sheet("姓名,手机号\n".encode() + b"\x80\x80,1\n")


# --- merged cells and where the header is ----------------------------------------------------------


def test_merged_title_row_and_two_row_header_with_merged_group_cell() -> None:
    content = xlsx(
        [
            ["2026年春风行动求职登记表（恩施市）", None, None, None, None],
            ["姓名", "联系方式", None, "出生年份", "户籍区县代码"],
            [None, "手机", "身份证号", None, None],
            ["王小梅", "13912345678", ID_1990, 1990, "422801"],
            ["李强", "13800001111", None, 1985, "421281"],
        ],
        merges=("A1:E1", "B2:C2", "A2:A3", "D2:D3", "E2:E3"),
    )
    sheet = read_sheet(content, known=known_header("profile"))
    assert sheet.headers == ["姓名", "手机", "身份证号", "出生年份", "户籍区县代码"]
    assert [n for n, _ in sheet.rows] == [4, 5]  # the numbers Excel shows
    parsed = parse_sheet("profile", sheet)
    assert [r.errors for r in parsed.rows] == [[], []]
    assert parsed.rows[0].payload["id_number"] == ID_1990 and parsed.rows[1].payload["phone"] == "13800001111"


def test_two_row_header_without_vertical_merges_takes_each_columns_known_name() -> None:
    content = xlsx(
        [
            ["姓名", "联系方式", None, "出生年份", "户籍区县代码", "备注"],
            [None, "手机号码", "身份证号码", None, None, None],
            ["王小梅", "13912345678", ID_1990, 1990, "422801", "村委推荐"],
        ],
        merges=("B1:C1",),
    )
    parsed = read(content)
    assert parsed.ignored == ["备注"]
    assert [(r.row, r.errors) for r in parsed.rows] == [(3, [])]


def test_a_cell_merged_down_a_group_of_data_rows_belongs_to_each() -> None:
    content = xlsx(
        [
            ["姓名", "手机号", "出生年份", "户籍区县代码"],
            ["王小梅", "13912345678", 1990, "422801"],
            ["李强", "13800001111", 1985, None],
        ],
        merges=("D2:D3",),
    )
    parsed = read(content)
    assert [r.payload["home"]["adcode"] for r in parsed.rows] == ["422801", "422801"]


def test_a_data_row_under_a_one_row_header_is_not_taken_for_a_second_header_row() -> None:
    parsed = read("姓名,手机号,出生年份,户籍区县代码\n王小梅,13912345678,1990,422801\n".encode())
    assert [r.row for r in parsed.rows] == [2]


def test_no_header_in_the_first_rows_names_what_is_missing() -> None:
    body = "".join(f"说明第{i}行\n" for i in range(12)) + "姓名,手机号,出生年份,户籍区县代码\n"
    with pytest.raises(SpreadsheetError, match=r"缺少必填列.*前10行"):
        read((body + "王小梅,13912345678,1990,422801\n").encode())


# --- phones and ID numbers ---------------------------------------------------------------------------


def test_id_numbers_are_judged_by_the_standard_not_by_a_table_of_places() -> None:
    assert idcard.validate(ID_1985) == ID_1985  # 赤壁市: stdnum.cn.ric.validate refuses it
    assert idcard.validate(ID_1990.lower()) == ID_1990
    wrong_digit = ID_1990[:17] + ("0" if ID_1990[17] != "0" else "1")
    for bad in (wrong_digit, id_number("422801", "19901340", "123"), id_number("992801", "19900315", "123")):
        with pytest.raises(ValueError):
            idcard.validate(bad)
    with pytest.raises(ValueError, match="birth"):
        idcard.validate(id_number("422801", "20300101", "123"), today=date(2026, 12, 1))


async def test_bad_phones_and_id_numbers_are_rejected_with_row_column_and_chinese_reason() -> None:
    wrong_digit = ID_1990[:17] + ("0" if ID_1990[17] != "0" else "1")
    no_such_day = id_number("422801", "19900230", "123")
    csv = "\n".join(
        [
            "姓名,手机号,身份证号,出生年份,户籍区县代码",
            "甲,12912345678,,1990,422801",  # 12…: no mainland mobile
            "乙,1391234567,,1990,422801",  # ten digits
            f"丙,13912345670,{wrong_digit},1990,422801",
            f"丁,13912345671,{no_such_day},1990,422801",
            f"戊,13912345672,{ID_1990},1991,422801",  # the birth year disagrees
            f"己,+86 139-1234-5673,{ID_1992},1992,422828",  # fine, as typed
        ]
    )
    report, _ = await imported(csv.encode("gbk"))
    assert [r["status"] for r in report["rows"]] == ["rejected"] * 5 + ["created"]
    assert reasons(report, 2) == {"手机号": "不是有效的大陆手机号（11位，以13–19开头）"}
    assert reasons(report, 3) == {"手机号": "不是有效的大陆手机号（11位，以13–19开头）"}
    assert reasons(report, 4) == {"身份证号": "身份证号无效（校验位或出生日期不对）"}
    assert reasons(report, 5) == {"身份证号": "身份证号无效（校验位或出生日期不对）"}
    assert reasons(report, 6) == {"身份证号、出生年份": "出生年份与身份证号不符"}


# --- duplicates ------------------------------------------------------------------------------------


async def test_a_seeker_twice_in_one_sheet_keeps_the_first_row_and_names_it_in_the_later() -> None:
    csv = "\n".join(
        [
            "姓名,手机号,身份证号,出生年份,户籍区县代码",
            f"王小梅,13912345678,{ID_1990},1990,422801",
            "王小梅,13912345678,,1990,422801",  # the same phone
            f"王晓梅,13700000000,{ID_1990},1990,422801",  # the same ID number, another phone
            "李强,1380000111,,1985,421281",  # invalid phone: rejected for that, and does not count
            "李强,13800001111,,1985,421281",  # so the corrected row below it is accepted
            f"张敏,13800001111,{ID_1990},1990,422801",  # both repeated: both named
        ]
    )
    report, repo = await imported(csv.encode())
    assert [r["status"] for r in report["rows"]] == [
        "created",
        "rejected",
        "rejected",
        "rejected",
        "created",
        "rejected",
    ]
    assert reasons(report, 3) == {"手机号": "与第2行手机号重复"}
    assert reasons(report, 4) == {"身份证号": "与第2行身份证号重复"}
    assert reasons(report, 7) == {"手机号": "与第6行手机号重复", "身份证号": "与第2行身份证号重复"}
    assert await repo.col.count() == 2


async def test_against_stored_seekers_a_resurvey_updates_and_never_merges_two_people() -> None:
    first = "\n".join(
        [
            "姓名,手机号,身份证号,出生年份,户籍区县代码,期望月薪",
            f"王小梅,13912345678,{ID_1990},1990,422801,4000",
            f"李强,13800001111,{ID_1985},1985,421281,3500",
            "赵刚,13700002222,,1980,422801,3000",
        ]
    )
    report, repo = await imported(first.encode())
    ids = [r["id"] for r in report["rows"]]
    second = "\n".join(
        [
            "姓名,手机号,身份证号,出生年份,户籍区县代码,期望月薪",
            f"王小梅,13500005555,{ID_1990},1990,422801,4500",  # new phone, same ID: her, updated
            f"赵刚之妻,13800001111,{ID_1992},1992,422828,",  # 李强's phone, another ID
            "赵刚,13700002222,,1980,422801,3300",  # no ID: found by phone, updated
        ]
    )
    again, _ = await imported(second.encode(), repo)
    assert [(r["status"], r.get("id")) for r in again["rows"]] == [
        ("updated", ids[0]),
        ("rejected", None),
        ("updated", ids[2]),
    ]
    assert "另一身份证号" in reasons(again, 3)[""]
    her = await repo.get(ids[0])
    assert (her["phone"], her["desired_wage"]) == ("13500005555", 4500)
    assert (await repo.get(ids[1]))["phone"] == "13800001111"  # untouched
    assert (await repo.get(ids[2]))["desired_wage"] == 3300
    # his ID number with 赵刚's phone: two stored people, the row touches neither
    third = f"姓名,手机号,身份证号,出生年份,户籍区县代码\n李强,13700002222,{ID_1985},1985,421281\n"
    last, _ = await imported(third.encode(), repo)
    assert reasons(last, 2) == {"": "手机号与身份证号分别属于两位已登记的求职者，请核对"}
    assert (await repo.get(ids[1]))["phone"] == "13800001111"
    assert await repo.col.count() == 3


# --- nothing half-written ------------------------------------------------------------------------------


class CrashingCollection(MemoryCollection):
    """Dies (like the process would) on the n-th insert."""

    def __init__(self, die_at: int) -> None:
        super().__init__()
        self.inserts, self.die_at = 0, die_at

    async def insert(self, doc: Doc) -> bool:
        self.inserts += 1
        if self.inserts == self.die_at:
            raise ConnectionError("the database went away mid-import")
        return await super().insert(doc)


async def test_an_import_cut_short_leaves_whole_rows_with_their_events_and_a_reimport_completes_it() -> None:
    csv = "\n".join(
        ["姓名,手机号,出生年份,户籍区县代码"] + [f"人{i},1391234567{i},1990,422801" for i in range(4)]
    ).encode()
    store = MemoryStore()
    store._collections["profiles"] = CrashingCollection(die_at=3)
    repo = Repository(store, PROFILE)
    with pytest.raises(ConnectionError):
        await apply_rows(repo, read(csv))
    stored = await repo.col.find({})
    assert sorted(d["data"]["name"] for d in stored) == ["人0", "人1"]
    for doc in stored:  # each stored row carries both its events: stored and announced together
        assert doc["outbox_pending"] and [e["topic"] for e in doc["outbox"]] == [
            TOPIC_PROFILES,
            TOPIC_CONTACTS,
        ]
    report = await apply_rows(repo, read(csv))
    assert [r["status"] for r in report["rows"]] == ["updated", "updated", "created", "created"]
    assert await repo.col.count() == 4


# --- over HTTP -------------------------------------------------------------------------------------


def test_the_import_endpoint_finds_the_header_under_a_merged_title_and_reports_per_row() -> None:
    app = create_app(IngestSettings(), bus=MemoryBus(), store=MemoryStore(), keyring=admin_keyring())
    content = xlsx(
        [
            ["2026年春风行动求职登记表", None, None, None, None],
            ["姓名", "联系方式", None, "出生年份", "户籍区县代码"],
            [None, "手机", "身份证号", None, None],
            ["王小梅", "13912345678", ID_1990, 1990, "422801"],
            ["王小梅", "13912345678", None, 1990, "422801"],
        ],
        merges=("A1:E1", "B2:C2", "A2:A3", "D2:D3", "E2:E3"),
    )
    with TestClient(app, headers=ADMIN) as client:
        files = {"file": ("登记表.xlsx", content, "application/octet-stream")}
        r = client.post("/v1/imports/profiles", files=files)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["created"], report["rejected"]) == (1, 1)
    assert row_of(report, 5)["errors"] == [
        {"column": "手机号", "field": "phone", "reason": "与第4行手机号重复"}
    ]
