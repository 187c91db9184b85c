"""Pipeline load generator: profiles in over HTTP, until each is readable in its seeker's inbox.

Why: issue 7 measured 77 profiles/s accepted but 0.8/s end to end. This drives a running stack
(``make stack`` or ``scripts/devstack.py``) the way clients do and reports, per posted profile,
the time from sending its POST to its first inbox item being readable on notify, plus how
fast the same broker moves the same number of similar messages on its own (the ceiling).

    python -m bench.pipeline [--profiles 400 | --duration-s 30] [--clients 16] [--postings 16]

How "readable" is observed without flooding notify: a Kafka consumer (no group) reads
``matches.v1`` from its end, and only a profile whose first match event has been seen is
polled on ``GET /v1/inbox/{id}`` (by a few concurrent pollers, each profile every
``--poll-interval-s`` at first, then ever less often: ``poll_gap``); its time is when a
response with an item arrives (an upper bound, by at most one gap plus one request). With
``--sample n`` only every n-th profile is polled so (the latency sample); each of the others is
looked up once after the run, so that every profile counts towards the rate and the losses:
the polls are load on notify and FerretDB (a find and an audit entry each, ~20 per profile once
latency is seconds, more than the pipeline's own store commands). A profile is lost when no item
is readable within ``--timeout-s`` after the last POST (under overload that includes late ones)
although a match of hers stood; one without any match event by then is counted as unmatched
(no posting had room for her, or her profile never reached match), and one whose every match
was withdrawn before her inbox was read (a capacity-aware engine gives the place to a better
fit) as withdrawn, each apart.

The raw ceiling sends as many messages as profiles were accepted (at least 1,000, so that it
measures the broker rather than the clients' start-up), of the size of a ``profile.upserted``
event, on a scratch topic of the same broker that is deleted afterwards.

Prints rows ``{"metric", "value", "unit", "baseline", "target", "met"}``; the baselines are
issue 7's figures (SQLite, 400 profiles, 16 clients), or, when the raw ceiling was measured in
the same run, the broker's own rate and latency.

``make bench`` runs this through ``bench.pipeline_bench`` (``python -m bench pipeline``), which
starts the stack itself on scratch data; this module's command line drives a stack already up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.workload import posting_json, profile_json
from services.demo.load import DemoSettings
from services.ingest.documents import PROFILE
from shared.auth import headers
from shared.models import ProfileIn
from shared.store.base import gather_writes

TOPIC_PREFIX = os.environ.get("CHUNFENG_TOPIC_PREFIX", "")
TOPIC_MATCHES = f"{TOPIC_PREFIX}chunfeng.matches.v1"

# issue 7: 400 profiles by 16 clients on SQLite
BASELINE = {"pipeline_profiles_per_s": 0.8, "pipeline_p50_ms": 285_000.0, "pipeline_p99_ms": 491_000.0}
TARGET = {"pipeline_profiles_per_s": 1000.0, "pipeline_p99_ms": 1000.0}


@dataclass
class Tracked:
    sent_at: float
    timed: bool = True  # in the latency sample: polled until readable; otherwise checked once after
    accepted_at: float | None = None
    matched_at: float | None = None
    readable_at: float | None = None
    present: bool = False  # an untimed profile's item was found by the check after the run
    last_poll: float = 0.0
    active: set[str] = field(default_factory=set)  # postings of her matches not withdrawn (the bus)


@dataclass
class Run:
    profiles: dict[str, Tracked] = field(default_factory=dict)
    failed: int = 0
    first_sent: float = 0.0
    last_accepted: float = 0.0
    polls: int = 0
    posting_done: asyncio.Event = field(default_factory=asyncio.Event)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def row(metric: str, value: float, unit: str, *, lower_is_better: bool = False) -> dict[str, Any]:
    target = TARGET.get(metric)
    met = None if target is None else (value <= target if lower_is_better else value >= target)
    return {
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "baseline": BASELINE.get(metric),
        "target": target,
        "met": met,
    }


# --- the pipeline ----------------------------------------------------------------------------


async def post_postings(client: httpx.AsyncClient, n: int) -> None:
    for i in range(n):
        r = await client.post("/v1/postings", json=posting_json(i))
        r.raise_for_status()


async def wait_outbox_empty(client: httpx.AsyncClient, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = (await client.get("/v1/outbox")).json()
        if not stats.get("pending_documents"):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("ingest's outbox did not drain")


async def handled(client: httpx.AsyncClient, event_type: str) -> float:
    """How many events of ``event_type`` the service's busiest consumer group has handled (its
    /metrics): the most of any one group, as two groups reading a topic each see every event."""
    from prometheus_client.parser import text_string_to_metric_families

    most = 0.0
    for family in text_string_to_metric_families((await client.get("/metrics")).text):
        for sample in family.samples:
            if sample.name == "chunfeng_events_handled_total" and sample.labels.get("type") == event_type:
                most = max(most, sample.value)
    return most


async def wait_handled(base_url: str, event_type: str, at_least: int, timeout_s: float = 60) -> None:
    """Until match (or another service) has handled ``at_least`` events of a type: the postings
    are then indexed before the first seeker comes, however loaded the machine (a fixed pause
    was either too short or wasted)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        while await handled(client, event_type) < at_least:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{base_url} did not handle {at_least} {event_type} within {timeout_s:.0f} s"
                )
            await asyncio.sleep(0.2)


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for d in described if not d["error_code"] for p in d["partitions"])


