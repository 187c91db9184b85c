"""The officials' CLI against the services in-process: a sheet imported in chunks gives the very
report of a single upload (rows numbered as in the file), and the circular downloads as asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from services.campaign.app import create_app as campaign_app
from services.campaign.settings import CampaignSettings
from services.cli.__main__ import main
from services.cli.chunks import chunks, read
from services.ingest.app import create_app as ingest_app
from services.ingest.settings import IngestSettings
from shared.bus.memory import MemoryBus
from shared.store.memory import MemoryStore
from tests.unit.fakes import ADMIN, ADMIN_KEY, admin_keyring
from tests.unit.test_ingest_imports import PROFILE_CSV

# The test module's sheet, with a blank line inside and more rows than one chunk holds.
SHEET = (
    PROFILE_CSV.replace("\n李强", "\n\n李强")
    + "\n"
    + PROFILE_CSV.split("\n", 2)[1].replace("王小梅", "王二梅")
)


def ingest() -> TestClient:
    app = ingest_app(IngestSettings(), bus=MemoryBus(), store=MemoryStore(), keyring=admin_keyring())
    return TestClient(app)


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    path = tmp_path / "走访登记表.csv"
    path.write_bytes(SHEET.encode("gb18030"))  # as Excel on Chinese Windows saves it
    return path


def test_chunks_keep_each_rows_number_and_cells(sheet: Path) -> None:
    whole = read(sheet.read_bytes())
    parts = list(chunks(whole, 2))
    assert [p.rows for p in parts] == [2, 2, 1]

    def blank_is_none(rows: list[tuple[int, list[object]]]) -> list[tuple[int, list[object]]]:
        return [(n, [None if c == "" else c for c in cells]) for n, cells in rows]

    again = [row for p in parts for row in read(p.xlsx).rows]
    assert blank_is_none(again) == blank_is_none(whole.rows)
    assert whole.rows[1][0] == 4  # the blank line 3 is skipped, not renumbered
    assert all(read(p.xlsx).headers == whole.headers for p in parts)


def test_import_in_chunks_reports_the_rows_a_single_upload_would(
    sheet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ingest() as single:
        files = {"file": (sheet.name, sheet.read_bytes(), "text/csv")}
        expected = single.post("/v1/imports/profiles", files=files, headers=ADMIN).json()
    assert expected["rejected"] >= 1 and expected["created"] >= 1
    with ingest() as http:
        code = main(["--key", ADMIN_KEY, "import", "profiles", str(sheet), "--chunk-rows", "2", "-q"], http)
        out = capsys.readouterr().out
        assert code == 1  # some rows were rejected
        summary = f"新增{expected['created']}，更新{expected['updated']}，退回{expected['rejected']}"
        assert summary in out
        for row in expected["rows"]:
            if row["status"] == "rejected":
                line = next(x for x in out.splitlines() if x.strip().startswith(f"第{row['row']}行："))
                assert all(e["reason"] in line for e in row["errors"])
        # A second run updates the same people (by phone) instead of adding them again.
        assert main(["--key", ADMIN_KEY, "import", "profiles", str(sheet), "-q"], http) == 1
        assert f"新增0，更新{expected['created'] + expected['updated']}" in capsys.readouterr().out


def test_import_failures_are_said_plainly(
    sheet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ingest() as http:
        assert main(["import", "profiles", str(sheet)], http) == 2
        assert "CHUNFENG_API_KEY" in capsys.readouterr().err
        assert main(["--key", "cf_wrong", "import", "profiles", str(sheet), "-q"], http) == 2
        assert "HTTP 401" in capsys.readouterr().err
        assert main(["--key", ADMIN_KEY, "import", "profiles", str(tmp_path / "nope.xlsx")], http) == 2
        (tmp_path / "empty.csv").write_bytes(b"")
        assert main(["--key", ADMIN_KEY, "import", "profiles", str(tmp_path / "empty.csv")], http) == 2
        assert "文件为空" in capsys.readouterr().err


@pytest.fixture
def campaign() -> Iterator[TestClient]:
    app = campaign_app(CampaignSettings(), bus=MemoryBus(), store=MemoryStore(), keyring=admin_keyring())
    with TestClient(app) as client:
        yield client


def test_the_circular_downloads_in_each_format(campaign: TestClient, tmp_path: Path) -> None:
    args = ["--key", ADMIN_KEY, "circular", "--date", "2026-03-01"]
    assert main([*args, "--format", "xlsx", "-o", str(tmp_path / "c.xlsx")], campaign) == 0
    ws = load_workbook(tmp_path / "c.xlsx").active
    assert ws is not None and ws.title == "每日通报2026-03-01" and ws.cell(2, 1).value == "合计"
    assert main([*args, "--format", "png", "-o", str(tmp_path / "c.png")], campaign) == 0
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    assert main([*args, "--format", "json", "-o", str(tmp_path / "c.json")], campaign) == 0
    assert '"date": "2026-03-01"' in (tmp_path / "c.json").read_text(encoding="utf-8")
    assert main([*args, "--county", "x"], campaign) == 2  # a 422 from the service, said plainly
