"""Scale-out of match (``services/match/sequence.py``): two instances decide as one.

A seeded campaign (postings with little room, seekers competing for them, declines, a closed
posting, a moved and a deleted seeker) goes through the real consumer loops on the embedded bus
and store: once with one instance, once with two sharing the input partitions. The checks: the
log holds every input once in its key's order; with the same log two instances publish exactly
the match events one instance publishes and leave the same matches in the store; every instance
holds the same assignment; capacity, top-K and the employer cap hold across both; a restarted
instance (fresh engine, replaying the log, a crash before its mark) loses and doubles nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from services.match.app import create_app
from services.match.engine import MatchEngine
from services.match.sequence import InputRelay, SequencedMatcher, owner
from services.match.settings import MatchSettings
from services.match.wider import WiderOffers
from shared.auth import KeyRing
from shared.bus.memory import MemoryBus
from shared.consume import ConsumerLoop
from shared.events import (
    TOPIC_MATCH_INPUT,
    TOPIC_MATCHES,
    Event,
    Feedback,
    FeedbackReplied,
    MatchInput,
    PostingClosed,
    PostingUpserted,
    PostingView,
    ProfileDeleted,
    ProfileUpserted,
    WiderSweepTick,
    parse,
    to_record,
)
from shared.store.memory import MemoryStore
from tests.unit.fakes import FlakyPublisher
from tests.unit.match_fixtures import world
from tests.unit.test_match_engine import POLICY, YEAR

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def campaign(seed: int = 7) -> list[Event]:
    """Inputs in publishing order; declines are of pairs a reference engine recommends."""
    postings, profiles = world(seed, 30, 300)
    postings = [p.model_copy(update={"headcount": 1 + i % 2}) for i, p in enumerate(postings)]
    events: list[Event] = [
        PostingUpserted(key=p.id, payload=p, producer="t", occurred_at=AT) for p in postings
    ]
    events += [ProfileUpserted(key=s.id, payload=s, producer="t", occurred_at=AT) for s in profiles]
    reference = MatchEngine(POLICY, year=YEAR)
    for p in postings:
        reference.apply_posting(p)
    for s in profiles:
        reference.apply_profile(s)
    held = [m for s in profiles for m in reference.matches_for_profile(s.id)]
    assert len(held) > 100, "the campaign must recommend enough to compete"
    for m in random.Random(seed).sample(held, 12):
        reply = Feedback(profile_id=m.profile_id, posting_id=m.posting_id, interested=False, at=AT)
        events.append(FeedbackReplied(key=m.profile_id, payload=reply, producer="t", occurred_at=AT))
    closed = postings[0].model_copy(update={"status": "closed", "version": 2})
    events.append(PostingClosed(key=closed.id, payload=closed, producer="t", occurred_at=AT))
    moved = profiles[5].model_copy(update={"version": 2, "max_commute_km": 300, "whole_province": True})
    events.append(ProfileUpserted(key=moved.id, payload=moved, producer="t", occurred_at=AT))
    gone = profiles[9].model_copy(update={"version": 2, "status": "deleted"})
    events.append(ProfileDeleted(key=gone.id, payload=gone, producer="t", occurred_at=AT))
    return events


async def publish(bus: MemoryBus, events: Sequence[Event]) -> None:
    await bus.publisher("t").publish_many([to_record(e) for e in events])


async def drain(loops: Sequence[ConsumerLoop], expected: int) -> None:
    """Until the loops together handled ``expected`` records (bounded, so a bug fails, not hangs)."""
    for loop in loops:
        await loop.start()
    for _ in range(2000):
        if sum(loop.handled for loop in loops) >= expected:
            break
        await asyncio.sleep(0.005)
    for loop in loops:
        await loop.stop()
    assert sum(loop.handled for loop in loops) == expected


async def relay(bus: MemoryBus, members: int, inputs: int) -> None:
    loops = []
    for _ in range(members):
        r = InputRelay(bus.publisher("match"))
        routes, batches = r.routes(), r.batch_routes()
        loops.append(ConsumerLoop(bus, group_id="match", routes=routes, batch_routes=batches, client_id="m"))
    await drain(loops, inputs)


def matcher(bus: MemoryBus, store: MemoryStore, instance: int, instances: int) -> SequencedMatcher:
    engine = MatchEngine(POLICY, year=YEAR)
    return SequencedMatcher(
        engine, store, bus.publisher("match"), WiderOffers(engine), instance=instance, instances=instances
    )


async def apply(bus: MemoryBus, matchers: Sequence[SequencedMatcher], run: str = "a") -> None:
    loops = []
    for m in matchers:
        await m.setup()
        loops.append(
            ConsumerLoop(
                bus,
                group_id=f"log-{m.instance}-{run}",
                routes=m.routes(),
                batch_routes=m.batch_routes(),
                client_id="m",
                max_records=37,
            )
        )
    await drain(loops, len(matchers) * len(bus.records(TOPIC_MATCH_INPUT)))


def published(bus: MemoryBus) -> list[tuple[str, str]]:
    """(event id, event JSON) of every match event, sorted: the order across instances is free."""
    events = [parse(TOPIC_MATCHES, r.value or b"") for r in bus.records(TOPIC_MATCHES)]
    return sorted((e.event_id, e.model_dump_json(include={"type", "payload"})) for e in events)


async def stored(store: MemoryStore) -> dict[str, list[tuple[str, int, float]]]:
    """The active recommendations in the store, per seeker: (posting, rank, score)."""
    out: dict[str, list[tuple[str, int, float]]] = {}
    for d in await store.collection("matches").find({"status": "active"}):
        v = d["view"]
        out.setdefault(v["profile_id"], []).append((v["posting_id"], v["rank"], v["score"]))
    return {k: sorted(v) for k, v in sorted(out.items())}


def assignment(m: SequencedMatcher) -> dict[str, list[tuple[str, int, float]]]:
    e = m.engine
    ids = sorted(s for s in e._profiles if e._list(s))  # every seeker the engine holds a list for
    return {s: sorted((v.posting_id, v.rank, v.score) for v in e.matches_for_profile(s)) for s in ids}


def test_owner_is_stable_and_splits_the_seekers() -> None:
    ids = [f"s{i:06d}" for i in range(1000)]
    split = Counter(owner(i, 2) for i in ids)
    assert set(split) == {0, 1} and min(split.values()) > 400
    assert all(owner(i, 1) == 0 for i in ids)
    assert [owner(i, 2) for i in ids] == [owner(i, 2) for i in ids]


def test_a_log_record_round_trips_with_the_inner_event_unchanged() -> None:
    event = campaign()[-1]
    wrapped = MatchInput(key="match-input", payload=event)  # type: ignore[arg-type]
    back = parse(TOPIC_MATCH_INPUT, to_record(wrapped)[2] or b"")
    assert isinstance(back, MatchInput) and back.payload == event
    tick = MatchInput(key="match-input", payload=WiderSweepTick(sweep_id="s1", now=AT, limit=5))
    assert parse(TOPIC_MATCH_INPUT, to_record(tick)[2] or b"") == tick


async def test_two_relay_members_put_every_input_once_in_its_keys_order() -> None:
    events = campaign()
    bus = MemoryBus()
    await publish(bus, events)
    await relay(bus, 2, len(events))
    # one partition even on a bus that gives a new topic three: one order for every reader
    assert len({r.partition for r in bus.records(TOPIC_MATCH_INPUT)}) == 1
    logged = [parse(TOPIC_MATCH_INPUT, r.value or b"") for r in bus.records(TOPIC_MATCH_INPUT)]
    inner = [e.payload.event_id for e in logged if isinstance(e, MatchInput)]  # type: ignore[union-attr]
    assert sorted(inner) == sorted(e.event_id for e in events)
    for topic, key in {(e.topic, e.key) for e in events}:  # Kafka orders per key within a topic
        same = [e.event_id for e in events if (e.topic, e.key) == (topic, key)]
        assert [i for i in inner if i in set(same)] == same


async def logged_campaign() -> MemoryBus:
    """A bus whose input log holds the campaign, relayed by two members."""
    bus = MemoryBus()
    events = campaign()
    await publish(bus, events)
    await relay(bus, 2, len(events))
    return bus


async def copy_log(source: MemoryBus) -> MemoryBus:
    bus = MemoryBus()
    await bus.publisher("t").publish_many(
        [(TOPIC_MATCH_INPUT, r.key, r.value) for r in source.records(TOPIC_MATCH_INPUT)]
    )
    return bus


async def test_two_instances_publish_and_store_what_one_instance_does() -> None:
    one_bus = await logged_campaign()
    two_bus = await copy_log(one_bus)
    one_store, two_store = MemoryStore(), MemoryStore()
    one = [matcher(one_bus, one_store, 0, 1)]
    two = [matcher(two_bus, two_store, i, 2) for i in range(2)]
    await apply(one_bus, one)
    await apply(two_bus, two)

    assert published(one_bus), "the campaign produced match events"
    assert published(two_bus) == published(one_bus)  # the same events, each once
    assert await stored(two_store) == await stored(one_store)
    assert assignment(two[0]) == assignment(two[1]) == assignment(one[0])
    # each instance published only its own seekers' events
    for m in two:
        ids = {parse(TOPIC_MATCHES, r.value or b"").key for r in two_bus.records(TOPIC_MATCHES)}
        assert any(owner(i, 2) == m.instance for i in ids)
    # the deleted seeker left nothing but her id and version, written by her owner
    gone = campaign()[-1]
    doc = await two_store.collection("profiles").get(gone.key)
    assert doc is not None and doc["status"] == "deleted" and "view" not in doc
    assert not await two_store.collection("matches").find({"profile_id": gone.key})
    assert len(await two_store.collection("declines").find({})) == 12


async def test_capacity_top_k_and_employer_cap_hold_across_both_instances() -> None:
    bus = await logged_campaign()
    store = MemoryStore()
    two = [matcher(bus, store, i, 2) for i in range(2)]
    await apply(bus, two)
    lists = await stored(store)
    docs = await store.collection("postings").find({})
    views = {d["_id"]: PostingView.model_validate(d["view"]) for d in docs}
    declined = {(d["profile_id"], d["posting_id"]) for d in await store.collection("declines").find({})}
    per_posting: Counter[str] = Counter()
    for profile_id, held in lists.items():
        assert len(held) <= POLICY.top_k
        employers = Counter(views[p].employer.name for p, _, _ in held)
        assert max(employers.values()) <= POLICY.max_per_employer
        assert [r for _, r, _ in sorted(held, key=lambda h: h[1])] == list(range(1, len(held) + 1))
        assert not {(profile_id, p) for p, _, _ in held} & declined
        per_posting.update(p for p, _, _ in held)
    assert per_posting, "somebody holds a recommendation"
    full = 0
    for posting_id, n in per_posting.items():
        view = views[posting_id]
        assert view.status == "open"
        cap = POLICY.capacity(view.headcount - view.filled)
        assert n <= cap
        full += n == cap
    assert full > 0, "the capacity binds somewhere, so the check means something"


async def test_a_restarted_instance_replays_the_log_and_loses_or_doubles_nothing() -> None:
    reference_bus = await logged_campaign()
    bus = await copy_log(reference_bus)
    reference_store = MemoryStore()
    await apply(reference_bus, [matcher(reference_bus, reference_store, i, 2) for i in range(2)])

    store = MemoryStore()
    records = [parse(TOPIC_MATCH_INPUT, r.value or b"") for r in bus.records(TOPIC_MATCH_INPUT)]
    first = matcher(bus, store, 1, 2)
    await first.setup()
    await first.on_records(records[:200])  # type: ignore[arg-type]
    marks = store.collection("marks")
    assert (await marks.get("1-of-2") or {}).get("next") == 200
    effected = {parse(TOPIC_MATCHES, r.value or b"").event_id for r in bus.records(TOPIC_MATCHES)}

    async def killed(doc: dict[str, object]) -> None:
        raise ConnectionError("process killed")

    real_replace = marks.replace
    marks.replace = killed  # type: ignore[method-assign, assignment]
    try:
        await first.on_records(records[200:260])  # type: ignore[arg-type]
    except ConnectionError:
        pass  # effects done, mark not moved: the process dies here
    marks.replace = real_replace  # type: ignore[method-assign]
    unmarked = {parse(TOPIC_MATCHES, r.value or b"").event_id for r in bus.records(TOPIC_MATCHES)} - effected
    assert effected and unmarked

    restarted = [matcher(bus, store, 0, 2), matcher(bus, store, 1, 2)]
    await apply(bus, restarted, run="b")
    ids = Counter(parse(TOPIC_MATCHES, r.value or b"").event_id for r in bus.records(TOPIC_MATCHES))
    assert {i for i, n in ids.items() if n > 1} == unmarked  # re-sent with the same ids; nothing else twice
    assert sorted(set(published(bus))) == published(reference_bus)  # nothing lost
    assert await stored(store) == await stored(reference_store)
    assert assignment(restarted[1]) == assignment(restarted[0])


async def test_a_batch_retried_after_a_broker_outage_resends_what_it_decided() -> None:
    """The engine moves on when it applies a record: the retry must re-send those changes, not
    recompute (which would find nothing left to change)."""
    one_bus = await logged_campaign()
    bus = await copy_log(one_bus)
    await apply(one_bus, [matcher(one_bus, MemoryStore(), 0, 1)])
    engine = MatchEngine(POLICY, year=YEAR)
    flaky = FlakyPublisher(bus.publisher("match"), failures=3)
    m = SequencedMatcher(engine, MemoryStore(), flaky, WiderOffers(engine))
    await apply(bus, [m])
    assert flaky.failures == 0
    assert published(bus) == published(one_bus)


async def test_two_match_services_on_one_bus_and_store_decide_as_one_replaying_their_log() -> None:
    """The service as deployed (``create_app`` with ``MATCH_INSTANCES=2``): relay group, log loops,
    sweep tick; what the two leave in the store is what one instance writes from their log."""
    bus, store = MemoryBus(), MemoryStore()
    events = campaign()
    apps = [
        create_app(
            MatchSettings(instances=2, instance=i, wider_sweep_interval_s=3600),
            bus=bus,
            store=store,
            keyring=KeyRing(),
        )
        for i in range(2)
    ]
    async with contextlib.AsyncExitStack() as running:
        for app in apps:
            await running.enter_async_context(app.router.lifespan_context(app))
        await publish(bus, events)
        marks = store.collection("marks")
        for _ in range(3000):
            end = len(bus.records(TOPIC_MATCH_INPUT))
            got = [(await marks.get(f"{i}-of-2") or {}).get("next", 0) for i in range(2)]
            if end >= len(events) + 1 and min(got) >= end:
                break
            await asyncio.sleep(0.01)
        assert min(got) == end == len(events) + 1  # every input, and instance 0's one sweep tick
        ticks = [parse(TOPIC_MATCH_INPUT, r.value or b"") for r in bus.records(TOPIC_MATCH_INPUT)]
        assert sum(isinstance(t.payload, WiderSweepTick) for t in ticks if isinstance(t, MatchInput)) == 1
        ids = Counter(parse(TOPIC_MATCHES, r.value or b"").event_id for r in bus.records(TOPIC_MATCHES))
        assert ids and max(ids.values()) == 1

    replay_bus, replay_store = await copy_log(bus), MemoryStore()
    await apply(replay_bus, [matcher(replay_bus, replay_store, 0, 1)])
    assert await stored(store) == await stored(replay_store)
    assert published(bus) == published(replay_bus)