async def watch_matches(
    bootstrap: str, run: Run, ready: asyncio.Event, stop: asyncio.Event, topic: str = TOPIC_MATCHES
) -> None:
    """Note when each tracked profile's first match event is on the bus (keys are profile ids)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        if not parts:
            raise RuntimeError(f"no topic {topic}: is the stack up?")
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        for p in parts:
            await consumer.position(p)  # resolve the end now, before any profile is posted
        ready.set()
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=1000)
            now = time.perf_counter()
            for records in batches.values():
                for rec in records:
                    t = run.profiles.get(rec.key.decode()) if rec.key else None
                    if t is None:
                        continue
                    if t.matched_at is None:
                        t.matched_at = now
                    note_match(t, rec.value)
    finally:
        await consumer.stop()


def note_match(t: Tracked, value: bytes | None) -> None:
    """Keep which of her recommendations stand: a capacity-aware engine withdraws a seeker's match
    when better-fitting seekers fill the posting, and one whose every match went before her inbox
    was read is not lost (her inbox is rightly empty)."""
    try:
        event = json.loads(value or b"{}")
        posting = str(event["payload"]["posting_id"])
    except (ValueError, KeyError, TypeError):
        return
    if event.get("type") == "match.withdrawn":
        t.active.discard(posting)
    else:
        t.active.add(posting)


def poll_gap(waited_s: float, interval_s: float) -> float:
    """How long to leave a profile between polls: ``interval_s`` at first, then a fifth of how long
    it has waited, at most 2 s. The polls are themselves load on notify and FerretDB (a constant
    0.1 s made two thirds of all finds in a backlog), so the error stays within 20 % of the
    latency, and within ``interval_s`` for the sub-second latencies the target is about."""
    return min(2.0, max(interval_s, waited_s / 5))


async def poll_inboxes(
    client: httpx.AsyncClient, run: Run, stop: asyncio.Event, interval_s: float, worker: int
) -> None:
    """Poll the inbox of profiles already matched and not yet readable, oldest first."""
    while not stop.is_set():
        now = time.perf_counter()
        due = [
            (pid, t)
            for pid, t in run.profiles.items()
            if t.timed
            and t.matched_at is not None
            and t.readable_at is None
            and now - t.last_poll >= poll_gap(now - t.matched_at, interval_s)
            and hash(pid) % POLLERS == worker
        ]
        if not due:
            await asyncio.sleep(interval_s / 4)
            continue
        for pid, t in due:
            if stop.is_set():
                return
            t.last_poll = time.perf_counter()
            if await has_item(client, run, pid):
                t.readable_at = time.perf_counter()


async def has_item(client: httpx.AsyncClient, run: Run, pid: str) -> bool:
    """Whether the seeker's inbox shows an item now. The default page size, so that notify
    skips its count (a page shorter than the limit is the whole inbox): each poll is load on
    notify and FerretDB, as the pipeline's own work is."""
    try:
        r = await client.get(f"/v1/inbox/{pid}")
    except httpx.HTTPError:
        return False
    run.polls += 1
    return r.status_code == 200 and bool(r.json().get("items"))


