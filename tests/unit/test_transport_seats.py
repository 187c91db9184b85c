"""Bus plans of named seekers: seats, times, manifests, notices and the HTTP route, without servers.

Places and distances by hand: 恩施市 (422801) is the workplace; 利川市 (422802) lies about 70 km
west of it, 建始县 (422822) about 45 km north-east (great-circle, from ``shared.places``).
"""

from __future__ import annotations

import asyncio
import io
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook

from services.campaign.app import create_app as campaign_app
from services.campaign.settings import CampaignSettings
from services.campaign.transport.manifest import HEADER, TOTAL, manifest_rows, to_xlsx
from services.campaign.transport.planner import Origin, plan
from services.campaign.transport.plans import notices
from services.campaign.transport.seats import Seeker, seat, travel
from services.campaign.transport.seekers import SeekerDirectory
from services.notify import documents as d
from services.notify.consumer import NotifyHandler
from services.notify.replies import mark_viewed
from services.notify.transport import TransportInbox, render_transport
from shared import places
from shared.auth import KeyRing, Role, headers
from shared.bus.memory import MemoryBus
from shared.events import (
    TOPIC_TRANSPORT,
    PostingUpserted,
    ProfileMatchView,
    ProfileUpserted,
    TransportAssigned,
    TransportNotice,
    TransportRelease,
    TransportReleased,
    parse,
    transport_event_id,
)
from shared.store.memory import MemoryStore
from tests.unit.notify_fakes import FakeClock, contact_event
from tests.unit.test_match_engine import _post

TZ = ZoneInfo("Asia/Shanghai")
ENSHI, LICHUAN, JIANSHI = "422801", "422802", "422822"
DEPART = datetime(2026, 3, 2, 7, 0, tzinfo=TZ)


def _km(a: str, b: str) -> float:
    pa, pb = places.resolve(a), places.resolve(b)
    assert pa is not None and pb is not None
    return places.distance_km(pa, pb)


def test_travel_time_is_rounded_up_to_the_minute() -> None:
    assert travel(45, 45) == timedelta(minutes=60)
    assert travel(45.1, 45) == timedelta(minutes=61)
    assert travel(0, 45) == timedelta(0)


