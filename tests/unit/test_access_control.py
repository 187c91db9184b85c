"""Access control: every cross-scope attempt gets 401/403/404 and no data; the allowed ones work.

The three services run in-process on one memory bus (ingest's relay feeds match, match feeds
notify), sharing one key ring with an admin, two officials of different prefectures, two
employers and two seekers.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from services.campaign.app import create_app as campaign_app
from services.campaign.settings import CampaignSettings
from services.ingest.app import create_app as ingest_app
from services.ingest.settings import IngestSettings
from services.match.app import create_app as match_app
from services.match.settings import MatchSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.audit import AuditLog
from shared.auth import KeyRing, Principal, Role, declared_roles, hash_key, headers, spec_json
from shared.bus.memory import MemoryBus
from shared.store.memory import MemoryStore
from shared.topics import topic_specs
from shared.views import display_name
from tests.unit.notify_fakes import FakeChannel

EXAMPLES = Path("/work/shared/examples")
POSTING = json.loads((EXAMPLES / "posting.json").read_text(encoding="utf-8"))
PROFILE = json.loads((EXAMPLES / "profile.json").read_text(encoding="utf-8"))  # home 422828 (恩施州)

CODE_A = "91422800MA4F3L2K8R"
CODE_B = "91360400MA35X7WQ3B"
PHONES = ("13912345678", "13987654321")
OPEN = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# The dashboard's login page takes the key itself; logging out needs no key.
OPEN_PAGES = {"/login", "/logout"}


def _routes(routes: Any) -> Any:
    """Every route, also inside included routers (FastAPI ≥ 0.16x wraps each in an _IncludedRouter)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def keyring() -> tuple[KeyRing, dict[str, str]]:
    ring = KeyRing()
    keys = {
        "admin": ring.issue("admin", Role.admin),
        "enshi": ring.issue("official-enshi", Role.official, ["4228"]),
        "jiujiang": ring.issue("official-jiujiang", Role.official, ["3604"]),
        "employer_a": ring.issue("employer-a", Role.employer, [CODE_A]),
        "employer_b": ring.issue("employer-b", Role.employer, [CODE_B]),
    }
    return ring, keys


def posting(code: str | None = CODE_A, adcode: str = "422801") -> dict[str, Any]:
    body = copy.deepcopy(POSTING)
    body["location"]["adcode"] = adcode
    if code:
        body["employer"]["credit_code"] = code
    return body


def profile(phone: str = PHONES[0], adcode: str = "422828") -> dict[str, Any]:
    return copy.deepcopy(PROFILE) | {"phone": phone, "home": {"adcode": adcode}}


# --- the mechanism -----------------------------------------------------------------------------


def test_configured_keys_are_hashes_and_malformed_ones_stop_the_start(tmp_path: Path) -> None:
    raw = spec_json([("o1", Role.official, "secret-1", ["4228"]), ("a1", Role.admin, "secret-2", [])])
    assert "secret-1" not in raw and hash_key("secret-1") in raw
    ring = KeyRing.from_config(raw)
    principal = ring.authenticate("secret-1")
    assert principal is not None and principal.id == "o1" and principal.covers_area("422801")
    assert not principal.covers_area("360481") and ring.authenticate("secret-3") is None
    path = tmp_path / "keys.json"
    path.write_text(raw, encoding="utf-8")
    assert len(KeyRing.from_config(str(path))) == 2
    assert len(KeyRing.from_config(None)) == 0  # closed by default: no key opens anything
    for bad in (
        "[{",
        '[{"id": "x", "role": "official", "key_sha256": "' + "a" * 64 + '", "scope": []}]',
        '[{"id": "x", "role": "employer", "key_sha256": "' + "a" * 64 + '", "scope": ["nope"]}]',
        '[{"id": "x", "role": "admin", "key_sha256": "plain-key"}]',
        str(tmp_path / "missing.json"),
    ):
        with pytest.raises(ValueError):
            KeyRing.from_config(bad)


def _apps() -> list[FastAPI]:
    ring, _ = keyring()
    bus = MemoryBus()
    return [
        ingest_app(IngestSettings(), bus=bus, store=MemoryStore(), keyring=ring),
        match_app(MatchSettings(), bus=bus, store=MemoryStore(), keyring=ring),
        notify_app(NotifySettings(), bus=bus, store=MemoryStore(), channels={}, keyring=ring),
        campaign_app(CampaignSettings(), bus=bus, store=MemoryStore(), keyring=ring),
    ]


