"""The match processor turns a seeker's "not interested" into a withdrawal and a replacement."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.match.consumer import MatchProcessor
from services.match.engine import REASON_DECLINED, MatchEngine
from shared.bus.base import Publisher
from shared.bus.memory import MemoryBus
from shared.events import (
    TOPIC_MATCHES,
    Event,
    Feedback,
    FeedbackReplied,
    PostingUpserted,
    ProfileUpserted,
    feedback_event_id,
    parse,
)
from shared.store.memory import MemoryStore
from tests.unit.fakes import FlakyPublisher
from tests.unit.test_match_engine import POLICY, YEAR, _post, _seeker

S = "s000001"
AT = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def _reply(posting_id: str, interested: bool = False) -> FeedbackReplied:
    return FeedbackReplied(
        key=S,
        payload=Feedback(profile_id=S, posting_id=posting_id, interested=interested, at=AT),
        producer="notify",
        event_id=feedback_event_id(S, posting_id, interested),
    )


async def _rig(bus: MemoryBus, store: MemoryStore, publisher: Publisher | None = None) -> MatchProcessor:
    proc = MatchProcessor(MatchEngine(POLICY, year=YEAR), store, publisher or bus.publisher("match"))
    await proc.setup()
    for i in range(8):
        view = _post(i, wage={"min": 3000 + 100 * i, "max": 5000})
        await proc.handle(PostingUpserted(key=view.id, payload=view, producer="t"))
    seeker = _seeker(1)
    await proc.handle(ProfileUpserted(key=S, payload=seeker, producer="t"))
    return proc


def _events(bus: MemoryBus) -> list[Event]:
    return [parse(TOPIC_MATCHES, r.value) for r in bus.records(TOPIC_MATCHES)]


async def test_decline_becomes_a_withdrawal_and_a_replacement() -> None:
    bus, store = MemoryBus(), MemoryStore()
    proc = await _rig(bus, store)
    before = len(_events(bus))
    await proc.handle(_reply("p000007"))
    new = _events(bus)[before:]
    kinds = {(e.type, e.payload.posting_id) for e in new}
    assert ("match.withdrawn", "p000007") in kinds and ("match.created", "p000002") in kinds
    withdrawn = next(e for e in new if e.type == "match.withdrawn")
    assert withdrawn.payload.withdrawn_reason == REASON_DECLINED and withdrawn.key == S
    doc = await store.collection("matches").get(f"{S}:p000007")
    assert doc is not None and doc["status"] == "withdrawn"
    assert (await store.collection("matches").get(f"{S}:p000002") or {}).get("status") == "active"
    decline = await store.collection("declines").get(f"{S}:p000007")
    assert decline is not None and decline["profile_id"] == S and decline["posting_id"] == "p000007"

    # A replay (the loop did not commit before a crash) publishes nothing more.
    await proc.handle(_reply("p000007"))
    assert len(_events(bus)) == before + len(new)

    # A restart rebuilds the declines too: the pair stays out after the seeker changes.
    again = MatchProcessor(MatchEngine(POLICY, year=YEAR), store, bus.publisher("match"))
    await again.rebuild()
    assert again.engine.declined(S, "p000007")
    assert [m.posting_id for m in again.engine.matches_for_profile(S)] == [
        m.posting_id for m in proc.engine.matches_for_profile(S)
    ]
    changed = _seeker(1, version=2, desired_wage=3500)
    await again.handle(ProfileUpserted(key=S, payload=changed, producer="t"))
    assert "p000007" not in [m.posting_id for m in again.engine.matches_for_profile(S)]


async def test_interested_changes_nothing() -> None:
    bus, store = MemoryBus(), MemoryStore()
    proc = await _rig(bus, store)
    before = len(_events(bus))
    await proc.handle(_reply("p000007", interested=True))
    assert len(_events(bus)) == before
    assert await store.collection("declines").count() == 0


async def test_changes_computed_before_a_publish_failure_are_sent_on_retry() -> None:
    bus, store = MemoryBus(), MemoryStore()
    flaky = FlakyPublisher(bus.publisher("match"), failures=0)
    proc = await _rig(bus, store, flaky)
    before = len(_events(bus))
    flaky.failures = 1
    with pytest.raises(RuntimeError):
        await proc.handle(_reply("p000007"))
    assert len(_events(bus)) == before and await store.collection("declines").count() == 0
    await proc.handle(_reply("p000007"))  # the loop's retry
    kinds = {(e.type, e.payload.posting_id) for e in _events(bus)[before:]}
    assert ("match.withdrawn", "p000007") in kinds and ("match.created", "p000002") in kinds
    assert await store.collection("declines").count() == 1


async def test_a_failed_write_after_publishing_is_retried_with_the_same_changes() -> None:
    """The engine moved on when it computed the changes; a retry must persist them, not recompute."""
    bus, store = MemoryBus(), MemoryStore()
    proc = await _rig(bus, store)
    matches = store.collection("matches")
    real_replace = matches.replace
    failures = {"left": 1}

    async def flaky_replace(doc: dict[str, object], *, upsert: bool = True) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database hiccup")
        await real_replace(doc, upsert=upsert)

    matches.replace = flaky_replace  # type: ignore[method-assign]
    event = _reply("p000007")
    with pytest.raises(RuntimeError):
        await proc.handle(event)
    await proc.handle(event)  # the consumer loop's retry of the same record
    withdrawn = await matches.get(f"{S}:p000007")
    replacement = await matches.get(f"{S}:p000002")
    assert withdrawn is not None and withdrawn["status"] == "withdrawn"
    assert replacement is not None and replacement["status"] == "active"
