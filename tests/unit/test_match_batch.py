"""Match's batch path decides exactly as its per-event path, with one read, publish and write per batch."""

from __future__ import annotations

from collections.abc import Sequence

from services.match.consumer import MatchProcessor
from services.match.engine import MatchEngine
from shared.bus.base import Publisher
from shared.bus.memory import MemoryBus
from shared.events import (
    TOPIC_MATCHES,
    PostingClosed,
    PostingEvent,
    PostingUpserted,
    ProfileEvent,
    ProfileUpserted,
    parse,
)
from shared.store.base import Doc
from shared.store.memory import MemoryStore
from tests.unit.fakes import FlakyPublisher
from tests.unit.test_match_engine import POLICY, YEAR, _post, _seeker


def stream() -> list[PostingEvent | ProfileEvent]:
    """Postings, seekers competing for a posting with little room, and changes that withdraw."""
    events: list[PostingEvent | ProfileEvent] = []
    for i in range(6):
        view = _post(i, headcount=1 if i == 0 else 10, wage={"min": 3000 + 200 * i, "max": 5200})
        events.append(PostingUpserted(key=view.id, payload=view, producer="t"))
    for i in range(12):
        view = _seeker(i, desired_wage=3500 + 50 * i)
        events.append(ProfileUpserted(key=view.id, payload=view, producer="t"))
    closed = _post(3, wage={"min": 3600, "max": 5200}).model_copy(update={"status": "closed", "version": 2})
    events.append(PostingClosed(key=closed.id, payload=closed, producer="t"))
    moved = _seeker(4, desired_wage=3700, max_commute_km=5).model_copy(update={"version": 2})
    events.append(ProfileUpserted(key=moved.id, payload=moved, producer="t"))
    return events


def processor(bus: MemoryBus, store: MemoryStore, publisher: Publisher | None = None) -> MatchProcessor:
    return MatchProcessor(MatchEngine(POLICY, year=YEAR), store, publisher or bus.publisher("match"))


def published(bus: MemoryBus) -> list[tuple[str, str, str]]:
    out = []
    for r in bus.records(TOPIC_MATCHES):
        e = parse(TOPIC_MATCHES, r.value)
        out.append((e.event_id, e.type, e.model_dump_json(include={"payload"})))
    return sorted(out)


async def documents(store: MemoryStore) -> dict[str, list[Doc]]:
    out = {}
    for name in ("matches", "postings", "profiles"):
        docs = await store.collection(name).find({}, sort=[("_id", 1)])
        out[name] = [{k: v for k, v in d.items() if k != "updated_at"} for d in docs]
    return out


async def one_by_one(events: Sequence[PostingEvent | ProfileEvent]) -> tuple[MemoryBus, MemoryStore]:
    bus, store = MemoryBus(), MemoryStore()
    proc = processor(bus, store)
    for event in events:
        await proc.handle(event)
    return bus, store


async def test_batches_publish_and_store_what_one_by_one_handling_does() -> None:
    events = stream()
    bus1, store1 = await one_by_one(events)
    bus2, store2 = MemoryBus(), MemoryStore()
    proc = processor(bus2, store2)
    for start in range(0, len(events), 7):  # runs that cut across postings and profiles
        await proc.on_entities(events[start : start + 7])
    assert published(bus2) == published(bus1) and published(bus1)
    assert any(t == "match.withdrawn" for _, t, _ in published(bus1))
    assert await documents(store2) == await documents(store1)


async def test_a_replayed_batch_publishes_nothing_new() -> None:
    events = stream()
    bus, store = MemoryBus(), MemoryStore()
    proc = processor(bus, store)
    await proc.on_entities(events)
    before = published(bus)
    await proc.on_entities(events)  # a crash before the commit: the loop hands the same batch again
    assert published(bus)[: len(before)] == before
    assert {i for i, _, _ in published(bus)} == {i for i, _, _ in before}


async def test_a_batch_retried_after_a_failed_publish_sends_the_same_changes() -> None:
    events = stream()
    reference, _ = await one_by_one(events)
    bus, store = MemoryBus(), MemoryStore()
    proc = processor(bus, store, FlakyPublisher(bus.publisher("match"), failures=1))
    try:
        await proc.on_entities(events)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the flaky publisher did not fail")
    assert await store.collection("matches").count() == 0  # nothing persisted before the publish
    await proc.on_entities(events)  # the loop's retry: the engine has moved on, _unsent has not
    assert published(bus) == published(reference)


async def test_an_older_version_later_in_the_same_batch_is_ignored() -> None:
    newer = _seeker(1, desired_wage=3600).model_copy(update={"version": 3})
    older = _seeker(1, desired_wage=9000).model_copy(update={"version": 2})
    posting = _post(0)
    bus, store = MemoryBus(), MemoryStore()
    proc = processor(bus, store)
    await proc.on_entities(
        [
            PostingUpserted(key=posting.id, payload=posting, producer="t"),
            ProfileUpserted(key=newer.id, payload=newer, producer="t"),
            ProfileUpserted(key=older.id, payload=older, producer="t"),
        ]
    )
    held = await store.collection("profiles").get(newer.id)
    assert held is not None and held["version"] == 3 and held["view"]["desired_wage"] == 3600