def _declared(route: APIRoute) -> frozenset[Role] | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        roles = declared_roles(dep.call)
        if roles is not None:
            return roles
        stack.extend(dep.dependencies)
    return None


def test_every_route_of_every_service_declares_who_may_call_it() -> None:
    for app in _apps():
        walked = list(_routes(app.routes))
        assert sum(isinstance(r, APIRoute) for r in walked) > 3, f"{app.title}: the walk found no routes"
        for route in walked:
            if not isinstance(route, APIRoute) or route.path in OPEN | OPEN_PAGES:
                continue
            roles = _declared(route)
            assert roles is not None and Role.admin in roles, f"{app.title} {route.path} declares no callers"


def test_openapi_documents_the_scheme_and_the_401_403_answers() -> None:
    for app in _apps():
        spec = app.openapi()
        assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
        for path, ops in spec["paths"].items():
            if path in OPEN:
                continue
            for op in ops.values():
                assert {"401", "403"} <= set(op["responses"]), (app.title, path)
                assert op["security"] == [{"apiKey": []}]


# --- ingest --------------------------------------------------------------------------------------


@dataclass
class Ingest:
    client: TestClient
    store: MemoryStore
    ring: KeyRing
    keys: dict[str, str]

    def as_(self, who: str | None) -> dict[str, str]:
        return dict(headers(self.keys[who])) if who else {}


@pytest.fixture
def ingest() -> Iterator[Ingest]:
    ring, keys = keyring()
    store = MemoryStore()
    app = ingest_app(IngestSettings(), bus=MemoryBus(), store=store, keyring=ring)
    with TestClient(app) as client:
        yield Ingest(client, store, ring, keys)


