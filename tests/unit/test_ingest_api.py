"""The ingest HTTP API on the memory bus and store: the contract other teams and the examples rely on."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.bus.memory import MemoryBus, MemoryPublisher
from shared.events import TOPIC_CONTACTS, TOPIC_POSTINGS, TOPIC_PROFILES, parse
from shared.store.memory import MemoryStore
from tests.examples import example
from tests.unit.fakes import ADMIN, admin_keyring

POSTING = example("posting")
PROFILE = example("profile")


class Stack:
    def __init__(self) -> None:
        self.bus = MemoryBus()
        self.store = MemoryStore()
        settings = IngestSettings(max_upload_bytes=4096, max_import_rows=20)
        self.app = create_app(settings, bus=self.bus, store=self.store, keyring=admin_keyring())

    def events(self, topic: str) -> list[Any]:
        """The events on a topic (tombstones, which are not events, left out)."""
        return [parse(topic, r.value) for r in self.bus.records(topic) if r.value is not None]


@pytest.fixture
def stack() -> Stack:
    return Stack()


@pytest.fixture
def client(stack: Stack) -> Iterator[TestClient]:
    with TestClient(stack.app, headers=ADMIN) as c:
        yield c


def fields(detail: list[dict[str, Any]]) -> set[str]:
    return {".".join(str(p) for p in e["loc"][1:]) for e in detail}


def test_examples_are_accepted_as_they_are(client: TestClient) -> None:
    r = client.post("/v1/postings", json=POSTING)
    assert r.status_code == 201, r.text
    body = r.json()
    assert list(body)[:5] == ["id", "status", "version", "created_at", "updated_at"]
    assert (body["status"], body["version"], body["title"]) == ("open", 1, POSTING["title"])
    r = client.post("/v1/profiles", json=PROFILE)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["phone"]) == ("looking", "13912345678")
    assert client.get(f"/v1/profiles/{r.json()['id']}").json() == r.json()


@pytest.mark.parametrize(
    ("path", "change", "field"),
    [
        ("/v1/profiles", {"phone": "12345"}, "phone"),
        ("/v1/profiles", {"home": {"adcode": "999999"}}, "home.adcode"),
        ("/v1/profiles", {"id_number": "422801199001010011"}, "id_number"),
        ("/v1/profiles", {"unknown": 1}, "unknown"),
        ("/v1/postings", {"location": {"adcode": "12"}}, "location.adcode"),
        ("/v1/postings", {"wage": {"min": 5000, "max": 4000}}, "wage"),
        ("/v1/postings", {"headcount": 0}, "headcount"),
    ],
)
def test_bad_input_is_422_naming_the_field(client: TestClient, path: str, change: dict, field: str) -> None:
    body = copy.deepcopy(PROFILE if "profiles" in path else POSTING)
    body.update(change)
    r = client.post(path, json=body)
    assert r.status_code == 422
    assert field in fields(r.json()["detail"])
    assert client.get(path).json()["total"] == 0  # nothing half-written


def test_posting_lifecycle_and_its_events(client: TestClient, stack: Stack) -> None:
    pid = client.post("/v1/postings", json=POSTING).json()["id"]
    changed = {**POSTING, "headcount": 60}
    r = client.put(f"/v1/postings/{pid}", json=changed)
    assert (r.status_code, r.json()["version"], r.json()["headcount"]) == (200, 2, 60)
    assert client.put(f"/v1/postings/{pid}", json=changed).json()["version"] == 2  # same body: no change
    assert client.put(f"/v1/postings/{pid}", json={"title": "x"}).status_code == 422
    r = client.post(f"/v1/postings/{pid}/close")
    assert (r.json()["status"], r.json()["version"]) == ("closed", 3)
    assert client.get("/v1/postings?status=closed").json()["total"] == 1
    assert client.get("/v1/postings?status=open").json()["total"] == 0
    assert client.delete(f"/v1/postings/{pid}").status_code == 204
    assert client.get(f"/v1/postings/{pid}").status_code == 404
    assert client.put(f"/v1/postings/{pid}", json=POSTING).status_code == 404
    assert client.delete(f"/v1/postings/{pid}").status_code == 404
    assert client.get("/v1/postings").json()["total"] == 0
    client.__exit__(None, None, None)  # shutdown flushes the outbox
    events = stack.events(TOPIC_POSTINGS)
    assert [(e.type, e.payload.version) for e in events] == [
        ("posting.upserted", 1),
        ("posting.upserted", 2),
        ("posting.closed", 3),
        ("posting.deleted", 4),
    ]
    assert {e.key for e in events} == {pid}
    assert events[-1].payload.status == "deleted"


def test_profile_status_and_delete_emit_profile_and_contact_events(client: TestClient, stack: Stack) -> None:
    pid = client.post("/v1/profiles", json=PROFILE).json()["id"]
    r = client.post(f"/v1/profiles/{pid}/status", json={"status": "hired"})
    assert (r.json()["status"], r.json()["version"]) == ("hired", 2)
    assert client.post(f"/v1/profiles/{pid}/status", json={"status": "fired"}).status_code == 422
    assert client.get("/v1/profiles?status=hired").json()["total"] == 1
    assert client.delete(f"/v1/profiles/{pid}").status_code == 204
    assert client.get(f"/v1/profiles/{pid}").status_code == 404
    client.__exit__(None, None, None)
    profiles, contacts = stack.events(TOPIC_PROFILES), stack.events(TOPIC_CONTACTS)
    assert [e.type for e in profiles] == ["profile.upserted", "profile.upserted", "profile.deleted"]
    assert [e.type for e in contacts] == ["contact.upserted", "contact.upserted", "contact.deleted"]
    # hired: no more pushes; deleted: a tombstone with ids only, no phone
    assert [e.payload.model_dump().get("active") for e in contacts] == [True, False, None]
    assert set(contacts[-1].payload.model_dump()) == {"profile_id", "version"}
    for e in profiles:
        assert not {"phone", "name", "id_number"} & set(e.payload.model_dump())
    # then the compacted topics' tombstones: the broker may forget every record of this seeker
    for topic in (TOPIC_PROFILES, TOPIC_CONTACTS):
        last = stack.bus.records(topic)[-1]
        assert (last.key, last.value) == (pid, None)


def test_list_is_newest_first_bounded_and_paged(client: TestClient) -> None:
    ids = [client.post("/v1/postings", json={**POSTING, "title": f"岗位{i}"}).json()["id"] for i in range(3)]
    page = client.get("/v1/postings?limit=2").json()
    assert [i["id"] for i in page["items"]] == ids[::-1][:2] and page["total"] == 3
    assert [i["id"] for i in client.get("/v1/postings?limit=2&offset=2").json()["items"]] == ids[:1]
    assert client.get("/v1/postings?limit=1000").status_code == 422
    assert client.get("/v1/postings?status=bogus").status_code == 422


def test_keyset_pages_walk_every_live_record_once_in_id_order(client: TestClient) -> None:
    ids = [client.post("/v1/postings", json={**POSTING, "title": f"岗位{i}"}).json()["id"] for i in range(5)]
    client.delete(f"/v1/postings/{ids[2]}")
    seen, cursor, pages = [], "", 0
    while cursor is not None:
        page = client.get("/v1/postings", params={"limit": 2, "after": cursor}).json()
        assert page["total"] is None  # a keyset page does not count the collection
        seen += [i["id"] for i in page["items"]]
        cursor, pages = page["next"], pages + 1
    assert seen == sorted(set(ids) - {ids[2]}) and pages == 2
    first = client.get("/v1/postings", params={"after": "", "offset": 2, "limit": 2}).json()
    assert [i["id"] for i in first["items"]] == seen[:2]  # a keyset page ignores offset
    assert client.get("/v1/postings", params={"after": "x' or 1"}).status_code == 422


def test_writes_succeed_while_bus_is_down_and_publish_when_back(client: TestClient, stack: Stack) -> None:
    publisher = stack.app.state.publisher
    assert isinstance(publisher, MemoryPublisher)
    publisher.available = False
    assert client.post("/v1/postings", json=POSTING).status_code == 201
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/outbox").json()["pending_documents"] == 1
    assert stack.events(TOPIC_POSTINGS) == []
    publisher.available = True
    client.__exit__(None, None, None)
    events = stack.events(TOPIC_POSTINGS)
    assert len(events) == 1 and events[0].type == "posting.upserted"


def test_import_endpoint_reports_rows_and_stores_like_post(client: TestClient, stack: Stack) -> None:
    csv = (
        "姓名,手机号,出生年份,户籍区县代码,重点群体\n"
        "王小梅,13912345678,1990,422801,脱贫人口\n"
        "李强,123,1985,422801,\n"
    )
    r = client.post("/v1/imports/profiles", files={"file": ("名单.csv", csv.encode("gbk"), "text/csv")})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["total"], report["created"], report["rejected"]) == (2, 1, 1)
    assert report["rows"][1]["errors"][0]["column"] == "手机号"
    assert client.get(f"/v1/profiles/{report['rows'][0]['id']}").json()["groups"] == ["poverty_alleviated"]
    again = client.post("/v1/imports/profiles", files={"file": ("x.bin", csv.encode("utf-8"))}).json()
    assert (again["created"], again["updated"]) == (0, 1)
    client.__exit__(None, None, None)
    assert len(stack.events(TOPIC_CONTACTS)) == 1  # the identical re-import wrote nothing


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", 422),
        ("姓名,手机号\n张三,13912345678\n".encode(), 422),
        (b"x" * 5000, 413),
        ("姓名,手机号,出生年份,户籍区县代码\n" + "张三,13912345678,1990,422801\n" * 21, 413),
    ],
)
def test_import_refuses_whole_files_with_a_message(
    client: TestClient, content: bytes | str, code: int
) -> None:
    data = content.encode() if isinstance(content, str) else content
    r = client.post("/v1/imports/profiles", files={"file": ("a.csv", data)})
    assert r.status_code == code
    assert r.json()["detail"][0]["msg"]


def test_templates_download(client: TestClient) -> None:
    for kind in ("profiles", "postings"):
        r = client.get(f"/v1/imports/{kind}/template")
        assert r.status_code == 200 and r.content.startswith(b"PK")
        assert "spreadsheetml" in r.headers["content-type"]
    assert client.get("/v1/imports/people/template").status_code == 422


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for p in (
        "/v1/postings",
        "/v1/postings/{id}/close",
        "/v1/profiles/{id}/status",
        "/v1/imports/{kind}",
        "/v1/outbox",
        "/readyz",
    ):
        assert p in paths
