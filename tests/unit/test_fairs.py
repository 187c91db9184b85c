"""Recruitment events: who match invites (reach and fit), one invitation per seeker however often
the fair is edited, what notify makes of an invitation, and campaign's fair routes and figures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.campaign.app import create_app as campaign_app
from services.campaign.settings import CampaignSettings
from services.match.engine import MatchEngine
from services.match.fairs import FairInviter, invitees
from services.notify import documents as d
from services.notify.consumer import NotifyHandler
from services.notify.inbound import latest_open
from services.notify.invitations import InvitationInbox, render_invitation
from services.notify.replies import mark_viewed
from shared.auth import KeyRing, Role, headers
from shared.bus.memory import MemoryBus
from shared.events import (
    TOPIC_CONTACTS,
    TOPIC_RECRUITMENT,
    FairAnnounced,
    FairInvitation,
    FairInvited,
    FairUpdated,
    FairView,
    PostingUpserted,
    parse,
)
from shared.store.memory import MemoryStore
from tests.unit.notify_fakes import FakeClock, contact_event, match_event
from tests.unit.test_match_engine import POLICY, YEAR, _post, _seeker
from tests.unit.test_notify_api import Service, service  # noqa: F401  (service: the fixture)

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
TZ = ZoneInfo("Asia/Shanghai")
WELDING = {"min_age": 18, "max_age": 60, "certificates": ["焊工证"]}


def _fair(**over: object) -> FairView:
    data: dict[str, object] = {
        "id": "f1",
        "version": 1,
        "status": "announced",
        "kind": "job_fair",
        "title": "恩施市春风行动招聘会",
        "starts_at": T0 + timedelta(days=3),
        "adcode": "422801",
        "address": "恩施市民族广场",
        "reach_km": 45,
        "posting_ids": ["p000001", "p000002"],
        "enterprises": ["企业1", "企业2"],
    }
    data.update(over)
    return FairView.model_validate(data)


def _engine() -> MatchEngine:
    """Two postings in 恩施市 (422801) and seekers placed so that reach and fit decide.

    Distances from 恩施市: 建始县 41 km, 利川市 52 km, 瑞昌市 601 km.
    """
    engine = MatchEngine(POLICY, year=YEAR)
    engine.apply_posting(_post(1))  # 普工, day shift
    engine.apply_posting(_post(2, requirements=WELDING, skills=["焊接"], title="电焊工"))
    engine.apply_posting(_post(3))  # not at the fair
    seekers = [
        _seeker(1),  # 恩施市, fits p1
        _seeker(2, availability="weekdays_only"),  # a day shift is not allowed: fits nothing
        _seeker(3, home={"adcode": "422822"}),  # 建始县, 41 km: within 45
        _seeker(4, home={"adcode": "422802"}, max_commute_km=80),  # 利川市, 52 km: beyond 45
        _seeker(5, certificates=["焊工证"], skills=["焊接", "普工"]),  # fits both
        _seeker(6, status="hired"),
        _seeker(7, home={"adcode": "360481"}, out_of_province=True),  # 瑞昌: fits, far beyond reach
    ]
    for s in seekers:
        engine.apply_profile(s)
    return engine


def test_invitees_are_the_seekers_within_reach_whom_a_posting_of_the_fair_fits() -> None:
    engine = _engine()
    assert invitees(engine, _fair()) == {
        "s000001": ["p000001"],
        "s000003": ["p000001"],
        "s000005": ["p000001", "p000002"],
    }
    assert invitees(engine, _fair(reach_km=60))["s000004"] == ["p000001"]
    assert invitees(engine, _fair(posting_ids=["p000009"])) == {}  # unknown to match: nobody


async def test_an_edited_fair_invites_each_seeker_once_and_a_begun_one_nobody() -> None:
    engine, bus = _engine(), MemoryBus()
    inviter = FairInviter(engine, bus.publisher("match"))
    await inviter.handle(FairAnnounced(key="f1", payload=_fair(), occurred_at=T0))
    await inviter.handle(FairUpdated(key="f1", payload=_fair(version=2, reach_km=60), occurred_at=T0))
    await inviter.handle(FairUpdated(key="f1", payload=_fair(version=3), occurred_at=T0 + timedelta(days=4)))
    invited = [parse(TOPIC_RECRUITMENT, r.value) for r in bus.records(TOPIC_RECRUITMENT)]
    assert all(isinstance(e, FairInvited) for e in invited)
    by_seeker: dict[str, set[str]] = {}
    for e in invited:
        by_seeker.setdefault(e.key, set()).add(e.event_id)
    # the edit reached 利川 too; every seeker's invitations share one id: one in effect
    assert sorted(by_seeker) == ["s000001", "s000003", "s000004", "s000005"]
    assert all(len(ids) == 1 for ids in by_seeker.values())


async def test_notify_keeps_one_inbox_item_and_one_push_per_invitation() -> None:
    store, clock = MemoryStore(), FakeClock(T0)
    handler = NotifyHandler(store, push_channels=["sms"], clock=clock)
    inbox = InvitationInbox(handler, TZ)
    await handler.handle(contact_event(profile_id="s000005", channels=["inbox", "sms"]))
    engine, bus = _engine(), MemoryBus()
    inviter = FairInviter(engine, bus.publisher("match"))
    await inviter.handle(FairAnnounced(key="f1", payload=_fair(), occurred_at=T0))
    await inviter.handle(
        FairUpdated(key="f1", payload=_fair(version=2, title="改期后的招聘会"), occurred_at=T0)
    )
    for record in bus.records(TOPIC_RECRUITMENT):
        event = parse(TOPIC_RECRUITMENT, record.value)
        if event.key == "s000005":
            await inbox.handle(event)
    recs = await store.collection(d.RECOMMENDATIONS).find({"profile_id": "s000005"})
    assert [(r["_id"], r["kind"], r["posting"]["title"]) for r in recs] == [
        ("s000005:fair:f1", "invitation", "改期后的招聘会")
    ]
    assert [x["_id"] for x in await store.collection(d.DELIVERIES).find({})] == ["s000005:fair:f1:sms"]
    text = render_invitation("张**", recs[0], max_chars=120)
    assert text.startswith("【春风就业】张**您好，邀请您参加改期后的招聘会：3月13日 10:00")
    assert "适合您的岗位：流水线普工（企业1）、电焊工（企业2）" in text


CODE = "91422800MA4F3L2K8R"


@pytest.fixture
async def campaign() -> AsyncIterator[tuple[httpx.AsyncClient, MemoryBus, dict[str, str]]]:
    bus, ring = MemoryBus(), KeyRing()
    keys = {
        "enshi": ring.issue("official-enshi", Role.official, ["4228"]),
        "jiujiang": ring.issue("official-jiujiang", Role.official, ["3604"]),
        "seeker": ring.issue("seeker-5", Role.seeker, ["s000005"]),
    }
    app = campaign_app(
        CampaignSettings(outbox_interval_s=0.05),
        bus=bus,
        store=MemoryStore(),
        clock=FakeClock(T0),
        keyring=ring,
    )
    async with app.router.lifespan_context(app):
        pub = bus.publisher("t")
        for i in (1, 2):
            view = _post(i, employer={"name": f"企业{i}", "credit_code": CODE}, headcount=10, filled=i)
            await pub.publish_many(
                [(PostingUpserted.topic, view.id, PostingUpserted(key=view.id, payload=view).to_bytes())]
            )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://campaign") as http:
            for _ in range(300):  # campaign has read both postings
                if len(await app.state.store.collection("postings").find({})) == 2:
                    break
                await asyncio.sleep(0.01)
            yield http, bus, keys


FAIR_IN = {
    "kind": "job_fair",
    "title": "恩施市春风行动招聘会",
    "starts_at": "2026-03-13T09:00:00+08:00",
    "location": {"adcode": "422801", "address": "恩施市民族广场"},
    "reach_km": 45,
    "capacity": 2,
    "posting_ids": ["p000001", "p000002"],
}


async def test_officials_announce_edit_and_record_a_fair_and_its_figures_add_up(
    campaign: tuple[httpx.AsyncClient, MemoryBus, dict[str, str]],
) -> None:
    http, bus, keys = campaign
    enshi, seeker = headers(keys["enshi"]), headers(keys["seeker"])
    assert (await http.post("/v1/fairs", json=FAIR_IN, headers=headers(keys["jiujiang"]))).status_code == 403
    bad = await http.post("/v1/fairs", json={**FAIR_IN, "posting_ids": ["p404"]}, headers=enshi)
    assert bad.status_code == 422 and "p404" in bad.text
    online = await http.post("/v1/fairs", json={**FAIR_IN, "kind": "livestream"}, headers=enshi)
    assert online.status_code == 422  # a live stream needs its link

    r = await http.post("/v1/fairs", json=FAIR_IN, headers=enshi)
    assert r.status_code == 201, r.text
    fair = r.json()
    assert fair["enterprises"] == ["企业1", "企业2"] and fair["version"] == 1
    edited = await http.put(f"/v1/fairs/{fair['id']}", json={**FAIR_IN, "reach_km": 60}, headers=enshi)
    assert edited.json()["version"] == 2

    fid = fair["id"]
    for _ in range(300):
        events = [parse(TOPIC_RECRUITMENT, x.value) for x in bus.records(TOPIC_RECRUITMENT)]
        if len(events) == 2:
            break
        await asyncio.sleep(0.01)
    assert [(e.type, e.payload.version) for e in events] == [("fair.announced", 1), ("fair.updated", 2)]

    # match's invitations are counted once each
    pub = bus.publisher("match")
    invitation = FairInvited(
        key="s000005",
        payload={  # type: ignore[arg-type]
            "fair_id": fid,
            "profile_id": "s000005",
            "posting_ids": ["p000001"],
            "title": "t",
            "kind": "job_fair",
            "starts_at": T0,
        },
    )
    for _ in range(2):
        await pub.publish_many([(FairInvited.topic, "s000005", invitation.to_bytes())])

    own = await http.post(
        f"/v1/fairs/{fid}/registrations", json={"profile_id": "s000005", "via": "link"}, headers=seeker
    )
    assert own.status_code == 200 and own.json()["accepted"] is True
    other = await http.post(f"/v1/fairs/{fid}/registrations", json={"profile_id": "s000001"}, headers=seeker)
    assert other.status_code == 403
    assert (
        await http.post(f"/v1/fairs/{fid}/registrations", json={"profile_id": "s000001"}, headers=enshi)
    ).json()["accepted"]
    full = await http.post(f"/v1/fairs/{fid}/registrations", json={"profile_id": "s000003"}, headers=enshi)
    assert full.status_code == 409  # capacity 2
    again = await http.post(f"/v1/fairs/{fid}/registrations", json={"profile_id": "s000005"}, headers=enshi)
    assert again.status_code == 409  # full: even a repeat is refused before it is looked up
    for who in ("s000005", "s000001", "s000003"):
        assert (
            await http.post(f"/v1/fairs/{fid}/visits", json={"profile_id": who}, headers=enshi)
        ).status_code == 200
    pair = {"profile_id": "s000005", "posting_id": "p000002"}
    assert (await http.post(f"/v1/fairs/{fid}/intentions", json=pair, headers=enshi)).json()["accepted"]
    assert not (await http.post(f"/v1/fairs/{fid}/intentions", json=pair, headers=enshi)).json()["accepted"]
    stray = {"profile_id": "s000005", "posting_id": "p000003"}
    assert (await http.post(f"/v1/fairs/{fid}/intentions", json=stray, headers=enshi)).status_code == 409
    assert (await http.post(f"/v1/fairs/{fid}/hires", json=pair, headers=enshi)).status_code == 200

    for _ in range(300):
        figures = (await http.get(f"/v1/fairs/{fid}/figures", headers=enshi)).json()
        if figures["invited"] == 1:
            break
        await asyncio.sleep(0.01)
    assert figures == {
        "fair_id": fid,
        "enterprises": 2,
        "positions": 9 + 8,  # headcount 10, filled 1 and 2
        "invited": 1,
        "registered": 2,
        "visitors": 3,
        "intentions": 1,
        "hires": 1,
    }
    assert (await http.get(f"/v1/fairs/{fid}/figures", headers=headers(keys["jiujiang"]))).status_code == 403
    cancelled = await http.post(f"/v1/fairs/{fid}/cancel", headers=enshi)
    assert cancelled.json()["status"] == "cancelled"
    assert (
        await http.post(f"/v1/fairs/{fid}/visits", json={"profile_id": "x"}, headers=enshi)
    ).status_code == 409


async def test_an_invitation_is_pushed_with_its_own_text_and_cannot_be_replied_to(
    service: Service,  # noqa: F811
) -> None:
    await service.publish(TOPIC_CONTACTS, contact_event(profile_id="s000005", channels=["inbox", "sms"]))
    invitation = FairInvited(
        key="s000005",
        payload=FairInvitation(
            fair_id="f1",
            profile_id="s000005",
            posting_ids=["p000001"],
            postings=["流水线普工（企业1）"],
            title="恩施市春风行动招聘会",
            kind="job_fair",
            starts_at=T0 + timedelta(days=3),
            place="恩施市",
            address="民族广场",
        ),
    )
    await service.publish(TOPIC_RECRUITMENT, invitation)
    inbox = await service.until("/v1/inbox/s000005", lambda b: b["items"])
    assert [i["posting_id"] for i in inbox["items"]] == ["fair:f1"]
    for _ in range(200):
        if service.sms.sent:
            break
        await asyncio.sleep(0.01)
    (sent,) = service.sms.sent
    assert sent.text.startswith(
        "【春风就业】张**您好，邀请您参加恩施市春风行动招聘会：3月13日 10:00 · 恩施市 · 民族广场"
    )
    r = await service.http.post("/v1/inbox/s000005/fair:f1/reply", json={"interested": True})
    assert r.status_code == 409 and "报名" in r.json()["detail"]


async def test_an_invitation_is_no_funnel_pair_neither_viewed_nor_answered_by_sms_keyword() -> None:
    store, clock = MemoryStore(), FakeClock(T0)
    handler = NotifyHandler(store, push_channels=["sms"], clock=clock)
    await handler.handle(contact_event(profile_id="s000005", channels=["inbox", "sms"]))
    await handler.handle(match_event(profile_id="s000005", posting_id="p000001"))
    clock.advance(seconds=60)  # the invitation is the newer item
    await InvitationInbox(handler, TZ).handle(
        FairInvited(
            key="s000005",
            payload=FairInvitation(
                fair_id="f1",
                profile_id="s000005",
                posting_ids=["p000001"],
                title="招聘会",
                kind="job_fair",
                starts_at=T0 + timedelta(days=3),
            ),
        )
    )
    items = await store.collection(d.RECOMMENDATIONS).find({"profile_id": "s000005"})
    assert {i["_id"] for i in items} == {"s000005:p000001", "s000005:fair:f1"}
    assert await mark_viewed(store, items, T0) == 1  # the recommendation only
    invitation = await store.collection(d.RECOMMENDATIONS).get("s000005:fair:f1")
    assert invitation is not None and invitation.get("viewed_at") is None
    # an SMS keyword answers the newest recommendation, never the invitation
    latest = await latest_open(store, "13912345678")
    assert latest is not None and latest["_id"] == "s000005:p000001"
