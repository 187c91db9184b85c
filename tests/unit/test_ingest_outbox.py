"""The outbox: writes succeed while the bus is down, and every event is published once it is back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from services.ingest.documents import POSTING, PROFILE
from services.ingest.outbox import ingest_relay, outbox_sources
from services.ingest.repository import Repository
from shared.bus.base import BusUnavailable, Publisher
from shared.events import TOPIC_CONTACTS, TOPIC_POSTINGS, TOPIC_PROFILES, parse
from shared.models import PostingIn, ProfileIn
from shared.outbox import OutboxRelay
from shared.store.memory import MemoryStore

POSTING_IN = PostingIn.model_validate(
    {
        "employer": {"name": "恩施示例电子有限公司"},
        "title": "普工",
        "headcount": 5,
        "wage": {"min": 3000, "max": 4000},
        "location": {"adcode": "422801"},
    }
)
PROFILE_IN = ProfileIn.model_validate(
    {"name": "王小梅", "phone": "13912345678", "birth_year": 1990, "home": {"adcode": "422828"}}
)


class FakePublisher(Publisher):
    """Records what was published; ``down`` makes it fail like an unreachable broker."""

    def __init__(self) -> None:
        self.down = False
        self.fail_after: int | None = None  # succeed this many more times, then fail
        self.records: list[tuple[str, str, Any]] = []
        self.on_publish: Callable[[], Awaitable[None]] | None = None
        self.published = asyncio.Event()
        self.attempted = asyncio.Event()
        self.calls: list[int] = []  # records per publish_many call

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ping(self) -> bool:
        return not self.down

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        self.attempted.set()
        if self.fail_after is not None:
            if self.fail_after == 0:
                raise BusUnavailable("broker gone mid-batch")
            self.fail_after -= 1
        if self.down:
            raise BusUnavailable("no broker")
        self.records.append((topic, key, parse(topic, value)))
        self.published.set()
        if self.on_publish is not None:
            hook, self.on_publish = self.on_publish, None
            await hook()

    async def publish_many(self, records: Sequence[tuple[str, str, bytes]]) -> None:
        self.calls.append(len(records))
        await super().publish_many(records)

    def ids(self) -> list[str]:
        return [env.event_id for _, _, env in self.records]


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def relay(store: MemoryStore, publisher: FakePublisher) -> OutboxRelay:
    return ingest_relay(store, publisher, interval_s=0.05, max_backoff_s=0.2)


async def test_write_succeeds_while_bus_down_and_events_publish_once_back(
    store: MemoryStore, publisher: FakePublisher, relay: OutboxRelay
) -> None:
    postings, profiles = Repository(store, POSTING), Repository(store, PROFILE)
    publisher.down = True
    posting = await postings.create(POSTING_IN)
    await postings.set_status(posting["id"], "closed")
    profile = await profiles.create(PROFILE_IN)
    with pytest.raises(BusUnavailable):
        await relay.flush()
    assert publisher.records == []
    assert await relay.pending() == {"postings": 1, "profiles": 1}

    publisher.down = False
    assert await relay.flush() == 4
    assert await relay.flush() == 0  # cleared: nothing published twice
    ids = publisher.ids()
    assert len(ids) == len(set(ids)) == 4
    assert await relay.pending() == {"postings": 0, "profiles": 0}

    by_topic = [(t, k, e.type, e.payload.version) for t, k, e in publisher.records]
    assert (TOPIC_POSTINGS, posting["id"], "posting.upserted", 1) in by_topic
    assert by_topic.index((TOPIC_POSTINGS, posting["id"], "posting.upserted", 1)) < by_topic.index(
        (TOPIC_POSTINGS, posting["id"], "posting.closed", 2)
    )
    assert {(t, e.type) for t, k, e in publisher.records if k == profile["id"]} == {
        (TOPIC_PROFILES, "profile.upserted"),
        (TOPIC_CONTACTS, "contact.upserted"),
    }


async def test_profile_events_carry_least_data(
    store: MemoryStore, publisher: FakePublisher, relay: OutboxRelay
) -> None:
    await Repository(store, PROFILE).create(PROFILE_IN)
    await relay.flush()
    match = next(e for t, _, e in publisher.records if t == TOPIC_PROFILES)
    contact = next(e for t, _, e in publisher.records if t == TOPIC_CONTACTS)
    assert "13912345678" not in match.payload.model_dump_json()
    assert "王小梅" not in match.payload.model_dump_json()
    assert contact.payload.phone == "13912345678" and contact.payload.display_name == "王**"


async def test_failure_mid_document_republishes_with_the_same_event_ids(
    store: MemoryStore, publisher: FakePublisher, relay: OutboxRelay
) -> None:
    await Repository(store, PROFILE).create(PROFILE_IN)
    publisher.fail_after = 1  # the profile event goes out, the contact event does not
    with pytest.raises(BusUnavailable):
        await relay.flush()
    first = publisher.ids()
    publisher.fail_after = None
    await relay.flush()
    ids = publisher.ids()
    assert len(ids) == 3 and ids[0] == ids[1] == first[0]  # a duplicate consumers recognise
    assert len(set(ids)) == 2  # no event lost


async def test_outbox_not_cleared_when_version_moved_during_publish(
    store: MemoryStore, publisher: FakePublisher, relay: OutboxRelay
) -> None:
    postings = Repository(store, POSTING)
    posting = await postings.create(POSTING_IN)

    async def concurrent_close() -> None:
        await postings.set_status(posting["id"], "closed")

    publisher.on_publish = concurrent_close
    await relay.flush()
    doc = await store.collection("postings").get(posting["id"])
    assert doc is not None and doc["outbox_pending"] is True and len(doc["outbox"]) == 2
    await relay.flush()
    types = [e.type for _, _, e in publisher.records]
    assert types == ["posting.upserted", "posting.upserted", "posting.closed"]
    assert await relay.pending() == {"postings": 0, "profiles": 0}


async def test_background_loop_publishes_on_kick_and_retries_with_backoff(
    store: MemoryStore, publisher: FakePublisher, relay: OutboxRelay
) -> None:
    postings = Repository(store, POSTING, on_write=relay.kick)
    await relay.start()
    try:
        publisher.down = True
        await postings.create(POSTING_IN)
        await asyncio.wait_for(publisher.attempted.wait(), timeout=2)  # the kick woke the relay
        stats = await relay.stats()
        assert stats["failures"] >= 1 and "BusUnavailable" in stats["last_error"]
        assert stats["pending_documents"] == 1
        publisher.down = False
        await asyncio.wait_for(publisher.published.wait(), timeout=2)
    finally:
        await relay.stop()
    assert len(publisher.records) == 1
    assert (await relay.stats())["pending_documents"] == 0


async def test_stop_flushes_what_is_left(
    store: MemoryStore, publisher: FakePublisher, relay: OutboxRelay
) -> None:
    await Repository(store, POSTING).create(POSTING_IN)  # no kick: only the final flush can publish it
    await relay.start()
    await relay.stop()
    assert len(publisher.records) == 1


async def test_stop_with_bus_down_keeps_events_pending(
    store: MemoryStore, publisher: FakePublisher, relay: OutboxRelay
) -> None:
    await Repository(store, POSTING).create(POSTING_IN)
    publisher.down = True
    await relay.start()
    await relay.stop()
    assert await relay.pending() == {"postings": 1, "profiles": 0}


async def test_a_kicked_write_is_published_by_id_without_a_collection_sweep(
    store: MemoryStore, publisher: FakePublisher
) -> None:
    relay = ingest_relay(store, publisher, interval_s=3600)  # no periodic sweep during this test
    postings = Repository(store, POSTING, on_write=relay.kick)
    await relay.start()
    try:
        relay.kick()  # the start-up sweep, as the app does
        while relay._last_sweep == 0:  # noqa: ASYNC110 - the relay exposes no event for its sweep
            await asyncio.sleep(0.001)
        sweeps: list[int] = []
        original = relay._pending_docs

        async def counting(col: object, *, limit: int) -> list[dict[str, object]]:
            sweeps.append(1)
            return await original(col, limit=limit)  # type: ignore[arg-type]

        relay._pending_docs = counting  # type: ignore[method-assign]
        await postings.create(POSTING_IN)
        await asyncio.wait_for(publisher.published.wait(), timeout=2)
    finally:
        await relay.stop(final_flush=False)
    assert len(publisher.records) == 1 and sweeps == []
    assert await relay.pending() == {"postings": 0, "profiles": 0}


async def test_a_round_publishes_all_kicked_documents_at_once_then_clears_them(
    store: MemoryStore, publisher: FakePublisher, relay: OutboxRelay
) -> None:
    profiles = Repository(store, PROFILE, on_write=relay.kick)
    created = []
    for i in range(5):
        phone = f"1391234567{i}"
        created.append(await profiles.create(PROFILE_IN.model_copy(update={"phone": phone})))
    assert await relay.flush_hot() == len(publisher.records)
    assert publisher.calls == [len(publisher.records)]  # one publish for the five documents
    keys = [key for _, key, _ in publisher.records]
    assert keys == sorted(keys, key=[c["id"] for c in created].index)  # in write order, grouped
    assert await relay.pending() == {"postings": 0, "profiles": 0}


def test_kicked_documents_come_before_the_sweep_which_still_runs_when_idle_or_long_overdue() -> None:
    from shared.outbox import MAX_SWEEP_GAP_S, sweep_now

    assert sweep_now(True, True, 0.0, 1.0)  # asked for: start, a failure, a kick naming nothing
    assert not sweep_now(False, True, 5.0, 1.0)  # kicked documents waiting: published by id first
    assert sweep_now(False, True, MAX_SWEEP_GAP_S, 1.0)  # ... yet never starving the sweep
    assert sweep_now(False, False, 1.0, 1.0)  # idle: the periodic safety net
    assert not sweep_now(False, False, 0.5, 1.0)
    assert not sweep_now(False, True, MAX_SWEEP_GAP_S, 3600.0)  # the interval is longer still


async def test_a_sweep_yields_to_kicked_documents_after_its_batch_and_a_full_flush_drains_all(
    store: MemoryStore, publisher: FakePublisher
) -> None:
    relay = OutboxRelay(outbox_sources(store), publisher, producer="ingest", batch=2)
    unkicked = Repository(store, PROFILE)  # written by another process: nobody kicked for these
    for i in range(5):
        await unkicked.create(PROFILE_IN.model_copy(update={"phone": f"1381234567{i}"}))
    kicked = await Repository(store, PROFILE, on_write=relay.kick).create(PROFILE_IN)
    assert await relay.flush(yield_to_kicks=True) == 2 * 2  # one batch of two documents, two events each
    assert await relay.pending() == {"postings": 0, "profiles": 4}
    assert await relay.flush_hot() == 2  # then the kicked one (the newest: not in that batch)
    doc = await store.collection("profiles").get(kicked["id"])
    assert doc is not None and not doc["outbox_pending"]
    assert await relay.flush() == 3 * 2  # the rest, in batches, without stopping
    assert await relay.pending() == {"postings": 0, "profiles": 0}


async def test_a_created_document_is_handed_to_the_relay_and_published_without_reading_it_back(
    store: MemoryStore, publisher: FakePublisher, relay: OutboxRelay
) -> None:
    profiles = Repository(store, PROFILE, on_write=relay.kick)
    created = [
        await profiles.create(PROFILE_IN.model_copy(update={"phone": f"1371234567{i}"})) for i in range(3)
    ]
    col = store.collection("profiles")
    reads: list[str] = []
    original = col.get

    async def counting(id: str) -> dict[str, object] | None:
        reads.append(id)
        return await original(id)

    col.get = counting  # type: ignore[method-assign]
    assert await relay.flush_hot() == 3 * 2
    assert reads == []  # each was handed over as stored
    assert [key for _, key, _ in publisher.records] == [c["id"] for c in created for _ in range(2)]
    assert await relay.pending() == {"postings": 0, "profiles": 0}


async def test_a_document_changed_after_it_was_handed_over_stays_pending_and_is_published_again(
    store: MemoryStore, publisher: FakePublisher, relay: OutboxRelay
) -> None:
    """The writer of the newer version may be another process, whose kick this relay never sees:
    the guarded clear fails, and the sweep it schedules publishes the newer events."""
    relay._sweep_due = False  # as after the start-up sweep
    created = await Repository(store, POSTING, on_write=relay.kick).create(POSTING_IN)
    other = Repository(store, POSTING)  # another process: no kick here
    await other.set_status(created["id"], "closed")
    assert await relay.flush_hot() == 1  # the stale hand-over: its event goes out ...
    assert await relay.pending() == {"postings": 1, "profiles": 0}  # ... but the document stays
    assert relay._sweep_due
    await relay.flush()
    types = [e.type for _, _, e in publisher.records]
    assert types == ["posting.upserted", "posting.upserted", "posting.closed"]
    assert await relay.pending() == {"postings": 0, "profiles": 0}
