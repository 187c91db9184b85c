"""The right to be forgotten, in process: each consumer's deletion handler, tombstones on the
compacted topics, and one seeker taken through ingest, match, notify and campaign and deleted,
after which no store holds her name, phone or ID number."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.campaign import documents as cd
from services.campaign.circular import daily_circular
from services.campaign.consumer import CampaignHandler
from services.campaign.repository import Actor, FunnelRepository
from services.ingest.documents import POSTING, PROFILE
from services.ingest.outbox import ingest_relay
from services.ingest.repository import NotFound, Repository
from services.match.consumer import MatchProcessor
from services.match.engine import MatchEngine
from services.notify import documents as nd
from services.notify.consumer import NotifyHandler
from shared.bus.base import Record
from shared.bus.memory import MemoryBus
from shared.consume import ConsumerLoop, EventRouter
from shared.events import (
    COMPACTED_TOPICS,
    TOPIC_CONTACTS,
    TOPIC_FUNNEL,
    TOPIC_MATCHES,
    TOPIC_POSTINGS,
    TOPIC_PROFILES,
    TOPIC_REJECTED,
    ContactDeleted,
    ContactRemoved,
    PostingUpserted,
    ProfileDeleted,
    ProfileMatchView,
    ProfileUpserted,
    Tombstone,
    UnregisteredEvent,
    parse,
    to_record,
)
from shared.models import PostingIn, ProfileIn
from shared.store.memory import MemoryStore
from shared.topics import topic_specs
from tests.examples import example
from tests.unit.campaign_fakes import posting_event, recommended, replied
from tests.unit.notify_fakes import FakeClock, contact_event, match_event
from tests.unit.test_match_engine import POLICY, YEAR, _post, _seeker
from tests.unit.test_notify_handler import T0


def id_number(area: str, birth: str, seq: str) -> str:
    """A mainland ID number with its GB 11643 check digit (ISO 7064 MOD 11-2)."""
    body = area + birth + seq
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


NAME, PHONE, ID = "覃忘记", "13607181234", id_number("422828", "19900315", "123")
PERSON = (NAME, PHONE, ID)


def profile_in() -> ProfileIn:
    return ProfileIn.model_validate({**example("profile"), "name": NAME, "phone": PHONE, "id_number": ID})


def holding(docs: list[dict[str, Any]]) -> list[str]:
    """The documents (by id) in which any of her strings occurs, anywhere."""
    return [
        str(d.get("_id"))
        for d in docs
        if any(s in json.dumps(d, ensure_ascii=False, default=str) for s in PERSON)
    ]


async def everything(store: MemoryStore) -> dict[str, list[dict[str, Any]]]:
    return {name: await col.find({}) for name, col in store._collections.items()}


# --- the bus: tombstones -------------------------------------------------------------------------


def test_only_the_seeker_topics_are_compacted() -> None:
    specs = {s.name: s.compacted for s in topic_specs(3)}
    assert {name for name, compacted in specs.items() if compacted} == {TOPIC_PROFILES, TOPIC_CONTACTS}
    assert not specs[TOPIC_MATCHES] and not specs[TOPIC_FUNNEL]  # many pairs under one key


def test_a_tombstone_is_a_null_value_and_only_allowed_on_compacted_topics() -> None:
    assert to_record(Tombstone(TOPIC_CONTACTS, "p1")) == (TOPIC_CONTACTS, "p1", None)
    with pytest.raises(UnregisteredEvent):
        to_record(Tombstone(TOPIC_MATCHES, "p1"))


async def test_the_consumer_loop_skips_and_commits_a_tombstone_without_dead_lettering_it() -> None:
    bus = MemoryBus()
    pub = bus.publisher("ingest")
    removed = ContactDeleted(key="p1", payload=ContactRemoved(profile_id="p1", version=3), producer="t")
    await pub.publish_many([to_record(removed), to_record(Tombstone(TOPIC_CONTACTS, "p1"))])
    await pub.publish_many([to_record(ContactDeleted(key="p1", payload=ContactRemoved(profile_id="p1")))])
    seen: list[int | None] = []

    async def on_deleted(event: ContactDeleted) -> None:
        seen.append(event.payload.version)

    loop = ConsumerLoop(bus, group_id="g", routes={ContactDeleted: on_deleted}, client_id="c")
    await loop.start()
    for _ in range(200):
        if len(seen) == 2:
            break
        await asyncio.sleep(0.02)
    await loop.stop()
    assert seen == [3, None]  # the record after the tombstone was handled too
    assert bus.records(TOPIC_REJECTED) == []
    assert sum(bus.committed("g").values()) == 3  # all three records, the tombstone included


# --- ingest --------------------------------------------------------------------------------------


async def test_ingest_erases_the_data_and_outboxes_the_deletion_then_the_tombstones() -> None:
    store = MemoryStore()
    repo = Repository(store, PROFILE)
    pid = (await repo.create(profile_in()))["id"]  # its upsert (with the phone) is still unpublished
    await repo.delete(pid)
    doc = await repo.col.get(pid)
    assert doc is not None and holding([doc]) == []
    assert (doc["status"], doc["version"], doc["data"], doc["identity"], doc["area"]) == (
        "deleted",
        2,
        {},
        None,
        [],
    )
    outbox = [(e["topic"], e.get("type"), e.get("tombstone", False)) for e in doc["outbox"]]
    assert outbox == [
        (TOPIC_PROFILES, "profile.deleted", False),
        (TOPIC_CONTACTS, "contact.deleted", False),
        *((t, None, True) for t in sorted(COMPACTED_TOPICS)),
    ]
    bus = MemoryBus()
    await ingest_relay(store, bus.publisher("ingest")).flush()
    for topic in COMPACTED_TOPICS:
        records = bus.records(topic)
        assert [r.value is None for r in records] == [False, True] and records[-1].key == pid
    deleted = parse(TOPIC_PROFILES, bus.records(TOPIC_PROFILES)[0].value or b"")
    assert isinstance(deleted, ProfileDeleted)
    assert (deleted.payload.intention, deleted.payload.home.town, deleted.payload.skills) == ("", None, [])
    with pytest.raises(NotFound):
        await repo.get(pid)
    with pytest.raises(NotFound):
        await repo.delete(pid)
    assert await repo.find_live({"identity": f"phone:{PHONE}"}) is None


async def test_a_posting_deletion_keeps_its_data() -> None:
    repo = Repository(MemoryStore(), POSTING)
    posting = PostingIn.model_validate(example("posting"))
    pid = (await repo.create(posting))["id"]
    await repo.delete(pid)
    doc = await repo.col.get(pid)
    assert doc is not None and doc["status"] == "deleted" and doc["data"]["title"] == posting.title


async def test_seekers_deleted_before_erasure_are_erased_once_at_start_with_their_tombstones() -> None:
    store = MemoryStore()
    repo = Repository(store, PROFILE)
    pid = (await repo.create(profile_in()))["id"]
    # as an older version deleted: the data kept, the outbox already published
    await repo.col.update(pid, set={"status": "deleted", "outbox": [], "outbox_pending": False})
    await repo.ensure_indexes()
    doc = await repo.col.get(pid)
    assert doc is not None and doc["data"] == {} and holding([doc]) == [] and doc["outbox_pending"]
    assert [e["tombstone"] for e in doc["outbox"]] == [True, True]


# --- match ---------------------------------------------------------------------------------------


async def test_match_drops_the_seeker_view_matches_declines_and_memory() -> None:
    bus, store = MemoryBus(), MemoryStore()
    proc = MatchProcessor(MatchEngine(POLICY, year=YEAR), store, bus.publisher("match"))
    await proc.setup()
    for i in range(4):
        view = _post(i)
        await proc.handle(PostingUpserted(key=view.id, payload=view, producer="t"))
    seeker = _seeker(1)
    await proc.handle(ProfileUpserted(key=seeker.id, payload=seeker, producer="t"))
    assert proc.engine.matches_for_profile(seeker.id)
    await proc.declines.replace({"_id": f"{seeker.id}:x", "profile_id": seeker.id, "posting_id": "x"})
    gone = seeker.model_copy(update={"version": seeker.version + 1, "status": "deleted"})
    await proc.handle(ProfileDeleted(key=seeker.id, payload=gone, producer="t"))
    # her matches were withdrawn on the topic first, so notify and campaign learn of it
    withdrawn = [parse(TOPIC_MATCHES, r.value or b"").type for r in bus.records(TOPIC_MATCHES)]
    assert withdrawn.count("match.withdrawn") == withdrawn.count("match.created") > 0
    assert await proc.profiles.get(seeker.id) == {
        "_id": seeker.id,
        "version": gone.version,
        "status": "deleted",
        "updated_at": (await proc.profiles.get(seeker.id) or {})["updated_at"],
    }
    assert await proc.matches.find({"profile_id": seeker.id}) == []
    assert await proc.declines.find({"profile_id": seeker.id}) == []
    assert proc.engine.matches_for_profile(seeker.id) == []
    assert seeker.id not in proc.engine._profiles and seeker.id not in proc.engine.index.profiles
    # the batch path the consumer loop takes for a run of entity events forgets her as well
    again = _seeker(2)
    await proc.on_entities([ProfileUpserted(key=again.id, payload=again, producer="t")])
    assert proc.engine.matches_for_profile(again.id)
    later = again.model_copy(update={"version": again.version + 1, "status": "deleted"})
    await proc.on_entities([ProfileDeleted(key=again.id, payload=later, producer="t")])
    assert (await proc.profiles.get(again.id) or {}).get("view") is None
    assert await proc.matches.find({"profile_id": again.id}) == []
    # a replayed older upsert does not bring her back
    await proc.handle(ProfileUpserted(key=seeker.id, payload=seeker, producer="t"))
    assert (await proc.profiles.get(seeker.id) or {})["status"] == "deleted"
    assert proc.engine.matches_for_profile(seeker.id) == []


# --- notify --------------------------------------------------------------------------------------


async def test_notify_drops_the_inbox_and_the_delivery_records_and_no_late_match_revives_them() -> None:
    store = MemoryStore()
    handler = NotifyHandler(store, push_channels=["sms"], clock=FakeClock(T0))
    await handler.handle(contact_event("p1", channels=["inbox", "sms"], phone=PHONE))
    await handler.handle(match_event(profile_id="p1", posting_id="j1"))
    assert await store.collection(nd.DELIVERIES).find({"profile_id": "p1"})
    await handler.handle(ContactDeleted(key="p1", payload=ContactRemoved(profile_id="p1", version=9)))
    assert await store.collection(nd.RECOMMENDATIONS).find({"profile_id": "p1"}) == []
    contact = await store.collection(nd.CONTACTS).get("p1")
    assert contact is not None and contact["deleted"] and contact["phone"] is None
    assert contact["display_name"] == "" and contact["home_adcode"] is None
    assert await store.collection(nd.DELIVERIES).find({"profile_id": "p1"}) == []
    # a match from before the deletion, arriving late on its own topic, gives her no inbox again
    await handler.handle(match_event(profile_id="p1", posting_id="j2"))
    assert await store.collection(nd.RECOMMENDATIONS).find({"profile_id": "p1"}) == []
    assert holding(await store.collection(nd.CONTACTS).find({})) == []
    # nor through the batch path the consumer loop takes for a run of match events
    await handler.on_matches([match_event(profile_id="p1", posting_id="j3")])
    assert await store.collection(nd.RECOMMENDATIONS).find({"profile_id": "p1"}) == []


# --- campaign ------------------------------------------------------------------------------------


async def test_campaign_keeps_a_deleted_seekers_counts_but_not_what_officials_wrote_about_her() -> None:
    repo = FunnelRepository(MemoryStore())
    await repo.ensure_indexes()
    handler = CampaignHandler(repo)
    await handler.handle(posting_event("j1"))
    await handler.handle(recommended("p1", "j1", at=T0))
    await handler.handle(replied("p1", "j1", True, T0))
    official = Actor("enshi-01", "official")
    for step, days in (("interviewed", 1), ("hired", 2), ("left", 9)):
        reason = "覃忘记家中老人生病，回家照顾" if step == "left" else None
        await repo.take("p1", "j1", step, at=T0 + timedelta(days=days), actor=official, reason=reason)
    for pair in await repo.pairs.find({}):  # the funnel topic, as the consumer would feed it back
        for entry in pair["outbox"]:
            await handler.handle(cd.entry_event(entry))

    def figures(day: date) -> dict[str, Any]:
        return daily_circular(facts, postings, day, tz=ZoneInfo("Asia/Shanghai")).model_dump(mode="json")

    facts, postings = await repo.facts.find({}), await repo.postings.find({})
    before = figures(date(2026, 3, 20))
    assert before["total"]["left"] == 1 and any("覃忘记" in str(f) for f in facts)
    gone = ProfileMatchView(id="p1", version=3, status="deleted", birth_year=1990, home={"adcode": "422801"})
    await handler.handle(ProfileDeleted(key="p1", payload=gone, producer="ingest"))
    facts, postings = await repo.facts.find({}), await repo.postings.find({})
    assert figures(date(2026, 3, 20)) == before  # the circular does not change
    assert holding([*facts, *await repo.pairs.find({})]) == []
    [pair] = await repo.pairs.find({"profile_id": "p1"})
    assert set(pair["steps"]) == {"recommended", "interested", "interviewed", "hired", "left"}
    assert pair["steps"]["left"]["reason"] is None


# --- all of it -----------------------------------------------------------------------------------


async def test_after_deletion_no_store_of_any_service_holds_her_name_phone_or_id_number() -> None:
    bus = MemoryBus()
    stores = {name: MemoryStore() for name in ("ingest", "match", "notify", "campaign")}
    postings, profiles = Repository(stores["ingest"], POSTING), Repository(stores["ingest"], PROFILE)
    relay = ingest_relay(stores["ingest"], bus.publisher("ingest"))
    match = MatchProcessor(MatchEngine(POLICY), stores["match"], bus.publisher("match"))
    await match.setup()
    notify = NotifyHandler(stores["notify"], push_channels=["sms"])
    campaign_repo = FunnelRepository(stores["campaign"])
    await campaign_repo.ensure_indexes()
    campaign = CampaignHandler(campaign_repo)
    routers: dict[str, list[EventRouter]] = {
        TOPIC_POSTINGS: [match, campaign],
        TOPIC_PROFILES: [match, campaign],
        TOPIC_CONTACTS: [notify],
        TOPIC_MATCHES: [notify, campaign],
    }
    done: dict[tuple[str, int, int], bool] = {}

    async def deliver() -> None:
        """Every record not yet handled, to every service that reads its topic (tombstones skipped,
        as the consumer loop does), until nothing new appears."""
        await relay.flush()
        while True:
            fresh: list[Record] = [
                r for t in routers for r in bus.records(t) if (r.topic, r.partition, r.offset) not in done
            ]
            if not fresh:
                return
            for r in fresh:
                done[(r.topic, r.partition, r.offset)] = True
                if r.value is not None:
                    for router in routers[r.topic]:
                        await router.handle(parse(r.topic, r.value))

    await postings.create(PostingIn.model_validate(example("posting")))
    pid = (await profiles.create(profile_in()))["id"]
    await deliver()
    assert await stores["notify"].collection(nd.RECOMMENDATIONS).find({"profile_id": pid})
    assert await stores["notify"].collection(nd.DELIVERIES).find({"profile_id": pid})
    assert await stores["campaign"].collection("pairs").find({"profile_id": pid})
    assert holding(await stores["ingest"].collection("profiles").find({}))  # the probe can fail
    assert holding(await stores["notify"].collection(nd.CONTACTS).find({}))

    await profiles.delete(pid)
    await deliver()
    for name, store in stores.items():
        for collection, docs in (await everything(store)).items():
            assert holding(docs) == [], f"{name}.{collection} still holds her"
    assert await stores["notify"].collection(nd.RECOMMENDATIONS).find({"profile_id": pid}) == []
    assert await stores["notify"].collection(nd.DELIVERIES).find({"profile_id": pid}) == []
    assert await stores["match"].collection("matches").find({"profile_id": pid}) == []
    # campaign keeps its anonymous pair (ids and steps, no name or phone): the circular's counts
    assert await stores["campaign"].collection("pairs").find({"profile_id": pid})
    # and the compacted topics end, for her key, with a tombstone after which no phone travels
    for topic in COMPACTED_TOPICS:
        mine = [r for r in bus.records(topic) if r.key == pid]
        assert mine[-1].value is None
        after_deletion = mine[[r.value is not None and b"deleted" in r.value for r in mine].index(True) :]
        assert not any(r.value and PHONE.encode() in r.value for r in after_deletion)