def _no_personal_data(r: httpx.Response) -> None:
    assert PHONES[0] not in r.text and PHONES[1] not in r.text and PROFILE["name"] not in r.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/postings"),
        ("POST", "/v1/postings"),
        ("GET", "/v1/postings/x"),
        ("PUT", "/v1/postings/x"),
        ("POST", "/v1/postings/x/close"),
        ("DELETE", "/v1/postings/x"),
        ("GET", "/v1/profiles"),
        ("POST", "/v1/profiles"),
        ("GET", "/v1/profiles/x"),
        ("PUT", "/v1/profiles/x"),
        ("POST", "/v1/profiles/x/status"),
        ("DELETE", "/v1/profiles/x"),
        ("GET", "/v1/imports/profiles/template"),
        ("POST", "/v1/imports/profiles"),
        ("GET", "/v1/outbox"),
    ],
)
def test_ingest_anonymous_and_unknown_keys_get_401_with_a_challenge(
    ingest: Ingest, method: str, path: str
) -> None:
    r = ingest.client.request(method, path)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = ingest.client.request(method, path, headers={"Authorization": "Bearer cf_not-a-key"})
    assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]
    r = ingest.client.request(method, path, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert r.status_code == 401


def test_anonymous_list_of_seekers_is_refused_while_health_stays_open(ingest: Ingest) -> None:
    ingest.client.post("/v1/profiles", json=profile(), headers=ingest.as_("admin"))
    r = ingest.client.get("/v1/profiles")
    assert r.status_code == 401
    _no_personal_data(r)
    assert ingest.client.get("/healthz").status_code == 200
    assert ingest.client.get("/readyz").status_code == 200


def test_officials_see_and_edit_only_their_counties_seekers(ingest: Ingest) -> None:
    c, enshi, jiujiang = ingest.client, ingest.as_("enshi"), ingest.as_("jiujiang")
    r = c.post("/v1/profiles", json=profile(), headers=enshi)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    # Registering a seeker of another county, or moving one there: refused.
    assert c.post("/v1/profiles", json=profile(PHONES[1]), headers=jiujiang).status_code == 403
    assert c.put(f"/v1/profiles/{pid}", json=profile(adcode="360481"), headers=enshi).status_code == 403
    other = c.post("/v1/profiles", json=profile(PHONES[1], "360481"), headers=jiujiang).json()["id"]
    # Each official's list holds its own seekers only.
    assert [i["id"] for i in c.get("/v1/profiles", headers=enshi).json()["items"]] == [pid]
    assert [i["id"] for i in c.get("/v1/profiles", headers=jiujiang).json()["items"]] == [other]
    assert c.get("/v1/profiles", headers=ingest.as_("admin")).json()["total"] == 2
    # Another county's seeker does not exist for them: 404, never data.
    for method, path, body in (
        ("GET", f"/v1/profiles/{pid}", None),
        ("PUT", f"/v1/profiles/{pid}", profile(adcode="360481")),
        ("POST", f"/v1/profiles/{pid}/status", {"status": "hired"}),
        ("DELETE", f"/v1/profiles/{pid}", None),
    ):
        r = c.request(method, path, json=body, headers=jiujiang)
        assert r.status_code == 404, (method, path, r.text)
        _no_personal_data(r)
    r = c.get(f"/v1/profiles/{pid}", headers=enshi)
    assert r.status_code == 200 and r.json()["phone"] == PHONES[0]
    assert c.post(f"/v1/profiles/{pid}/status", json={"status": "hired"}, headers=enshi).status_code == 200


def test_seekers_read_and_update_their_own_profile_only(ingest: Ingest) -> None:
    c, admin = ingest.client, ingest.as_("admin")
    mine = c.post("/v1/profiles", json=profile(), headers=admin).json()["id"]
    theirs = c.post("/v1/profiles", json=profile(PHONES[1]), headers=admin).json()["id"]
    me = dict(headers(ingest.ring.issue("seeker-1", Role.seeker, [mine])))
    assert c.get(f"/v1/profiles/{mine}", headers=me).json()["phone"] == PHONES[0]
    assert (
        c.put(f"/v1/profiles/{mine}", json=profile() | {"desired_wage": 4500}, headers=me).status_code == 200
    )
    for method, path, body in (
        ("GET", f"/v1/profiles/{theirs}", None),
        ("PUT", f"/v1/profiles/{theirs}", profile(PHONES[1])),
    ):
        r = c.request(method, path, json=body, headers=me)
        assert r.status_code == 404
        _no_personal_data(r)
    for method, path, body in (
        ("GET", "/v1/profiles", None),
        ("POST", "/v1/profiles", profile("13700000000")),
        ("POST", f"/v1/profiles/{mine}/status", {"status": "paused"}),
        ("DELETE", f"/v1/profiles/{theirs}", None),
        ("POST", "/v1/postings", posting()),
        ("GET", "/v1/outbox", None),
    ):
        r = c.request(method, path, json=body, headers=me)
        assert r.status_code == 403, (method, path)
        _no_personal_data(r)
    # postings are public job ads: a seeker may read them
    pst = c.post("/v1/postings", json=posting(), headers=admin).json()["id"]
    assert c.get(f"/v1/postings/{pst}", headers=me).status_code == 200


def test_employers_file_and_edit_only_their_own_postings_and_never_see_seekers(ingest: Ingest) -> None:
    c, a, b = ingest.client, ingest.as_("employer_a"), ingest.as_("employer_b")
    r = c.post("/v1/postings", json=posting(code=None), headers=a)
    assert r.status_code == 201 and r.json()["employer"]["credit_code"] == CODE_A  # stamped
    pst = r.json()["id"]
    assert c.post("/v1/postings", json=posting(code=CODE_B), headers=a).status_code == 403
    assert c.post("/v1/postings", json=posting(code=CODE_B, adcode="360481"), headers=b).status_code == 201
    assert [i["id"] for i in c.get("/v1/postings", headers=a).json()["items"]] == [pst]
    assert c.get("/v1/postings", headers=b).json()["total"] == 1
    for method, path, body in (
        ("GET", f"/v1/postings/{pst}", None),
        ("PUT", f"/v1/postings/{pst}", posting(code=None)),
        ("POST", f"/v1/postings/{pst}/close", None),
        ("DELETE", f"/v1/postings/{pst}", None),
    ):
        assert c.request(method, path, json=body, headers=b).status_code == 403, (method, path)
    assert (
        c.put(f"/v1/postings/{pst}", json=posting(code=None) | {"headcount": 9}, headers=a).json()[
            "headcount"
        ]
        == 9
    )
    assert c.post(f"/v1/postings/{pst}/close", headers=a).json()["status"] == "closed"
    # seekers' data is no employer's business
    pid = c.post("/v1/profiles", json=profile(), headers=ingest.as_("admin")).json()["id"]
    for method, path in (
        ("GET", "/v1/profiles"),
        ("GET", f"/v1/profiles/{pid}"),
        ("POST", "/v1/imports/profiles"),
    ):
        r = c.request(method, path, headers=a, files={"file": ("a.csv", b"x")} if "imports" in path else None)
        assert r.status_code == 403
        _no_personal_data(r)
    # officials see the postings of their counties only
    assert c.get(f"/v1/postings/{pst}", headers=ingest.as_("jiujiang")).status_code == 403
    assert c.get(f"/v1/postings/{pst}", headers=ingest.as_("enshi")).status_code == 200
    assert c.get("/v1/postings", headers=ingest.as_("jiujiang")).json()["total"] == 1


def test_imports_store_only_rows_within_the_callers_scope(ingest: Ingest) -> None:
    c = ingest.client
    registered = c.post("/v1/profiles", json=profile(PHONES[0]), headers=ingest.as_("enshi")).json()["id"]
    csv = (
        "姓名,手机号,出生年份,户籍区县代码\n"
        f"柯瑞丰,{PHONES[1]},1985,360481\n"  # 瑞昌: Jiujiang's
        "邓小玲,13700001111,1990,422828\n"  # 恩施州: not Jiujiang's
        f"改名者,{PHONES[0]},1990,360481\n"  # Enshi's registered seeker, "moved" by a sheet
    )
    r = c.post(
        "/v1/imports/profiles", files={"file": ("名单.csv", csv.encode())}, headers=ingest.as_("jiujiang")
    )
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [x["status"] for x in rows] == ["created", "rejected", "rejected"]
    assert "id" not in rows[2] and registered not in r.text  # the other county's seeker is not named
    assert (
        c.get(f"/v1/profiles/{registered}", headers=ingest.as_("admin")).json()["home"]["adcode"] == "422828"
    )
    sheet = "employer.name,employer.credit_code,title,headcount,wage.min,wage.max,location.adcode\n"
    sheet += f"乙公司,{CODE_A},普工,5,3000,4000,360481\n乙公司,,电工,2,4000,5000,360481\n"
    r = c.post(
        "/v1/imports/postings", files={"file": ("岗位.csv", sheet.encode())}, headers=ingest.as_("employer_b")
    )
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["rows"]] == ["rejected", "created"]
    assert c.get("/v1/postings", headers=ingest.as_("employer_b")).json()["items"][0]["title"] == "电工"


