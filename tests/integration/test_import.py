"""Spreadsheet import on the real stack: good rows stored and matched, bad rows reported by number."""

from __future__ import annotations

import io
import uuid

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from tests.integration.conftest import INGEST, MATCH, Stack, wait_for

HEADERS = [
    "姓名",
    "手机号",
    "出生年份",
    "户籍区县代码",
    "期望月薪",
    "最远通勤公里",
    "技能",
    "可工作时间",
    "重点群体",
]


def test_template_has_chinese_headers(stack: Stack, http: httpx.Client) -> None:
    r = http.get(f"{INGEST}/v1/imports/profiles/template")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    headers = [c.value for c in sheet[1]]
    assert "姓名" in headers and "手机号" in headers


def test_xlsx_with_good_and_bad_rows_reports_the_bad_rows_by_number(stack: Stack, http: httpx.Client) -> None:
    n = uuid.uuid4().int % 10000
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADERS)
    ws.append(["柯瑞丰", f"1390001{n:04d}", 1983, "360481", 3800, 40, "普工", "不限", "脱贫人口"])  # row 2 ok
    ws.append(["王五", "12345", 1990, "360481", 3800, 40, "普工", "不限", ""])  # row 3: bad phone
    ws.append(
        ["夏大姐", f"1390002{n:04d}", 1978, "361103", 3600, 30, "品检、普工", "仅白班", "返乡农民工"]
    )  # row 4 ok
    ws.append(["赵六", f"1390003{n:04d}", 1985, "999999", 3600, 30, "普工", "不限", ""])  # row 5: adcode
    buf = io.BytesIO()
    wb.save(buf)
    files = {
        "file": (
            "摸排表.xlsx",
            buf.getvalue(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    }
    r = http.post(f"{INGEST}/v1/imports/profiles", files=files)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["total"] == 4 and report["rejected"] == 2
    rows = {row["row"]: row for row in report["rows"]}
    assert rows[3]["status"] == "rejected" and rows[3]["errors"][0]["column"] == "手机号"
    assert rows[5]["status"] == "rejected" and rows[5]["errors"][0]["column"] == "户籍区县代码"
    ids = [rows[i]["id"] for i in (2, 4)]
    for pid in ids:
        assert http.get(f"{INGEST}/v1/profiles/{pid}").status_code == 200
    # imported seekers flow through the pipeline like any other: match knows them
    wait_for(lambda: http.get(f"{MATCH}/v1/matches", params={"profile_id": ids[0]}).status_code == 200, 10)

    # the same sheet again updates, it does not duplicate people
    again = http.post(f"{INGEST}/v1/imports/profiles", files=files).json()
    assert again["created"] == 0 and again["updated"] == 2


def test_gbk_csv_is_read(stack: Stack, http: httpx.Client) -> None:
    n = uuid.uuid4().int % 10000
    text = ",".join(HEADERS) + "\n" + f"陶莲荣,1390004{n:04d},1981,361129,3500,30,检验,仅工作日,登记失业\n"
    files = {"file": ("seekers.csv", text.encode("gbk"), "text/csv")}
    r = http.post(f"{INGEST}/v1/imports/profiles", files=files)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1, r.json()


# Above the ~230 rows whose single audit entry broke PostgreSQL's index row limit; both stacks
# run FerretDB on PostgreSQL. (60 when the containers ran SQLite, where every row's lookup scans
# the collection: FERRETDB_HANDLER=sqlite still does.)
ROWS = {"local processes": 300, "docker compose": 300}


@pytest.mark.backlog
def test_a_part_of_hundreds_of_rows_is_stored_whole_and_a_second_upload_updates_it(
    stack: Stack, http: httpx.Client
) -> None:
    """A large part (ROWS by stack): every row one seeker with her events, in one answer (it was a 503
    after the rows were stored: the audit entry naming 500 seekers broke PostgreSQL's index row
    limit), and the same part again finds every one of them (phone, ID number) instead of adding."""
    from bench.import_bench import cells, id_number, survey_row
    from services.ingest.columns import PROFILE_COLUMNS

    rows = ROWS.get(stack.kind, 60)
    n = uuid.uuid4().int % 100_000
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([c.header for c in PROFILE_COLUMNS])
    for i in range(rows):
        seeker = survey_row(i)
        seeker["phone"] = f"15{n:05d}{i:04d}"
        seeker["id_number"] = id_number(seeker["home"]["adcode"], seeker["birth_year"], n * 500 + i)
        ws.append(cells(seeker))
    buf = io.BytesIO()
    wb.save(buf)
    files = {
        "file": (
            "走访登记.xlsx",
            buf.getvalue(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    }
    r = http.post(f"{INGEST}/v1/imports/profiles", files=files, timeout=900)
    assert r.status_code == 200, r.text
    first = r.json()
    assert (first["total"], first["created"], first["rejected"]) == (rows, rows, 0)
    ids = [row["id"] for row in first["rows"]]
    assert len(set(ids)) == rows
    for pid in ids[::50]:
        assert http.get(f"{INGEST}/v1/profiles/{pid}").json()["phone"].startswith(f"15{n:05d}")
    wait_for(lambda: http.get(f"{MATCH}/v1/matches", params={"profile_id": ids[-1]}).status_code == 200, 240)
    again = http.post(f"{INGEST}/v1/imports/profiles", files=files, timeout=900).json()
    assert (again["created"], again["updated"], again["rejected"]) == (0, rows, 0)
    assert [row["id"] for row in again["rows"]] == ids
