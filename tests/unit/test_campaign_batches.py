"""Campaign's batch paths write exactly what its one-event-at-a-time paths write.

Why: a run of recommendations is created in one insert (``FunnelRepository.recommend_new``)
and a run of funnel events' facts in another, instead of a read, a posting read and an insert
per pair. The pairs, their funnel events, the relay's hand-overs and the facts must not differ
from what ``take`` and the per-record routes produce, whatever the run holds: new pairs, a pair
that already exists, the same pair twice, a posting campaign has not heard of.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.campaign.consumer import CampaignHandler
from services.campaign.documents import entry_event
from services.campaign.repository import FunnelRepository
from shared.events import Event, FunnelStep, MatchCreated, funnel_event
from shared.store.base import Doc
from shared.store.memory import MemoryStore
from tests.unit.campaign_fakes import posting_event, recommended, replied

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Kicks:
    def __init__(self) -> None:
        self.handed: list[tuple[str, str, Doc | None]] = []

    def __call__(self, collection: str, id: str, doc: Doc | None = None, /) -> None:
        self.handed.append((collection, id, doc))


async def prepared() -> tuple[MemoryStore, CampaignHandler, Kicks]:
    store, kicks = MemoryStore(), Kicks()
    handler = CampaignHandler(FunnelRepository(store, on_write=kicks))
    await handler.handle(posting_event("j1"))
    await handler.handle(posting_event("j2", adcode="360403"))
    await handler.handle(recommended("p0", "j1", at=T0))  # a pair that exists before the run
    await handler.handle(replied("p0", "j1", True, T0 + timedelta(hours=1)))
    kicks.handed.clear()
    return store, handler, kicks


def the_run() -> list[Any]:
    at = T0 + timedelta(days=1)
    return [
        recommended("p1", "j1", at=at),
        recommended("p1", "j2", at=at),
        recommended("p0", "j1", at=at),  # exists: a repeat, nothing written
        recommended("p2", "j9", at=at),  # a posting campaign has not heard of
        recommended("p1", "j1", at=at + timedelta(minutes=1)),  # the same pair again
    ]


async def dump(store: MemoryStore, name: str) -> list[Doc]:
    """The collection's documents by id, without the time each funnel event was built (a clock
    reading of the test's own run, not a decision)."""
    docs = sorted(await store.collection(name).find({}), key=lambda d: d["_id"])
    for doc in docs:
        for entry in doc.get("outbox") or []:
            entry.pop("occurred_at", None)
    return docs


async def test_a_run_of_recommendations_creates_the_pairs_one_by_one_would() -> None:
    one_store, one, one_kicks = await prepared()
    for event in the_run():
        await one.handle(event)
    run_store, batched, run_kicks = await prepared()
    inserts: list[int] = []
    pairs = batched.repo.pairs
    original = pairs.insert_many

    async def counting(docs: Any) -> list[bool]:
        inserts.append(len(docs))
        return await original(docs)

    pairs.insert_many = counting  # type: ignore[method-assign]
    await batched.batch_routes()[MatchCreated](the_run())
    assert await dump(run_store, "pairs") == await dump(one_store, "pairs")
    # all five in one command: the two whose pair exists (p0:j1; p1:j1 the second time) fail
    # alone there and go by ``take``, which finds a repeat and writes nothing
    assert inserts == [5]
    created = {id: doc for _, id, doc in run_kicks.handed if doc is not None}
    assert sorted(created) == sorted({id for _, id, _ in one_kicks.handed})
    for id, doc in created.items():  # handed over as stored: the relay does not read them back
        assert doc == await run_store.collection("pairs").get(id)
    new = created["p2:j9"]
    assert new["employer_name"] is not None and new["county"] is None  # the event's word, no posting yet
    assert [e["type"] for e in new["outbox"]] == ["funnel.recommended"]


async def test_a_run_of_funnel_events_stores_the_facts_and_the_views_as_one_by_one() -> None:
    one_store, one, _ = await prepared()
    run_store, batched, _ = await prepared()
    events: list[Event] = [entry_event(e) for doc in await dump(one_store, "pairs") for e in doc["outbox"]]
    assert [e.type for e in events] == ["funnel.recommended", "funnel.interested"]
    look = FunnelStep(
        profile_id="p0", posting_id="j1", step="viewed", at=T0 + timedelta(hours=2), by="p0", role="seeker"
    )
    events.append(funnel_event(look).model_copy(update={"producer": "notify"}))  # notify's, as it is
    for event in events:
        await one.handle(event)
    await batched.batch_routes()[type(events[0])](events)
    assert await dump(run_store, "facts") == await dump(one_store, "facts")
    assert await dump(run_store, "pairs") == await dump(one_store, "pairs")
    assert len(await dump(run_store, "facts")) == len(events)
    viewed = (await run_store.collection("pairs").get("p0:j1") or {})["steps"]
    assert "viewed" in viewed  # the seeker's look is on the pair too


async def test_a_posting_is_read_once_for_its_pairs_and_its_newer_version_is_what_later_pairs_take() -> None:
    store, handler, _ = await prepared()
    reads: list[str] = []
    postings = handler.repo.postings
    get = postings.get

    async def counted(id: str) -> Doc | None:
        reads.append(id)
        return await get(id)

    postings.get = counted  # type: ignore[method-assign]
    at = T0 + timedelta(days=1)
    await handler.batch_routes()[MatchCreated]([recommended("p1", "j1", at=at)])
    await handler.batch_routes()[MatchCreated]([recommended("p2", "j1", at=at)])
    assert reads == []  # j1 was kept when campaign wrote it
    await handler.handle(posting_event("j1", adcode="360403", version=2))  # the posting moved
    await handler.batch_routes()[MatchCreated]([recommended("p3", "j1", at=at)])
    pairs = {d["_id"]: d["county"] for d in await dump(store, "pairs")}
    assert (pairs["p1:j1"], pairs["p3:j1"]) == ("422801", "360403")