async def check_untimed(client: httpx.AsyncClient, run: Run, deadline: float) -> None:
    """After the timed profiles: each profile outside the sample is looked up once (again every
    second until ``deadline`` while some are missing), so that "lost" counts every profile."""
    while True:
        missing = [pid for pid, t in run.profiles.items() if not t.timed and not t.present]
        found = await gather_writes(has_item(client, run, pid) for pid in missing)
        for pid, there in zip(missing, found, strict=True):
            run.profiles[pid].present = there
        if all(found) or time.perf_counter() > deadline:
            return
        await asyncio.sleep(1.0)


POLLERS = 4


async def post_profiles(
    client: httpx.AsyncClient,
    run: Run,
    *,
    clients: int,
    count: int | None,
    duration_s: float | None,
    rate: float | None,
    batch: int,
    sample: int = 1,
) -> None:
    """``clients`` concurrent clients, each posting one profile after the other (closed loop),
    or, with ``rate``, profiles started at that pace whatever the answers (open loop)."""
    started = 0
    stop_at = time.perf_counter() + duration_s if duration_s else None
    run.first_sent = time.perf_counter()

    def more() -> bool:
        if count is not None and started >= count:
            return False
        return stop_at is None or time.perf_counter() < stop_at

    def next_i() -> int:
        nonlocal started
        started += 1
        return started - 1

    async def one(i: int) -> None:
        sent = time.perf_counter()
        try:
            r = await client.post("/v1/profiles", json=profile_json(i, run=batch))
        except httpx.HTTPError:
            run.failed += 1
            return
        if r.status_code != 201:
            run.failed += 1
            return
        done = time.perf_counter()
        t = run.profiles.setdefault(r.json()["id"], Tracked(sent_at=sent, timed=i % sample == 0))
        t.accepted_at = done
        run.last_accepted = max(run.last_accepted, done)

    async def closed_loop() -> None:
        while more():
            await one(next_i())

    if rate:
        pending: set[asyncio.Task[None]] = set()
        while more():
            task = asyncio.create_task(one(next_i()))
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*pending)
    else:
        await asyncio.gather(*(closed_loop() for _ in range(clients)))
    run.posting_done.set()


async def pipeline(args: argparse.Namespace) -> dict[str, Any]:
    run = Run()
    limits = httpx.Limits(max_connections=args.clients + POLLERS + 4)
    auth = headers(args.key) if args.key else {}
    async with (
        httpx.AsyncClient(base_url=args.ingest, timeout=60, limits=limits, headers=auth) as ingest,
        httpx.AsyncClient(base_url=args.notify, timeout=60, headers=auth) as notify,
    ):
        if args.postings:
            await post_postings(ingest, args.postings)
            await wait_outbox_empty(ingest)
            # match indexes them before the seekers come
            await wait_handled(args.match, "posting.upserted", args.postings)
        stop = asyncio.Event()
        ready = asyncio.Event()
        topic = getattr(args, "matches_topic", None) or TOPIC_MATCHES
        watcher = asyncio.create_task(watch_matches(args.kafka, run, ready, stop, topic))
        await asyncio.wait(
            [watcher, asyncio.create_task(ready.wait())], timeout=30, return_when="FIRST_COMPLETED"
        )
        if watcher.done():
            watcher.result()  # raises what stopped it
        if not ready.is_set():
            raise RuntimeError("the matches topic could not be read within 30 s")
        pollers = [
            asyncio.create_task(poll_inboxes(notify, run, stop, args.poll_interval_s, w))
            for w in range(POLLERS)
        ]
        batch = args.run_id if args.run_id is not None else random.randrange(10)
        await post_profiles(
            ingest,
            run,
            clients=args.clients,
            count=args.profiles,
            duration_s=args.duration_s,
            rate=args.rate,
            batch=batch,
            sample=max(1, getattr(args, "sample", 1)),
        )
        deadline = time.perf_counter() + args.timeout_s
        timed = [t for t in run.profiles.values() if t.timed]
        while time.perf_counter() < deadline and any(t.readable_at is None for t in timed):
            # stop waiting early for profiles that were never matched once matching has caught up,
            # and for those whose every match was withdrawn (their inbox is rightly empty)
            waiting = [t for t in timed if t.readable_at is None and not (t.matched_at and not t.active)]
            if not waiting:
                break
            if all(t.matched_at is None for t in waiting) and time.perf_counter() > run.last_accepted + 15:
                break
            await asyncio.sleep(0.1)
        await check_untimed(notify, run, deadline)
        stop.set()
        await asyncio.gather(watcher, *pollers, return_exceptions=True)
    return summarise(run)