def test_every_seeker_is_seated_once_and_each_stop_has_its_time() -> None:
    seekers = [Seeker(f"l{i:02d}", LICHUAN, "都亭街道") for i in range(5)] + [
        Seeker(f"j{i:02d}", JIANSHI) for i in range(3)
    ]
    result = plan(ENSHI, [Origin(LICHUAN, 5), Origin(JIANSHI, 3)], seats=10)
    (bus,) = seat(result, seekers, departs_at=DEPART, speed_kmh=45, stop_minutes=10)
    assert [s.adcode for s in bus.stops] in ([LICHUAN, JIANSHI], [JIANSHI, LICHUAN])
    assert sorted(p for s in bus.stops for p in s.seekers) == sorted(s.profile_id for s in seekers)
    first, second = bus.stops
    assert first.at == DEPART and first.km == 0
    leg = _km(first.adcode, second.adcode)
    assert second.km == round(leg, 1)
    assert second.at == DEPART + timedelta(minutes=10) + timedelta(minutes=int(-(-leg * 60 // 45)))
    last = _km(second.adcode, ENSHI)
    assert bus.arrives_at == second.at + timedelta(minutes=10) + timedelta(minutes=int(-(-last * 60 // 45)))
    assert bus.km == round(leg + last, 1)


def test_one_bus_through_five_counties_takes_the_shortest_order_of_its_stops() -> None:
    counties = ["422802", "422822", "422823", "422825", "422826"]  # 利川 建始 巴东 宣恩 咸丰
    result = plan(ENSHI, [Origin(c, 2) for c in counties], seats=45)
    (bus,) = result.buses
    got = [s.adcode for s in bus.stops]

    def length(order: tuple[str, ...]) -> float:
        legs = [*order, ENSHI]
        return sum(_km(a, b) for a, b in itertools.pairwise(legs))

    shortest = min(length(order) for order in itertools.permutations(counties))
    assert sorted(got) == sorted(counties)
    assert abs(length(tuple(got)) - shortest) < 1e-6
    assert bus.km == round(shortest, 1)


def test_a_county_over_one_bus_is_split_in_id_order_and_names_are_the_officials() -> None:
    seekers = [Seeker(f"s{i:02d}", LICHUAN) for i in range(7)]
    result = plan(ENSHI, [Origin(LICHUAN, 7)], seats=4)
    buses = seat(
        result,
        seekers,
        departs_at=DEPART,
        speed_kmh=45,
        stop_minutes=5,
        point_names={LICHUAN: "利川市人社局门口"},
    )
    assert [b.bus for b in buses] == [1, 2]
    assert [p for b in buses for s in b.stops for p in s.seekers] == [f"s{i:02d}" for i in range(7)]
    assert {s.point for b in buses for s in b.stops} == {"利川市人社局门口"}
    assert all(len(s.seekers) <= 4 for b in buses for s in b.stops)


PLAN: dict[str, Any] = {
    "id": "bus-1",
    "version": 1,
    "destination": {"kind": "fair", "ref": "f1", "adcode": ENSHI, "name": "恩施招聘会（恩施州恩施市）"},
    "date": "2026-03-02",
    "departs_at": "2026-03-02T07:00:00+08:00",
    "seats": 45,
    "speed_kmh": 45,
    "stop_minutes": 10,
    "riders": 3,
    "km": 120.5,
    "buses": [
        {
            "bus": 1,
            "riders": 3,
            "km": 120.5,
            "arrives_at": "2026-03-02T09:55:00+08:00",
            "stops": [
                {
                    "adcode": LICHUAN,
                    "point": "利川站",
                    "at": "2026-03-02T07:00:00+08:00",
                    "km": 0,
                    "seekers": ["a", "b"],
                },
                {
                    "adcode": JIANSHI,
                    "point": "建始站",
                    "at": "2026-03-02T08:40:00+08:00",
                    "km": 75.0,
                    "seekers": ["c"],
                },
            ],
        }
    ],
}
CONTACTS = {"a": {"name": "张**", "phone": "139****5678"}, "c": {"name": "李**", "phone": None}}


def test_the_manifest_lists_each_bus_stop_by_stop_with_masked_phones_and_a_total() -> None:
    sheets = manifest_rows(PLAN, CONTACTS)
    assert list(sheets) == ["汇总", "1号车"]
    bus = sheets["1号车"]
    assert bus[2] == HEADER
    assert bus[3:] == [
        [1, "利川站", "07:00", 1, "张**", "139****5678", "a"],
        [1, "利川站", "07:00", 2, "未登记", "未登记", "b"],
        [2, "建始站", "08:40", 3, "李**", "未登记", "c"],
        [TOTAL, "2 个上车点", None, 3, None, None, None],
    ]
    assert "预计到达 09:55" in bus[1][0]
    assert sheets["汇总"][3:] == [["1号车", 2, 3, "07:00", "09:55", 120.5], [TOTAL, 1, 3, None, None, 120.5]]


def test_the_workbook_reads_back_as_the_rows() -> None:
    sheets = manifest_rows(PLAN, CONTACTS)
    book = load_workbook(io.BytesIO(to_xlsx(sheets)))
    assert book.sheetnames == list(sheets)
    for name, rows in sheets.items():
        got = [list(r) for r in book[name].iter_rows(values_only=True)]
        assert [r[: len(w)] for r, w in zip(got, rows, strict=True)] == [[*w] for w in rows], name


def test_a_notice_is_sent_for_a_new_or_moved_seat_only_and_its_id_is_the_seat() -> None:
    first = notices("bus-1", 1, PLAN, None)
    assert [e.key for e in first] == ["a", "b", "c"]
    assert notices("bus-1", 2, PLAN, PLAN) == []  # re-published unchanged: nothing new
    moved = {
        **PLAN,
        "buses": [
            {
                **PLAN["buses"][0],
                "stops": [
                    PLAN["buses"][0]["stops"][0],
                    {**PLAN["buses"][0]["stops"][1], "at": "2026-03-02T08:50:00+08:00"},
                ],
            }
        ],
    }
    again = notices("bus-1", 2, moved, PLAN)
    assert [(e.type, e.key) for e in again] == [("transport.assigned", "c")]
    assert first[2].event_id == transport_event_id("bus-1", "c", 1)
    assert again[0].event_id == transport_event_id("bus-1", "c", 2) != first[2].event_id
    assert again[0].payload.pickup_at == datetime(2026, 3, 2, 0, 50, tzinfo=UTC)
    assert "phone" not in first[0].payload.model_dump()
    # "b" left out of version 3: released, the others untouched
    without_b = {
        **moved,
        "buses": [
            {
                **moved["buses"][0],
                "stops": [{**PLAN["buses"][0]["stops"][0], "seekers": ["a"]}, moved["buses"][0]["stops"][1]],
            }
        ],
    }
    assert [(e.type, e.key) for e in notices("bus-1", 3, without_b, moved)] == [("transport.released", "b")]


def _notice(at: datetime, bus: int = 2, version: int = 1) -> TransportAssigned:
    payload = TransportNotice(
        plan_id="bus-1",
        plan_version=version,
        profile_id="s000005",
        bus=bus,
        point="利川市人社局门口",
        adcode=LICHUAN,
        pickup_at=at,
        destination="立讯精密（恩施州恩施市）",
    )
    return TransportAssigned(
        event_id=transport_event_id("bus-1", "s000005", version), key="s000005", payload=payload
    )


async def test_notify_keeps_one_item_and_one_push_per_seeker_and_plan_and_shows_the_latest_seat() -> None:
    store, clock = MemoryStore(), FakeClock(datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    handler = NotifyHandler(store, push_channels=["sms"], clock=clock)
    await handler.handle(contact_event(profile_id="s000005", channels=["inbox", "sms"]))
    inbox = TransportInbox(handler, TZ)
    await inbox.handle(_notice(DEPART))
    await inbox.handle(_notice(DEPART))  # re-published
    later = _notice(DEPART + timedelta(minutes=30), bus=3, version=2).model_copy(
        update={"occurred_at": datetime.now(UTC) + timedelta(seconds=1)}
    )
    await inbox.handle(later)  # re-planned: a later time
    items = await store.collection(d.RECOMMENDATIONS).find({"profile_id": "s000005"})
    assert [(i["_id"], i["kind"]) for i in items] == [("s000005:transport:bus-1", "transport")]
    assert items[0]["reason"] == "3月2日 07:30 · 利川市人社局门口 · 3号车 · 前往立讯精密（恩施州恩施市）"
    deliveries = await store.collection(d.DELIVERIES).find({})
    assert [x["_id"] for x in deliveries] == ["s000005:transport:bus-1:sms"]
    text = render_transport("张**", items[0], max_chars=120)
    assert text.startswith(
        "【春风就业】张**您好，就业直通车乘车通知：3月2日 07:30 · 利川市人社局门口 · 3号车"
    )
    assert len(render_transport("张**", items[0], max_chars=50)) <= 50
    assert await mark_viewed(store, items, clock()) == 0  # a bus seat is no funnel pair


async def test_a_released_seat_withdraws_the_item_and_cancels_the_push_not_yet_sent() -> None:
    store, clock = MemoryStore(), FakeClock(datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    handler = NotifyHandler(store, push_channels=["sms"], clock=clock)
    await handler.handle(contact_event(profile_id="s000005", channels=["inbox", "sms"]))
    inbox = TransportInbox(handler, TZ)
    await inbox.handle(_notice(DEPART))
    gone = TransportReleased(
        event_id=transport_event_id("bus-1", "s000005", 2),
        key="s000005",
        occurred_at=datetime.now(UTC) + timedelta(seconds=1),
        payload=TransportRelease(plan_id="bus-1", plan_version=2, profile_id="s000005"),
    )
    await inbox.handle(gone)
    item = await store.collection(d.RECOMMENDATIONS).get("s000005:transport:bus-1")
    assert item is not None and (item["status"], item["withdrawn_reason"]) == ("withdrawn", "乘车安排已取消")
    (push,) = await store.collection(d.DELIVERIES).find({})
    assert push["status"] == d.CANCELLED


# --- over HTTP --------------------------------------------------------------------------------

CODE = "91422800MA4F3L2K8R"
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _profile(pid: str, adcode: str) -> ProfileUpserted:
    view = ProfileMatchView(id=pid, version=1, status="looking", birth_year=1990, home={"adcode": adcode})
    return ProfileUpserted(key=pid, payload=view)


@pytest.fixture
async def campaign() -> AsyncIterator[tuple[httpx.AsyncClient, MemoryBus, dict[str, str], MemoryStore]]:
    bus, ring = MemoryBus(), KeyRing()
    keys = {
        "enshi": ring.issue("official-enshi", Role.official, ["4228"]),
        "jiujiang": ring.issue("official-jiujiang", Role.official, ["3604"]),
        "seeker": ring.issue("seeker-5", Role.seeker, ["s1"]),
    }
    store = MemoryStore()
    app = campaign_app(
        CampaignSettings(outbox_interval_s=0.05),
        bus=bus,
        store=store,
        clock=FakeClock(T0),
        keyring=ring,
    )
    async with app.router.lifespan_context(app):
        pub = bus.publisher("t")
        view = _post(1, employer={"name": "企业1", "credit_code": CODE}, headcount=10)
        events: list[Any] = [PostingUpserted(key=view.id, payload=view)]
        events += [_profile(f"s{i}", LICHUAN if i < 4 else JIANSHI) for i in range(6)]
        events += [contact_event(profile_id=f"s{i}") for i in range(6)]
        await pub.publish_many([(e.topic, e.key, e.to_bytes()) for e in events])
        homes = app.state.store.collection("transport_homes")
        contacts = app.state.store.collection("transport_contacts")
        for _ in range(300):
            if await homes.count() == 6 and await contacts.count() == 6:
                break
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://campaign"
        ) as http:
            yield http, bus, keys, store


async def test_an_official_plans_the_buses_of_a_fairs_registered_seekers(
    campaign: tuple[httpx.AsyncClient, MemoryBus, dict[str, str], MemoryStore],
) -> None:
    http, bus, keys, _ = campaign
    enshi = headers(keys["enshi"])
    fair = {
        "kind": "job_fair",
        "title": "恩施市春风行动招聘会",
        "starts_at": "2026-03-13T09:00:00+08:00",
        "location": {"adcode": ENSHI, "address": "恩施市民族广场"},
        "posting_ids": ["p000001"],
    }
    r = await http.post("/v1/fairs", json=fair, headers=enshi)
    assert r.status_code == 201, r.text
    fair_id = r.json()["id"]
    for i in range(5):  # s5 does not register
        r = await http.post(f"/v1/fairs/{fair_id}/registrations", json={"profile_id": f"s{i}"}, headers=enshi)
        assert r.status_code == 200, r.text
    body = {
        "fair_id": fair_id,
        "date": "2026-03-13",
        "departs_at": "07:00",
        "seats": 3,
        "points": [{"adcode": LICHUAN, "name": "利川市人社局门口"}],
    }

    bad = await http.put(
        "/v1/transport/plans/bus-1", json=body | {"profile_ids": ["s0", "nobody"]}, headers=enshi
    )
    assert bad.status_code == 422
    (err,) = bad.json()["detail"]
    assert err["loc"] == ["body", "profile_ids"] and err["input"] == ["nobody"] and "unknown" in err["msg"]
    bad = await http.put("/v1/transport/plans/bus-1", json=body | {"profile_ids": ["s5"]}, headers=enshi)
    assert bad.status_code == 422 and "registered" in bad.json()["detail"][0]["msg"]
    both = body | {"employer_code": CODE}
    assert (await http.put("/v1/transport/plans/bus-1", json=both, headers=enshi)).status_code == 422
    assert (
        await http.put("/v1/transport/plans/bus-1", json=body, headers=headers(keys["jiujiang"]))
    ).status_code == 403
    assert (
        await http.put("/v1/transport/plans/bus-1", json=body, headers=headers(keys["seeker"]))
    ).status_code == 403

    r = await http.put("/v1/transport/plans/bus-1", json=body, headers=enshi)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["version"], got["riders"]) == (1, 5)
    seated = [p for b in got["buses"] for s in b["stops"] for p in s["seekers"]]
    assert sorted(seated) == ["s0", "s1", "s2", "s3", "s4"]
    assert all(b["riders"] <= 3 for b in got["buses"])
    points = {s["adcode"]: s["point"] for b in got["buses"] for s in b["stops"]}
    assert points == {LICHUAN: "利川市人社局门口", JIANSHI: "恩施土家族苗族自治州建始县（县城集合点）"}
    assert datetime.fromisoformat(got["buses"][0]["stops"][0]["at"]) == datetime(2026, 3, 13, 7, 0, tzinfo=TZ)

    again = await http.put("/v1/transport/plans/bus-1", json=body, headers=enshi)
    assert again.status_code == 200 and again.json() == got  # idempotent: same plan, same version

    for _ in range(300):  # the relay has published the notices
        if len(bus.records(TOPIC_TRANSPORT)) >= 5:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    records = [parse(TOPIC_TRANSPORT, r.value) for r in bus.records(TOPIC_TRANSPORT)]
    assert sorted(e.key for e in records) == sorted(seated)  # one each, nothing on the repeat

    later = await http.put("/v1/transport/plans/bus-1", json=body | {"departs_at": "07:30"}, headers=enshi)
    assert later.status_code == 200 and later.json()["version"] == 2

    r = await http.get("/v1/transport/plans/bus-1/manifest.xlsx", headers=enshi)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["汇总", *[f"{b['bus']}号车" for b in later.json()["buses"]]]
    phones = {
        row[6]: row[5]
        for name in book.sheetnames[1:]
        for row in book[name].iter_rows(min_row=4, values_only=True)
        if row[0] != TOTAL
    }
    assert sorted(phones) == sorted(seated) and set(phones.values()) == {"139****5678"}
    assert (
        await http.get("/v1/transport/plans/bus-1/manifest.xlsx", headers=headers(keys["jiujiang"]))
    ).status_code == 404
    assert (await http.get("/v1/transport/plans/bus-1", headers=headers(keys["seeker"]))).status_code == 403
    assert date.fromisoformat(
        (await http.get("/v1/transport/plans/bus-1", headers=enshi)).json()["date"]
    ) == date(2026, 3, 13)


def _pair(pid: str, steps: list[str], county: str = ENSHI) -> dict[str, Any]:
    return {
        "_id": f"{pid}:p000001",
        "profile_id": pid,
        "posting_id": "p000001",
        "employer_code": CODE,
        "county": county,
        "steps": {s: {"at": "2026-02-20T01:00:00.000000Z"} for s in steps},
    }


async def test_an_enterprise_plan_carries_its_hires_who_have_not_left_to_their_workplace(
    campaign: tuple[httpx.AsyncClient, MemoryBus, dict[str, str], MemoryStore],
) -> None:
    http, bus, keys, store = campaign
    pairs = store.collection("pairs")
    for doc in (
        _pair("s0", ["recommended", "interested", "interviewed", "hired"]),
        _pair("s1", ["recommended", "interested", "interviewed", "hired"]),
        _pair("s4", ["recommended", "interested", "interviewed", "hired"]),
        _pair("s2", ["recommended", "interested", "interviewed", "hired", "left"]),
        _pair("s3", ["recommended", "interested"]),
    ):
        await pairs.insert(doc)
    body = {"employer_code": CODE, "date": "2026-03-02", "departs_at": "06:00"}
    url = "/v1/transport/plans/hires-1"
    jiujiang = headers(keys["jiujiang"])
    # an official of 利川/建始 (4228 covers both the homes and the workplace here) may; 九江's not
    assert (await http.put(url, json=body, headers=jiujiang)).status_code == 403
    enshi = headers(keys["enshi"])
    for who in ("s2", "s3"):  # left, or never hired
        r = await http.put(url, json=body | {"profile_ids": ["s0", who]}, headers=enshi)
        assert r.status_code == 422 and r.json()["detail"][0]["input"] == [who], r.text
    r = await http.put(url, json=body, headers=enshi)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["destination"]["adcode"] == ENSHI and got["destination"]["kind"] == "employer"
    assert got["destination"]["name"].startswith("企业1")
    assert sorted(p for b in got["buses"] for s in b["stops"] for p in s["seekers"]) == ["s0", "s1", "s4"]

    # a deleted seeker (contact.deleted) is unknown to campaign from then on
    pub = bus.publisher("t")
    gone = contact_event(profile_id="s4", type="contact.deleted")
    await pub.publish_many([(gone.topic, gone.key, gone.to_bytes())])
    for _ in range(300):
        if await store.collection("transport_homes").get("s4") is None:
            break
        await asyncio.sleep(0.01)
    r = await http.put(url, json=body | {"profile_ids": ["s0", "s4"]}, headers=enshi)
    assert r.status_code == 422 and "unknown" in r.json()["detail"][0]["msg"]


async def test_the_seekers_directory_keeps_the_newest_version_and_only_the_masked_phone() -> None:
    store = MemoryStore()
    directory = SeekerDirectory(store)
    newer = _profile("s1", JIANSHI).model_copy(
        update={"payload": _profile("s1", JIANSHI).payload.model_copy(update={"version": 2})}
    )
    await directory.on_profiles([_profile("s0", LICHUAN), newer])
    await directory.on_profiles([_profile("s1", LICHUAN)])  # version 1 again: older, ignored
    homes = await directory.homes_of(["s0", "s1"])
    assert {k: (v["adcode"], v["version"]) for k, v in homes.items()} == {
        "s0": (LICHUAN, 1),
        "s1": (JIANSHI, 2),
    }
    await directory.handle(contact_event(profile_id="s0"))
    assert await directory.contacts_of(["s0"]) == {
        "s0": {"_id": "s0", "version": 1, "name": "张**", "phone": "139****5678"}
    }
