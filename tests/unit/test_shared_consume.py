"""The consumer loop: typed routing, retries of transient failures, bad records dead-lettered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from shared.bus.base import Record
from shared.bus.memory import MemoryBus
from shared.consume import ConsumerLoop
from shared.events import (
    TOPIC_FEEDBACK,
    TOPIC_REJECTED,
    Feedback,
    FeedbackReplied,
    InvalidRecord,
    RecordRejected,
    parse,
    to_record,
)

AT = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def reply(i: int) -> FeedbackReplied:
    return FeedbackReplied(
        key="k",  # one key, one partition: the order and offsets below are those of publishing
        payload=Feedback(profile_id=f"s{i}", posting_id=f"j{i}", interested=True, at=AT),
        producer="t",
    )


async def run_until(loop: ConsumerLoop, done: object, *, turns: int = 200) -> None:
    await loop.start()
    for _ in range(turns):
        if done():  # type: ignore[operator]
            break
        await asyncio.sleep(0.02)
    await loop.stop()


def rejected(bus: MemoryBus) -> list[RecordRejected]:
    events = [parse(TOPIC_REJECTED, r.value) for r in bus.records(TOPIC_REJECTED)]
    assert all(isinstance(e, RecordRejected) for e in events)
    return events  # type: ignore[return-value]


async def test_failing_handler_is_retried_and_nothing_is_skipped() -> None:
    bus = MemoryBus()
    pub = bus.publisher("p")
    for i in range(5):
        await pub.publish_many([to_record(reply(i))])
    seen: list[str] = []
    failures = {"left": 2}

    async def handler(event: FeedbackReplied) -> None:
        if event.payload.profile_id == "s2" and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database hiccup")
        seen.append(event.payload.profile_id)

    loop = ConsumerLoop(bus, group_id="g", routes={FeedbackReplied: handler}, client_id="c")
    await run_until(loop, lambda: len(seen) == 5)
    assert seen == ["s0", "s1", "s2", "s3", "s4"]
    assert sum(bus.committed("g").values()) == 5
    assert rejected(bus) == []


async def test_bad_records_go_to_the_dead_letter_topic_with_their_reason_and_the_stream_moves_on() -> None:
    bus = MemoryBus()
    pub = bus.publisher("p")
    good = json.loads(reply(1).to_bytes())
    unknown_type = {**good, "type": "feedback.shouted"}
    unknown_version = {**good, "schema_version": 2}
    bad_payload = {**good, "payload": {**good["payload"], "interested": "perhaps"}}
    for value in (
        b"\xff not json",
        json.dumps(unknown_type).encode(),
        json.dumps(unknown_version).encode(),
        json.dumps(bad_payload).encode(),
    ):
        await pub.publish(TOPIC_FEEDBACK, "k", value)
    await pub.publish_many([to_record(reply(2)), to_record(reply(3))])
    seen: list[str] = []

    async def handler(event: FeedbackReplied) -> None:
        if event.payload.profile_id == "s3":
            raise InvalidRecord("posting j3 was never recommended")  # a handler's own verdict
        seen.append(event.payload.profile_id)

    loop = ConsumerLoop(bus, group_id="g", routes={FeedbackReplied: handler}, client_id="c")
    await run_until(loop, lambda: len(bus.records(TOPIC_REJECTED)) == 5)
    assert seen == ["s2"]
    letters = rejected(bus)
    reasons = [e.payload.reason for e in letters]
    assert reasons[0].startswith("not JSON")
    assert "unknown event type 'feedback.shouted'" in reasons[1]
    assert "unsupported schema_version 2" in reasons[2]
    assert reasons[3].startswith("invalid feedback.replied: payload.interested")
    assert reasons[4] == "posting j3 was never recommended"
    assert letters[0].payload.original.startswith("hex:ff")
    assert json.loads(letters[3].payload.original) == bad_payload  # the original bytes, whole
    assert [e.payload.offset for e in letters] == [0, 1, 2, 3, 5]
    assert all(e.key == "k" for e in letters)  # keyed like the original, so per-key order holds
    assert all(e.payload.topic == TOPIC_FEEDBACK and e.payload.group == "g" for e in letters)
    assert sum(bus.committed("g").values()) == 6  # every record committed: the partition moved on


async def test_a_replayed_bad_record_is_dead_lettered_with_the_same_event_id() -> None:
    """A crash between dead-lettering and committing replays the record: consumers see one event."""
    bus = MemoryBus()

    async def handler(event: FeedbackReplied) -> None:
        return None

    loop = ConsumerLoop(bus, group_id="g", routes={FeedbackReplied: handler}, client_id="c")
    record = Record(TOPIC_FEEDBACK, 0, 7, "k", b"{}")
    await loop._rejects.start()
    assert await loop._reject(record, "replayed") and await loop._reject(record, "replayed")
    other = Record(TOPIC_FEEDBACK, 0, 8, "k", b"{}")
    assert await loop._reject(other, "next")
    ids = [e.event_id for e in rejected(bus)]
    assert len(ids) == 3 and ids[0] == ids[1] != ids[2]


async def test_a_producer_cannot_publish_an_unregistered_event() -> None:
    class Homemade(FeedbackReplied):
        pass

    try:
        to_record(Homemade(key="s1", payload=reply(1).payload))
    except TypeError as exc:
        assert "not registered" in str(exc)
    else:
        raise AssertionError("an unregistered event class was accepted")


# --- batch routes ----------------------------------------------------------------------------


async def test_a_batch_route_gets_each_run_of_consecutive_records_in_poll_order() -> None:
    """A record outside the batch route (here one dead-lettered) keeps its place between runs."""
    bus = MemoryBus()
    pub = bus.publisher("p")
    await pub.publish_many([to_record(reply(i)) for i in range(3)])
    await pub.publish(TOPIC_FEEDBACK, "k", b"\xff not json")
    await pub.publish_many([to_record(reply(i)) for i in range(3, 5)])
    calls: list[list[str]] = []

    async def one(event: FeedbackReplied) -> None:
        raise AssertionError("the per-record route is for bad batches only")

    async def many(events: Sequence[FeedbackReplied]) -> None:
        assert not calls or len(bus.records(TOPIC_REJECTED)) == 1  # the bad record went in its place
        calls.append([e.payload.profile_id for e in events])

    loop = ConsumerLoop(
        bus, group_id="g", routes={FeedbackReplied: one}, batch_routes={FeedbackReplied: many}, client_id="c"
    )
    await run_until(loop, lambda: len(calls) == 2)
    assert calls == [["s0", "s1", "s2"], ["s3", "s4"]]
    assert [e.payload.offset for e in rejected(bus)] == [3]
    assert loop.handled == 5 and sum(bus.committed("g").values()) == 6


async def test_a_bad_record_in_a_batch_is_dead_lettered_alone_and_the_rest_proceed() -> None:
    bus = MemoryBus()
    pub = bus.publisher("p")
    await pub.publish_many([to_record(reply(i)) for i in range(4)])
    await pub.publish(TOPIC_FEEDBACK, "k", b"\xff not json")
    await pub.publish_many([to_record(reply(4))])
    seen: list[str] = []
    batches: list[int] = []

    async def one(event: FeedbackReplied) -> None:
        if event.payload.profile_id == "s2":
            raise InvalidRecord("s2 cannot be handled")
        seen.append(event.payload.profile_id)

    async def many(events: Sequence[FeedbackReplied]) -> None:
        batches.append(len(events))
        if any(e.payload.profile_id == "s2" for e in events):
            raise InvalidRecord("one of them cannot be handled")
        seen.extend(e.payload.profile_id for e in events)

    loop = ConsumerLoop(
        bus, group_id="g", routes={FeedbackReplied: one}, batch_routes={FeedbackReplied: many}, client_id="c"
    )
    await run_until(loop, lambda: len(bus.records(TOPIC_REJECTED)) == 2 and "s4" in seen)
    assert seen == ["s0", "s1", "s3", "s4"]
    reasons = [e.payload.reason for e in rejected(bus)]
    assert reasons[0] == "s2 cannot be handled" and reasons[1].startswith("not JSON")
    assert [e.payload.offset for e in rejected(bus)] == [2, 4]
    assert sum(bus.committed("g").values()) == 6


async def test_a_batch_that_fails_for_a_transient_reason_is_retried_whole_before_the_commit() -> None:
    bus = MemoryBus()
    pub = bus.publisher("p")
    await pub.publish_many([to_record(reply(i)) for i in range(3)])
    attempts: list[list[str]] = []

    async def one(event: FeedbackReplied) -> None:
        raise AssertionError("not used")

    async def many(events: Sequence[FeedbackReplied]) -> None:
        attempts.append([e.payload.profile_id for e in events])
        if len(attempts) < 3:
            assert sum(bus.committed("g").values()) == 0  # nothing committed before it succeeds
            raise RuntimeError("database hiccup")

    loop = ConsumerLoop(
        bus, group_id="g", routes={FeedbackReplied: one}, batch_routes={FeedbackReplied: many}, client_id="c"
    )
    await run_until(loop, lambda: sum(bus.committed("g").values()) == 3)
    assert attempts == [["s0", "s1", "s2"]] * 3
    assert rejected(bus) == []


def test_a_batch_route_needs_a_per_record_route_for_bad_records() -> None:
    async def many(events: Sequence[FeedbackReplied]) -> None: ...

    with pytest.raises(ValueError, match="FeedbackReplied"):
        ConsumerLoop(
            MemoryBus(), group_id="g", routes={}, batch_routes={FeedbackReplied: many}, client_id="c"
        )