def profile_event_bytes() -> int:
    """The size of one ``profile.upserted`` event as ingest publishes it (the raw run's message)."""
    model = ProfileIn.model_validate(profile_json(0))
    entry = PROFILE.events(model, id=uuid.uuid4().hex, version=1, status="looking")[0]
    return len(json.dumps(entry, ensure_ascii=False).encode())


def summarise(run: Run) -> dict[str, Any]:
    """The run's figures. Latency is the sample's (every profile when ``sample`` is 1); the rate
    counts every profile whose item was readable, up to the last timed one (the sample is spread
    evenly over the run, so its last is within a few profiles of the end); a profile is lost if no
    item was readable in time although one of her matches stood; ``withdrawn`` (every match she had
    was withdrawn before her inbox was read) and ``unmatched`` (no match event in time) apart."""
    tracked = list(run.profiles.values())
    timed = [t for t in tracked if t.timed]
    readable = [t for t in timed if t.readable_at is not None]
    delivered = len(readable) + sum(1 for t in tracked if not t.timed and t.present)
    latencies = [(t.readable_at - t.sent_at) * 1000 for t in readable if t.readable_at is not None]
    match_lat = [(t.matched_at - t.sent_at) * 1000 for t in tracked if t.matched_at is not None]
    last = max((t.readable_at for t in readable if t.readable_at is not None), default=run.first_sent)
    accepted_s = max(run.last_accepted - run.first_sent, 1e-9)
    e2e_s = max(last - run.first_sent, 1e-9)
    missing = [t for t in tracked if t.readable_at is None and not t.present]
    withdrawn = sum(1 for t in missing if t.matched_at is not None and not t.active)
    unmatched = sum(1 for t in missing if t.matched_at is None)
    return {
        "posted": len(tracked) + run.failed,
        "accepted": len(tracked),
        "failed": run.failed,
        "timed": len(timed),
        "readable": delivered,
        # no match event in time: no posting had room for her, or her profile never reached match
        "unmatched": unmatched,
        "withdrawn": withdrawn,
        "lost": len(missing) - withdrawn - unmatched,  # matched, a match standing, never readable
        "accepted_per_s": len(tracked) / accepted_s,
        "e2e_per_s": delivered / e2e_s,
        "p50_ms": pct(latencies, 0.5),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
        "match_p50_ms": pct(match_lat, 0.5),
        "match_p99_ms": pct(match_lat, 0.99),
        "inbox_polls": run.polls,
        "message_bytes": profile_event_bytes(),
    }


# --- the broker on its own -------------------------------------------------------------------