def test_reads_and_changes_of_personal_data_are_audited_without_the_data(ingest: Ingest) -> None:
    c, enshi = ingest.client, ingest.as_("enshi")
    pid = c.post("/v1/profiles", json=profile() | {"id_number": None}, headers=enshi).json()["id"]
    c.get(f"/v1/profiles/{pid}", headers=enshi)
    c.get("/v1/profiles", headers=enshi)
    c.get(f"/v1/profiles/{pid}", headers=ingest.as_("jiujiang"))  # refused: nothing read, nothing logged
    trail = asyncio.run(ingest.store.collection("audit").find({}, sort=[("at", 1)]))
    assert [(e["principal"], e["role"], e["action"], e["profile_ids"]) for e in trail] == [
        ("official-enshi", "official", "profile.create", [pid]),
        ("official-enshi", "official", "profile.read", [pid]),
        ("official-enshi", "official", "profile.list", [pid]),
    ]
    assert all(e["at"].endswith("Z") and e["service"] == "ingest" for e in trail)
    assert PHONES[0] not in json.dumps(trail, ensure_ascii=False)


# --- match and notify, fed by ingest -------------------------------------------------------------


@dataclass
class Pipeline:
    apps: dict[str, FastAPI]
    ring: KeyRing
    keys: dict[str, str]
    stores: dict[str, MemoryStore]
    posting: str = ""
    seekers: list[str] = field(default_factory=list)

    def client(self, service: str, who: str | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.apps[service])
        auth = dict(headers(self.keys[who])) if who else {}
        return httpx.AsyncClient(transport=transport, base_url=f"http://{service}", headers=auth)

    async def get(self, service: str, who: str | None, path: str, **params: Any) -> httpx.Response:
        async with self.client(service, who) as c:
            return await c.get(path, params=params)

    async def post(self, service: str, who: str | None, path: str, body: Any) -> httpx.Response:
        async with self.client(service, who) as c:
            return await c.post(path, json=body)


