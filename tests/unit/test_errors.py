"""Error answers as the OpenAPI declares them: 405's ``Allow``, one 422 shape, declared statuses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.ingest.app import create_app as ingest_app
from services.ingest.settings import IngestSettings
from services.match.app import create_app as match_app
from services.match.settings import MatchSettings
from shared.bus.memory import MemoryBus
from shared.store.memory import MemoryStore
from tests.unit.fakes import ADMIN, admin_keyring


@pytest.fixture
def ingest() -> Iterator[TestClient]:
    app = ingest_app(IngestSettings(), bus=MemoryBus(), store=MemoryStore(), keyring=admin_keyring())
    with TestClient(app, headers=ADMIN) as client:
        yield client


def test_a_405_lists_every_method_of_the_path(ingest: TestClient) -> None:
    # GET, PUT and DELETE of /v1/postings/{id} are three routes; Starlette alone names the first.
    r = ingest.request("OPTIONS", "/v1/postings/some-id")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, PUT"
    r = ingest.request("PATCH", "/v1/postings")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    assert r.json() == {"detail": "Method Not Allowed"}


def test_other_http_errors_keep_their_answer(ingest: TestClient) -> None:
    r = ingest.get("/v1/postings/nope")
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    r = ingest.get("/v1/postings/nope", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")


def test_a_rule_no_schema_states_is_a_422_in_the_validation_shape() -> None:
    app = match_app(MatchSettings(), bus=MemoryBus(), store=MemoryStore(), keyring=admin_keyring())
    with TestClient(app, headers=ADMIN) as client:
        r = client.get("/v1/matches")
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["query", "profile_id"] and error["type"] == "value_error"
    assert "exactly one" in error["msg"]


def test_routes_declare_the_answers_they_give(ingest: TestClient) -> None:
    paths = ingest.get("/openapi.json").json()["paths"]
    assert {"404", "409"} <= set(paths["/v1/postings/{id}"]["put"]["responses"])
    assert "404" in paths["/v1/profiles/{id}"]["get"]["responses"]
    assert "404" not in paths["/v1/postings"]["get"]["responses"]  # a list has nothing to miss
    assert {"400", "413", "429", "503"} <= set(paths["/v1/postings"]["post"]["responses"])
    assert "429" not in paths["/healthz"]["get"]["responses"]  # probes are never limited


def test_a_circular_with_a_control_character_in_a_name_is_still_a_workbook() -> None:
    """Found by fuzzing ingest into a running stack: a posting's employer name with U+001C made
    the key-enterprise row of campaign's XLSX circular unwritable (openpyxl refuses it): a 500."""
    from datetime import date
    from io import BytesIO

    from openpyxl import load_workbook

    from services.campaign.circular import COUNTED, Circular, Row, to_xlsx

    def row(kind: str, key: str, name: str) -> Row:
        counts = {f: 0 for f, info in Row.model_fields.items() if info.annotation is int}
        return Row.model_validate(
            counts
            | {"kind": kind, "key": key, "name": name, "completion_rate": 0.0}
            | {"target": 10, "change": dict.fromkeys(COUNTED, 0)}
        )

    circular = Circular(
        date=date(2026, 3, 11),
        county=None,
        timezone="Asia/Shanghai",
        total=row("total", "all", "合计"),
        counties=[],
        enterprises=[row("enterprise", "x", "恩施\x1c电子")],
    )
    sheet = load_workbook(BytesIO(to_xlsx(circular))).active
    assert sheet is not None
    assert "恩施电子" in [c.value for c in sheet[3]]