async def raw_kafka(bootstrap: str, n: int, size: int, partitions: int = 3) -> dict[str, float]:
    """Produce ``n`` messages of ``size`` bytes (as ingest's publisher does: acks=all, idempotent,
    linger 2 ms) and consume them on the same broker; messages per second from the first send
    to the last receipt, and the per-message latency."""
    topic = f"{TOPIC_PREFIX}chunfeng.bench.raw.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2
        )
        await consumer.start()
        await producer.start()
        try:
            parts = [TopicPartition(topic, p) for p in range(partitions)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            latencies: list[float] = []
            pad = b"x" * max(0, size - 40)

            async def consume() -> float:
                while len(latencies) < n:
                    batches = await consumer.getmany(timeout_ms=200, max_records=2000)
                    now = time.perf_counter()
                    for records in batches.values():
                        for rec in records:
                            sent = float(rec.value.split(b"|", 1)[0]) if rec.value else now
                            latencies.append((now - sent) * 1000)
                return time.perf_counter()

            receiver = asyncio.create_task(consume())
            t0 = time.perf_counter()
            futures = []
            for i in range(n):
                value = f"{time.perf_counter():.6f}|".encode() + pad
                futures.append(await producer.send(topic, value=value, key=f"k{i}".encode()))
            await asyncio.gather(*futures)
            t_end = await asyncio.wait_for(receiver, 60)
        finally:
            await producer.stop()
            await consumer.stop()
        return {
            "msgs_per_s": n / (t_end - t0),
            "p50_ms": statistics.median(latencies),
            "p99_ms": pct(latencies, 0.99),
        }
    finally:
        with contextlib.suppress(Exception):
            await admin.delete_topics([topic])
        await admin.close()


def result_rows(result: dict[str, Any], raw: dict[str, float] | None) -> list[dict[str, Any]]:
    """The closed-loop run's rows; the raw broker's rate is the pipeline's baseline when measured."""
    rows = [
        row("pipeline_profiles_per_s", result["e2e_per_s"], "profiles/s"),
        row("pipeline_p50_ms", result["p50_ms"], "ms", lower_is_better=True),
        row("pipeline_p99_ms", result["p99_ms"], "ms", lower_is_better=True),
    ]
    if raw is not None:
        rows[0]["baseline"] = round(raw["msgs_per_s"], 1)
        rows[1]["baseline"] = round(raw["p50_ms"], 3)
        rows[2]["baseline"] = round(raw["p99_ms"], 3)
        rows.append(row("pipeline_ratio_to_raw_kafka", result["e2e_per_s"] / raw["msgs_per_s"], "ratio"))
    rows += [
        row("pipeline_accepted_per_s", result["accepted_per_s"], "profiles/s"),
        row("pipeline_lost", result["lost"], "profiles", lower_is_better=True),
        row("pipeline_unmatched", result["unmatched"], "profiles", lower_is_better=True),
    ]
    if raw is not None:
        rows.append(row("raw_kafka_msgs_per_s", raw["msgs_per_s"], "msgs/s"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ingest", default="http://127.0.0.1:8001")
    parser.add_argument(
        "--key", default=DemoSettings().admin_key, help="an admin API key (default: CHUNFENG_ADMIN_KEY)"
    )
    parser.add_argument("--notify", default="http://127.0.0.1:8003")
    parser.add_argument("--match", default="http://127.0.0.1:8002")
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--profiles", type=int, help="post this many profiles (default 400)")
    group.add_argument("--duration-s", type=float, help="post profiles for this long")
    parser.add_argument("--clients", type=int, default=16, help="concurrent posting clients (closed loop)")
    parser.add_argument("--rate", type=float, help="instead: start this many POSTs per second (open loop)")
    parser.add_argument(
        "--postings", type=int, default=16, help="postings posted first (0: use what is there)"
    )
    parser.add_argument("--poll-interval-s", type=float, default=0.1)
    parser.add_argument(
        "--sample", type=int, default=1, help="time every n-th profile (the others are checked once after)"
    )
    parser.add_argument("--timeout-s", type=float, default=120, help="wait this long after the last POST")
    parser.add_argument("--run-id", type=int, help="0-9: keeps phone numbers of runs apart (random)")
    parser.add_argument("--label", default="", help="a note kept with the JSON (e.g. the backend)")
    parser.add_argument("--json", help="also append the result as one JSON line to this file")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw Kafka ceiling")
    args = parser.parse_args(argv)
    if args.profiles is None and args.duration_s is None:
        args.profiles = 400

    result = asyncio.run(pipeline(args))
    raw = (
        None
        if args.no_raw
        else asyncio.run(raw_kafka(args.kafka, max(result["accepted"], 1000), result["message_bytes"]))
    )
    rows = result_rows(result, raw)
    print(json.dumps({**result, "raw_kafka": raw, "label": args.label}, ensure_ascii=False))
    print("| metric | value | unit | baseline | target | met |\n|---|---:|---|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['metric']} | {r['value']:,} | {r['unit']} | {r['baseline'] or ''} | {r['target'] or ''} "
            f"| {'' if r['met'] is None else r['met']} |"
        )
    if args.json:
        with open(args.json, "a") as fh:
            fh.write(
                json.dumps(
                    {"label": args.label, "result": result, "raw_kafka": raw, "rows": rows},
                    ensure_ascii=False,
                )
                + "\n"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