async def _until(predicate: Any) -> None:
    for _ in range(300):
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the pipeline did not get there")


@pytest.fixture
async def pipeline() -> AsyncIterator[Pipeline]:
    ring, keys = keyring()
    bus = MemoryBus()
    await bus.ensure_topics(topic_specs(3))
    stores = {name: MemoryStore() for name in ("ingest", "match", "notify")}
    apps = {
        "ingest": ingest_app(IngestSettings(), bus=bus, store=stores["ingest"], keyring=ring),
        "match": match_app(MatchSettings(), bus=bus, store=stores["match"], keyring=ring),
        "notify": notify_app(
            NotifySettings(worker_interval_s=0.05),
            bus=bus,
            store=stores["notify"],
            channels={"sms": FakeChannel("sms")},
            keyring=ring,
        ),
    }
    async with AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        p = Pipeline(apps, ring, keys, stores)
        r = await p.post("ingest", "admin", "/v1/postings", posting())
        p.posting = r.json()["id"]
        for phone in PHONES:
            r = await p.post("ingest", "admin", "/v1/profiles", profile(phone))
            p.seekers.append(r.json()["id"])
        for i, pid in enumerate(p.seekers):
            keys[f"seeker{i}"] = ring.issue(f"seeker-{i}", Role.seeker, [pid])

        async def delivered() -> bool:
            for pid in p.seekers:
                r = await p.get("notify", "admin", f"/v1/inbox/{pid}")
                if not r.json()["items"]:
                    return False
            return True

        await _until(delivered)
        yield p


async def test_match_lists_answer_only_their_seeker_official_and_employer(pipeline: Pipeline) -> None:
    p = pipeline
    mine, theirs = p.seekers
    assert (await p.get("match", None, "/v1/matches", profile_id=mine)).status_code == 401
    r = await p.get("match", "seeker0", "/v1/matches", profile_id=mine)
    assert r.status_code == 200 and r.json()[0]["posting_id"] == p.posting
    for who, params, code in (
        ("seeker0", {"profile_id": theirs}, 404),
        ("seeker0", {"posting_id": p.posting}, 403),
        ("jiujiang", {"profile_id": mine}, 404),
        ("jiujiang", {"posting_id": p.posting}, 403),
        ("employer_b", {"posting_id": p.posting}, 403),
        ("employer_a", {"profile_id": mine}, 404),
        ("employer_a", {"posting_id": "no-such-posting"}, 404),
    ):
        r = await p.get("match", who, "/v1/matches", **params)
        assert r.status_code == code, (who, params, r.text)
        assert mine not in r.text and "score" not in r.text
    for who in ("enshi", "admin"):
        assert len((await p.get("match", who, "/v1/matches", posting_id=p.posting)).json()) == 2
        assert (await p.get("match", who, "/v1/matches", profile_id=theirs)).status_code == 200


async def test_an_employer_sees_pseudonymous_candidates_without_their_priority_group(
    pipeline: Pipeline,
) -> None:
    p = pipeline
    official = (await p.get("match", "enshi", "/v1/matches", posting_id=p.posting)).json()
    assert "脱贫人口" in official[0]["reason"]  # the seeker's group, known to officials
    r = await p.get("match", "employer_a", "/v1/matches", posting_id=p.posting)
    assert r.status_code == 200
    candidates = r.json()
    assert {c["profile_id"] for c in candidates} == set(p.seekers)
    assert "脱贫人口" not in r.text and PROFILE["name"] not in r.text and PHONES[0] not in r.text
    assert all(c["posting"]["employer_code"] == CODE_A for c in candidates)


