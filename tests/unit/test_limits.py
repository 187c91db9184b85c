"""The limits in front of every service: body size (413), request rate per caller (429 with
Retry-After), bounded strings and lists in what clients send, and the settings that set them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.campaign.app import create_app as campaign_app
from services.campaign.settings import CampaignSettings
from services.ingest.app import create_app as ingest_app
from services.ingest.settings import IngestSettings
from services.match.app import create_app as match_app
from services.match.settings import MatchSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.auth import KeyRing, Role, headers
from shared.bus.memory import MemoryBus
from shared.store.memory import MemoryStore
from tests.examples import example

POSTING = example("posting")


def ingest(**settings: Any) -> tuple[TestClient, dict[str, str]]:
    ring = KeyRing()
    keys = {
        "admin": ring.issue("admin", Role.admin),
        "enshi": ring.issue("official-enshi", Role.official, ["4228"]),
        "wuhan": ring.issue("official-wuhan", Role.official, ["4201"]),
    }
    app = ingest_app(IngestSettings(**settings), bus=MemoryBus(), store=MemoryStore(), keyring=ring)
    return TestClient(app), keys


@pytest.fixture
def small() -> Iterator[tuple[TestClient, dict[str, str]]]:
    client, keys = ingest(max_body_bytes=2048, max_upload_bytes=8192, rate_limit="3/minute")
    with client:
        yield client, keys


# --- body size ---------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_a_json_reason(
    small: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = small
    ok = client.post("/v1/postings", json=POSTING, headers=headers(keys["admin"]))
    assert ok.status_code == 201, ok.text  # the example (~600 bytes) is well within 2048
    big = POSTING | {"description": "岗" * 1000}  # 3000 bytes of UTF-8: over the limit, under 4000 chars
    r = client.post("/v1/postings", json=big, headers=headers(keys["admin"]))
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/json") and "2048" in r.json()["detail"]


def test_a_body_without_content_length_is_counted_as_it_arrives(
    small: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = small
    chunks = [b'{"title": "', b"x" * 1500, b"x" * 1500, b'"}']
    r = client.post(
        "/v1/postings",
        content=iter(chunks),  # an iterator is sent chunked: no Content-Length to judge
        headers={**headers(keys["admin"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and "2048" in r.json()["detail"]


def test_uploads_have_their_own_larger_cap(small: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = small
    rows = "姓名,手机号,出生年份,户籍区县代码\n" + "".join(
        f"张三,139{i:08d},1990,422801\n" for i in range(80)
    )
    data = rows.encode()
    assert 2048 < len(data) < 8192  # over the body limit of the JSON routes, under the upload cap
    r = client.post("/v1/imports/profiles", files={"file": ("a.csv", data)}, headers=headers(keys["admin"]))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 80
    huge = b"x" * (8192 + 128 * 1024)  # beyond the cap and its multipart allowance: refused unread
    r = client.post("/v1/imports/profiles", files={"file": ("a.csv", huge)}, headers=headers(keys["admin"]))
    assert r.status_code == 413 and r.json()["detail"]


# --- rate --------------------------------------------------------------------------------------


def test_a_caller_over_its_rate_gets_429_with_retry_after(small: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = small
    enshi, wuhan = headers(keys["enshi"]), headers(keys["wuhan"])
    for _ in range(3):
        assert client.get("/v1/postings", headers=enshi).status_code == 200
    r = client.get("/v1/postings", headers=enshi)
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 60 and r.json()["detail"]
    # Counted per caller: another official is not held up, and the probes never are.
    assert client.get("/v1/postings", headers=wuhan).status_code == 200
    assert client.get("/healthz", headers=enshi).status_code == 200
    assert client.get("/metrics", headers=enshi).status_code == 200


def test_refused_requests_do_not_use_up_a_longer_window() -> None:
    client, keys = ingest(rate_limit="2/second;4/minute")
    enshi = headers(keys["enshi"])
    with client:
        codes = [client.get("/v1/postings", headers=enshi).status_code for _ in range(4)]
    # Two pass the second window; the two refused ones leave the minute's two others unused.
    assert codes == [200, 200, 429, 429]


def test_anonymous_callers_are_counted_by_address(small: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = small
    codes = [client.get("/v1/postings", headers=headers("cf_guess-" + str(i))).status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]  # guessing keys is throttled like any other caller
    assert client.get("/v1/postings", headers=headers(keys["enshi"])).status_code == 200


def test_admins_are_not_counted_unless_asked() -> None:
    client, keys = ingest(rate_limit="2/minute")
    with client:
        assert {client.get("/v1/outbox", headers=headers(keys["admin"])).status_code for _ in range(5)} == {
            200
        }
    client, keys = ingest(rate_limit="2/minute", rate_limit_admins=True)
    with client:
        codes = [client.get("/v1/outbox", headers=headers(keys["admin"])).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_every_service_has_both_limits_and_documents_them() -> None:
    ring = KeyRing()
    key = ring.issue("official", Role.official, ["4228"])
    apps: list[FastAPI] = [
        ingest_app(IngestSettings(rate_limit="1/minute"), bus=MemoryBus(), store=MemoryStore(), keyring=ring),
        match_app(MatchSettings(rate_limit="1/minute"), bus=MemoryBus(), store=MemoryStore(), keyring=ring),
        notify_app(
            NotifySettings(rate_limit="1/minute"),
            bus=MemoryBus(),
            store=MemoryStore(),
            channels={},
            keyring=ring,
        ),
        campaign_app(
            CampaignSettings(rate_limit="1/minute"), bus=MemoryBus(), store=MemoryStore(), keyring=ring
        ),
    ]
    for app in apps:
        with TestClient(app) as client:
            codes = [client.get("/v1/nowhere", headers=headers(key)).status_code for _ in range(2)]
            assert codes == [404, 429], app.title
            big = client.post("/v1/nowhere", content=b"x" * (2 * 1024 * 1024), headers=headers(key))
            assert big.status_code == 413, app.title
        for path, item in app.openapi()["paths"].items():
            for method, op in item.items():
                if path.startswith("/v1/"):
                    assert "Retry-After" in op["responses"]["429"]["headers"], (app.title, method, path)
                if "requestBody" in op:
                    assert "413" in op["responses"], (app.title, method, path)


def test_a_malformed_rate_limit_stops_the_start() -> None:
    with pytest.raises(ValidationError, match="rate limit"):
        IngestSettings(rate_limit="lots")
    assert IngestSettings(rate_limit="").rate_limit == ""  # empty: no limit


# --- bounded input -----------------------------------------------------------------------------


def _bounded(schema: dict[str, Any], defs: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """Paths of strings without maxLength (nor enum/const/format) and arrays without maxItems."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return _bounded(defs[name], defs, f"{where}", seen | {name})
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found += _bounded(sub, defs, where, seen)
    kind = schema.get("type")
    # A file (contentMediaType) is bounded by the upload cap instead.
    if kind == "string" and not ({"maxLength", "enum", "const", "format", "contentMediaType"} & set(schema)):
        found.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            found.append(where + "[]")
        found += _bounded(schema.get("items", {}), defs, where + "[]", seen)
    for name, sub in (schema.get("properties") or {}).items():
        found += _bounded(sub, defs, f"{where}.{name}", seen)
    return found


def test_every_string_and_list_a_client_sends_is_bounded() -> None:
    apps = [
        ingest_app(IngestSettings(), bus=MemoryBus(), store=MemoryStore()),
        notify_app(NotifySettings(), bus=MemoryBus(), store=MemoryStore(), channels={}),
        campaign_app(CampaignSettings(), bus=MemoryBus(), store=MemoryStore()),
    ]
    unbounded: list[str] = []
    for app in apps:
        schema = app.openapi()
        defs = schema.get("components", {}).get("schemas", {})
        for path, item in schema["paths"].items():
            for method, op in item.items():
                for media in (op.get("requestBody") or {}).get("content", {}).values():
                    unbounded += _bounded(media.get("schema", {}), defs, f"{method} {path}", set())
    assert unbounded == []


def test_a_too_long_text_is_a_422_naming_the_field(small: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = ingest()
    with client:
        r = client.post("/v1/postings", json=POSTING | {"title": "普" * 201}, headers=headers(keys["admin"]))
    assert r.status_code == 422
    assert [(e["loc"], e["type"]) for e in r.json()["detail"]] == [(["body", "title"], "string_too_long")]
