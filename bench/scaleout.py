"""``python -m bench scaleout``: the same profiles through one match instance and through two.

Runs on Kafka and FerretDB on PostgreSQL (``bench.stack.infra``: ``make bench``'s shared
infrastructure, or its own on scratch data under the machine-wide stack lock) and starts only
the match service: ingest and notify are not in the
path measured, so the profiles go straight onto ``profiles.v1`` as ingest would publish them.
Each run has its own topic prefix and database, so the two runs share nothing:

1. ``--scaleout-postings`` postings (the demo's, with 1-3 positions each so that the capacity
   binds and bumping cascades run), waited for until applied;
2. ``--scaleout-profiles`` profiles published at once; the clock runs from the first publish
   until every instance's mark (``marks``: the log position whose effects are done) reaches the
   end of the input log: ``scaleout_profiles_per_s_<n>`` is profiles over that time;
3. the checks behind the figure: the run's whole input log, read back and replayed through
   one in-process ``SequencedMatcher`` (one instance, embedded store), must leave exactly the
   active matches the instances wrote to FerretDB (``scaleout_seekers_differing_from_one_instance``);
   capacity, top-K and the employer cap are counted on what the two instances wrote
   (``scaleout_cap_violations``). The two runs' final lists are also compared with each other:
   their logs interleave the input partitions differently, and the engine's bounded cascades
   may make that matter; the count is reported in ``bench-machine.json``, not asserted.

``scale_out_ratio_2_instances`` is the two-instance rate over the one-instance rate. Each match
process's CPU seconds (``/proc/<pid>/stat``) go to ``bench-machine.json``: every instance applies
the whole log, so the engine's CPU is not divided, only the writes and publishes are.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.results import Report, Row, metric
from bench.stack import create_topics, infra, stop_services
from bench.workload import posting_json, profile_json
from services.match.engine import MatchEngine
from services.match.scoring import load_policy
from services.match.sequence import SequencedMatcher
from services.match.wider import WiderOffers
from shared.bus.kafka import KafkaBus
from shared.bus.memory import MemoryBus
from shared.events import MatchInput, PostingUpserted, PostingView, ProfileUpserted
from shared.models import PostingIn, ProfileIn
from shared.store.base import StoreUnavailable
from shared.store.memory import MemoryStore
from shared.store.mongo import MongoStore
from shared.views import posting_view, profile_match_view

NAME = "scaleout"
SECTION = "Latest scale-out bench"
PORTS = (8002, 8012)
Lists = dict[str, list[tuple[str, int, float]]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(NAME)
    # The defaults are the size that completed here: with 24 or more postings and 400 or more
    # profiles FerretDB 1.24 wedged (README, "Scale-out of match").
    group.add_argument("--scaleout-profiles", type=int, default=2000, help="profiles per run")
    group.add_argument("--scaleout-postings", type=int, default=40, help="postings per run")
    group.add_argument("--scaleout-batch", type=int, default=100, help="MATCH_MAX_BATCH of the instances")
    group.add_argument("--scaleout-timeout-s", type=float, default=120.0, help="wait for a run at most")


def _topic(prefix: str, base: str) -> str:
    return f"{prefix}chunfeng.{base}.v1"


def _postings(n: int) -> list[PostingView]:
    out = []
    for i in range(n):
        data = posting_json(i) | {"headcount": 1 + i % 3, "filled": 0}
        out.append(posting_view(PostingIn.model_validate(data), id=f"so-p{i:04d}", version=1, status="open"))
    return out


def _profile_events(n: int) -> list[ProfileUpserted]:
    views = [
        profile_match_view(ProfileIn.model_validate(profile_json(i)), id=f"so-s{i:06d}", version=1)
        for i in range(n)
    ]
    return [ProfileUpserted(key=v.id, payload=v, producer="bench") for v in views]


async def _publish(bootstrap: str, records: list[tuple[str, str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key.encode()) for topic, key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _log_end(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def _read_log(bootstrap: str, topic: str) -> list[MatchInput]:
    """The whole log, through the bus adapter the service reads it with (a fresh group: from the start)."""
    end = await _log_end(bootstrap, topic)
    consumer = KafkaBus(bootstrap).consumer(f"bench-read-{secrets.token_hex(4)}", [topic], "bench")
    await consumer.start()
    try:
        out: list[MatchInput] = []
        deadline = time.monotonic() + 60
        while len(out) < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {len(out)} of {end} log records")
            for record in await consumer.poll(timeout_s=1.0, max_records=5000):
                out.append(MatchInput.model_validate_json(record.value or b""))
        return out
    finally:
        await consumer.stop()


async def _wait_applied(
    bootstrap: str, topic: str, store: MongoStore, instances: int, at_least: int, limit_s: float
) -> None:
    """Until every instance's mark is at the log's end and the log holds ``at_least`` records.

    A read of the marks that times out (FerretDB busy with match's writes) is tried again until
    ``limit_s``: the bench waits for the service, it does not fail with it."""
    deadline = time.monotonic() + limit_s
    marks = store.collection("marks")
    docs: dict[str, int] = {}
    end = 0
    while time.monotonic() < deadline:
        end = await _log_end(bootstrap, topic)
        try:
            docs = {d["_id"]: int(d["next"]) for d in await marks.find({})}
        except StoreUnavailable:
            continue
        got = [docs.get(f"{i}-of-{instances}", 0) for i in range(instances)]
        if end >= at_least and min(got) >= end:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"match did not apply the log within {limit_s:.0f} s (marks {docs}, end {end})")


async def _lists(store: Any) -> Lists:
    out: Lists = {}
    for d in await store.collection("matches").find({"status": "active"}):
        v = d["view"]
        out.setdefault(v["profile_id"], []).append((v["posting_id"], v["rank"], round(v["score"], 6)))
    return {k: sorted(v) for k, v in out.items()}


async def _replayed(log: list[MatchInput]) -> Lists:
    """What one instance writes after applying this log (embedded bus and store)."""
    engine = MatchEngine(load_policy())
    store = MemoryStore()
    one = SequencedMatcher(engine, store, MemoryBus().publisher("bench"), WiderOffers(engine))
    await one.setup()
    for i in range(0, len(log), 200):
        await one.on_records(log[i : i + 200])
    return await _lists(store)


def _violations(lists: Lists, postings: dict[str, PostingView]) -> int:
    policy = load_policy()
    bad = 0
    held: Counter[str] = Counter()
    for pairs in lists.values():
        bad += len(pairs) > policy.top_k
        employers = Counter(postings[p].employer.name for p, _, _ in pairs)
        bad += max(employers.values()) > policy.max_per_employer
        held.update(p for p, _, _ in pairs)
    for posting_id, n in held.items():
        p = postings[posting_id]
        bad += n > policy.capacity(p.headcount - p.filled)
    return bad


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _one_run(
    stack: Any,
    args: argparse.Namespace,
    instances: int,
    token: str,
    postings: list[PostingView],
    profiles: list[ProfileUpserted],
) -> dict[str, Any]:
    prefix = f"so{instances}-{token}-"
    database = f"chunfeng_match_so{instances}_{token}"
    create_topics(stack, prefix)
    env = {
        "CHUNFENG_TOPIC_PREFIX": prefix,
        "MATCH_MONGODB_DB": database,
        "MATCH_SEQUENCED": "true",
        "MATCH_INSTANCES": str(instances),
        "MATCH_WIDER_SWEEP_INTERVAL_S": "3600",
        "MATCH_MAX_BATCH": str(args.scaleout_batch),
    }
    keys = [f"match-{instances}-{i}" for i in range(instances)]
    for i, key in enumerate(keys):
        stack.start_service("match", {**env, "MATCH_INSTANCE": str(i)}, instance=key, port=PORTS[i])
    # A socket timeout, so that a wedged FerretDB (README, "Pipeline throughput") fails the run
    # instead of hanging it.
    store = MongoStore(stack.mongodb_url.rstrip("/") + "/?socketTimeoutMS=20000", database, max_pool=2)
    log_topic = _topic(prefix, "match-input")
    bootstrap = stack.kafka_bootstrap

    async def drive() -> dict[str, Any]:
        try:
            topic = _topic(prefix, "postings")
            events = [PostingUpserted(key=p.id, payload=p, producer="bench") for p in postings]
            await _publish(bootstrap, [(topic, e.key, e.to_bytes()) for e in events])
            limit = args.scaleout_timeout_s
            await _wait_applied(bootstrap, log_topic, store, instances, len(postings), limit)
            cpu0 = [_cpu_seconds(stack.services[k].pid) for k in keys]
            started = time.perf_counter()
            await _publish(bootstrap, [(_topic(prefix, "profiles"), e.key, e.to_bytes()) for e in profiles])
            total = len(postings) + len(profiles)
            await _wait_applied(bootstrap, log_topic, store, instances, total, limit)
            seconds = time.perf_counter() - started
            cpu = [round(_cpu_seconds(stack.services[k].pid) - c, 1) for k, c in zip(keys, cpu0, strict=True)]
            lists = await _lists(store)
            log = await _read_log(bootstrap, log_topic)
            replay = await _replayed(log)
            differing = sorted(s for s in set(lists) | set(replay) if lists.get(s) != replay.get(s))
            return {
                "instances": instances,
                "seconds": round(seconds, 2),
                "profiles_per_s": len(profiles) / seconds,
                "cpu_seconds": cpu,
                "log_records": len(log),
                "seekers_with_matches": len(lists),
                "active_matches": sum(len(v) for v in lists.values()),
                "differing_from_replay": len(differing),
                "violations": _violations(lists, {p.id: p for p in postings}),
                "lists": lists,
            }
        finally:
            await store.close()

    try:
        outcome = asyncio.run(drive())
        facts = {k: v for k, v in outcome.items() if k != "lists"}
        print(f"scaleout, {instances} instance(s):", facts, flush=True)
        return outcome
    finally:
        stop_services(stack, keys)


def none_row(name: str, count: int, unit: str) -> Row:
    """A row whose target is that nothing was counted (a differing seeker, a broken cap)."""
    return metric(name, float(count), unit, target=0.0, met=count == 0)


def run(args: argparse.Namespace) -> Report:
    token = secrets.token_hex(3)
    postings = _postings(args.scaleout_postings)
    profiles = _profile_events(args.scaleout_profiles)
    started = time.perf_counter()
    with infra() as stack:  # make bench's shared one, or started here for this run alone
        runs = [_one_run(stack, args, n, token, postings, profiles) for n in (1, 2)]
    one, two = runs
    seekers = set(one["lists"]) | set(two["lists"])
    across = sorted(s for s in seekers if one["lists"].get(s) != two["lists"].get(s))
    ratio = two["profiles_per_s"] / one["profiles_per_s"]
    differing = one["differing_from_replay"] + two["differing_from_replay"]
    violations = one["violations"] + two["violations"]
    load = os.getloadavg()[0]
    rows: list[Row] = [
        metric("scaleout_profiles_per_s_1_instance", one["profiles_per_s"], "profiles/s"),
        metric("scaleout_profiles_per_s_2_instances", two["profiles_per_s"], "profiles/s"),
        metric("scale_out_ratio_2_instances", ratio, "x", baseline=1.0),
        none_row("scaleout_seekers_differing_from_one_instance", differing, "seekers"),
        none_row("scaleout_cap_violations", violations, "lists or postings"),
    ]
    facts = {k: v for k, v in two.items() if k != "lists"}
    note = (
        f"{args.scaleout_profiles} profiles after {args.scaleout_postings} postings (1–3 positions "
        f"each), match only, straight from Kafka (`python -m bench scaleout`); the two-instance "
        f"run's {facts['active_matches']} active matches equal a one-instance replay of its log; "
        f"CPU seconds per match process: one instance {one['cpu_seconds']}, two "
        f"{two['cpu_seconds']}; the two runs' final lists differ for {len(across)} of "
        f"{len(seekers)} seekers (their logs interleave the input partitions differently); "
        f"1-min load {load:.1f}. Total {time.perf_counter() - started:.0f} s."
    )
    info = {
        "scaleout": {
            "runs": [{k: v for k, v in r.items() if k != "lists"} for r in runs],
            "seekers_differing_between_runs": len(across),
            "load_1min": round(load, 2),
        }
    }
    return Report(rows=rows, section=SECTION, note=note, info=info)