async def test_inboxes_answer_only_their_seeker_and_their_county(pipeline: Pipeline) -> None:
    p = pipeline
    mine, theirs = p.seekers
    assert (await p.get("notify", None, f"/v1/inbox/{mine}")).status_code == 401
    r = await p.get("notify", "seeker0", f"/v1/inbox/{mine}")
    assert r.status_code == 200 and r.json()["items"][0]["posting_id"] == p.posting
    for who, path, params, code in (
        ("seeker0", f"/v1/inbox/{theirs}", {}, 404),
        ("jiujiang", f"/v1/inbox/{mine}", {}, 404),
        ("employer_a", f"/v1/inbox/{mine}", {}, 403),
        ("seeker0", "/v1/deliveries", {"profile_id": theirs}, 404),
        ("seeker0", "/v1/deliveries", {}, 422),
        ("jiujiang", "/v1/deliveries", {"profile_id": mine}, 404),
        ("seeker0", "/v1/candidates", {"posting_id": p.posting}, 403),
    ):
        r = await p.get("notify", who, path, **params)
        assert r.status_code == code, (who, path, r.text)
        assert p.posting not in r.text
    assert (await p.get("notify", "enshi", f"/v1/inbox/{theirs}")).status_code == 200
    assert (await p.get("notify", "seeker1", "/v1/deliveries", profile_id=theirs)).status_code == 200
    assert (await p.get("notify", "admin", "/v1/deliveries")).status_code == 200


async def test_only_the_seeker_or_their_official_may_answer_and_only_then_the_employer_may_call(
    pipeline: Pipeline,
) -> None:
    p = pipeline
    mine, theirs = p.seekers
    reply = f"/v1/inbox/{theirs}/{p.posting}/reply"
    for who, code in (("seeker0", 404), ("jiujiang", 404), ("employer_a", 403), (None, 401)):
        r = await p.post("notify", who, reply, {"interested": True})
        assert r.status_code == code, (who, r.text)
    assert (await p.get("notify", "employer_a", "/v1/candidates", posting_id=p.posting)).json() == []
    r = await p.post("notify", "seeker0", f"/v1/inbox/{mine}/{p.posting}/reply", {"interested": True})
    assert r.status_code == 200, r.text
    assert (await p.post("notify", "enshi", reply, {"interested": False})).status_code == 200
    r = await p.get("notify", "employer_a", "/v1/candidates", posting_id=p.posting)
    assert r.status_code == 200
    [candidate] = r.json()
    assert candidate["profile_id"] == mine and candidate["phone"] == PHONES[0]
    assert candidate["display_name"] == display_name(PROFILE["name"]) != PROFILE["name"]
    r = await p.get("notify", "employer_b", "/v1/candidates", posting_id=p.posting)
    assert r.status_code == 403 and PHONES[0] not in r.text
    trail = await p.stores["notify"].collection("audit").find({"action": "candidates.contact"})
    assert [(e["principal"], e["profile_ids"]) for e in trail] == [("employer-a", [mine])]


async def test_notify_and_match_audit_who_read_which_seeker(pipeline: Pipeline) -> None:
    p = pipeline
    mine = p.seekers[0]
    before = await p.stores["notify"].collection("audit").count({"principal": "official-enshi"})
    await p.get("notify", "enshi", f"/v1/inbox/{mine}")
    await p.get("notify", "jiujiang", f"/v1/inbox/{mine}")
    await p.get("match", "seeker0", "/v1/matches", profile_id=mine)
    notify_trail = await p.stores["notify"].collection("audit").find({"principal": "official-enshi"})
    assert len(notify_trail) == before + 1 and notify_trail[-1]["action"] == "inbox.read"
    assert await p.stores["notify"].collection("audit").count({"principal": "official-jiujiang"}) == 0
    [entry] = await p.stores["match"].collection("audit").find({"principal": "seeker-0"})
    assert (entry["role"], entry["action"], entry["profile_ids"]) == ("seeker", "matches.read", [mine])


async def test_repeated_reads_are_one_audit_entry_per_window_and_changes_are_never_coalesced() -> None:
    store = MemoryStore()
    audit = AuditLog(store, "test", read_window_s=60)
    official = Principal("o1", Role.official, ("4228",))
    for _ in range(5):
        await audit.record(official, "inbox.read", ["p1"], read=True)
        await audit.record(official, "profile.update", ["p1"])
    await audit.record(official, "inbox.read", ["p2"], read=True)
    await audit.record(Principal("a1", Role.admin), "inbox.read", ["p1"], read=True)
    entries = await store.collection("audit").find({})
    assert sorted((e["principal"], e["action"], e["profile_ids"][0]) for e in entries) == sorted(
        [("o1", "inbox.read", "p1"), ("o1", "inbox.read", "p2"), ("a1", "inbox.read", "p1")]
        + [("o1", "profile.update", "p1")] * 5
    )
