"""Store micro-benchmark: the queries the services issue per event, on each FerretDB backend.

Why: issue 7's pipeline slowed down with everything stored before each event. This measures,
for every store call on the services' hot paths (the filters, sorts and limits they really
pass, through the same ``MongoStore`` adapter, on documents of the shapes they really write),
how its latency grows with the collection: flat means an index (or an ``_id`` lookup) answers
it, linear means a scan of the collection.

    python -m bench.store [--backends sqlite,postgresql,postgresql-gin] [--sizes 1000,10000,50000]

Each backend gets its own FerretDB (127.0.0.1:27118) and, for PostgreSQL, its own cluster
(127.0.0.1:5434) under ``var/bench-store``, started and stopped here, beside (not instead
of) a running stack. ``postgresql`` is FerretDB on PostgreSQL as it is; ``postgresql-gin`` adds
the GIN companion indexes of ``infra/postgres/gin-companions.sql``. Every collection holds
``size`` documents when an operation is timed; each operation repeats for about
``--budget-s`` seconds (at least once). Prints one table and, with ``--json``, writes rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from bench.workload import posting_json, profile_json
from services.ingest.documents import PROFILE, new_document
from services.ingest.repository import Repository
from services.match.engine import MatchEngine
from services.match.scoring import load_policy
from services.notify import documents as nd
from services.notify.app import ensure_indexes as notify_indexes
from shared.events import MatchView
from shared.models import PostingIn, ProfileIn
from shared.store.base import Store
from shared.store.mongo import MongoStore
from shared.views import contact_view, posting_view, profile_match_view

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-store"
FERRET_PORT = 27118
PG_PORT = 5434
URL = f"mongodb://127.0.0.1:{FERRET_PORT}/"
DB_INGEST, DB_MATCH, DB_NOTIFY = "bench_ingest", "bench_match", "bench_notify"
BACKENDS = ("sqlite", "postgresql", "postgresql-gin")


# --- the backend under test ------------------------------------------------------------------


class Backend:
    """FerretDB (and PostgreSQL under it) on side ports, started fresh and stopped after."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handler = "sqlite" if name == "sqlite" else "postgresql"
        self.dir = VAR / name
        self.env = {
            **os.environ,
            "CHUNFENG_STORE_BACKEND": self.handler,
            "FERRETDB_PORT": str(FERRET_PORT),
            "FERRETDB_DEBUG_ADDR": "127.0.0.1:8189",
            "POSTGRES_PORT": str(PG_PORT),
            "POSTGRES_GIN_COMPANIONS": "1" if name == "postgresql-gin" else "0",
        }

    def _script(self, script: str, *args: str) -> None:
        subprocess.run(
            ["bash", str(ROOT / "scripts" / script), *args],
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        subprocess.run(["rm", "-rf", str(self.dir / "ferretdb")], check=True)
        if self.handler == "postgresql":
            self._script("postgres.sh", "start", str(self.dir / "postgres"))
        self._script("ferretdb.sh", "start", str(self.dir / "ferretdb"))

    def stop(self) -> None:
        self._script("ferretdb.sh", "stop", str(self.dir / "ferretdb"))
        if self.handler == "postgresql":
            self._script("postgres.sh", "stop", str(self.dir / "postgres"))

    def analyze(self) -> None:
        """What autovacuum does to a table that grew: statistics the planner needs to pick an index."""
        if self.handler == "postgresql":
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(PG_PORT),
                    "-U",
                    "postgres",
                    "-d",
                    "ferretdb",
                    "-qc",
                    "ANALYZE",
                ],
                check=True,
            )


# --- realistic documents ---------------------------------------------------------------------


@dataclass
class Samples:
    """One of each stored shape, from the real builders; copies get other ids."""

    profile_in: list[ProfileIn]
    matches: list[MatchView]

    @classmethod
    def build(cls) -> Samples:
        profiles = [ProfileIn.model_validate(profile_json(i)) for i in range(10)]
        engine = MatchEngine(load_policy())
        for i in range(16):
            engine.apply_posting(
                posting_view(PostingIn.model_validate(posting_json(i)), id=f"q{i}", version=1, status="open")
            )
        matches: list[MatchView] = []
        for i, p in enumerate(profiles):
            for change in engine.apply_profile(profile_match_view(p, id=f"p{i}", version=1)):
                matches.append(change.match)
        return cls(profiles, matches)


def pid(i: int) -> str:
    return f"{i:032x}"


def ingest_profile(s: Samples, i: int, *, at: str) -> dict[str, Any]:
    doc = new_document(PROFILE, s.profile_in[i % len(s.profile_in)], id=pid(i), at=at)
    doc["data"]["phone"] = f"137{i:08d}"
    doc["identity"] = f"phone:137{i:08d}"
    doc["outbox"], doc["outbox_pending"] = [], False  # published, as nearly all are
    return doc


def match_profile(s: Samples, i: int) -> dict[str, Any]:
    view = profile_match_view(s.profile_in[i % len(s.profile_in)], id=pid(i), version=1)
    return {
        "_id": pid(i),
        "version": 1,
        "status": view.status,
        "view": view.model_dump(mode="json"),
        "updated_at": datetime.now(UTC),
    }


def match_view(s: Samples, i: int) -> MatchView:
    m = s.matches[i % len(s.matches)]
    profile_id, posting_id = pid(i // 5), f"q{i % 97}"
    return m.model_copy(
        update={"match_id": f"{profile_id}:{posting_id}", "profile_id": profile_id, "posting_id": posting_id}
    )


def match_doc(s: Samples, i: int) -> dict[str, Any]:
    m = match_view(s, i)
    return {
        "_id": m.match_id,
        "profile_id": m.profile_id,
        "posting_id": m.posting_id,
        "status": "active",
        "score": m.score,
        "view": m.model_dump(mode="json"),
        "updated_at": datetime.now(UTC),
    }


def recommendation(s: Samples, i: int, now: datetime) -> dict[str, Any]:
    return nd.recommendation_doc(match_view(s, i), now=now - timedelta(seconds=i), event_at=now)


def delivery(s: Samples, i: int, now: datetime) -> dict[str, Any]:
    m = match_view(s, i)
    doc = nd.delivery_doc(m.profile_id, m.posting_id, "sms", now=now - timedelta(hours=30))
    if i % 100:  # the steady state: nearly all were sent (yesterday), a few wait
        doc.update(status=nd.SENT, sent_at=now - timedelta(hours=29), attempts=1)
    return doc


def contact(s: Samples, i: int, now: datetime) -> dict[str, Any]:
    view = contact_view(s.profile_in[i % len(s.profile_in)], id=pid(i), version=1)
    return nd.contact_doc(view, now=now)


# --- the operations --------------------------------------------------------------------------


@dataclass
class Ctx:
    store_ingest: Store
    store_match: Store
    store_notify: Store
    samples: Samples
    size: int
    now: datetime
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    fresh: Iterator[int] = field(default_factory=lambda: iter(range(10**9, 2 * 10**9)))

    def some(self) -> int:
        return self.rng.randrange(self.size)


Op = Callable[[Ctx], Awaitable[Any]]


@dataclass(frozen=True)
class Operation:
    name: str
    where: str  # which code issues it, and how often
    run: Op
    per_profile: float = 0.0  # how many times one posted profile causes it (0: not per event)


def _ops() -> list[Operation]:
    def ing(c: Ctx) -> Any:
        return c.store_ingest.collection("profiles")

    def mat(c: Ctx, name: str) -> Any:
        return c.store_match.collection(name)

    def nfy(c: Ctx, name: str) -> Any:
        return c.store_notify.collection(name)

    async def ingest_insert(c: Ctx) -> Any:
        return await ing(c).insert(ingest_profile(c.samples, next(c.fresh), at=datetime.now(UTC).isoformat()))

    async def ingest_cas(c: Ctx) -> Any:
        return await ing(c).update(
            pid(c.some()), set={"outbox": [], "outbox_pending": False}, where={"version": 1}
        )

    async def ingest_phone(c: Ctx) -> Any:
        return await ing(c).find(
            {"identity": f"phone:137{c.some():08d}", "status": {"$ne": "deleted"}},
            sort=[("created_at", 1)],
            limit=1,
        )

    async def ingest_page(c: Ctx) -> Any:
        where = {"status": {"$ne": "deleted"}}
        await ing(c).find(where, sort=[("created_at", -1), ("_id", -1)], limit=50)
        return await ing(c).count(where)

    async def match_replace(c: Ctx) -> Any:
        return await mat(c, "profiles").replace(match_profile(c.samples, c.some()))

    async def match_persist(c: Ctx) -> Any:
        return await mat(c, "matches").replace(match_doc(c.samples, c.some()))

    async def match_persist_batch(c: Ctx) -> Any:
        first = c.some()
        return await mat(c, "matches").replace_many([match_doc(c.samples, first + k) for k in range(3)])

    async def rec_insert(c: Ctx) -> Any:
        return await nfy(c, nd.RECOMMENDATIONS).insert(recommendation(c.samples, next(c.fresh), c.now))

    async def delivery_insert(c: Ctx) -> Any:
        return await nfy(c, nd.DELIVERIES).insert(delivery(c.samples, next(c.fresh), c.now))

    async def rec_refresh(c: Ctx) -> Any:
        m = match_view(c.samples, c.some())
        return await nfy(c, nd.RECOMMENDATIONS).update(
            m.match_id, set={"score": m.score}, where={"event_at": {"$lte": c.now}}
        )

    async def claim(c: Ctx) -> Any:
        m = match_view(c.samples, c.some())
        return await nfy(c, nd.DELIVERIES).update(
            nd.delivery_id(m.profile_id, m.posting_id, "sms"), set={"attempts": 1}, where={"status": nd.SENT}
        )

    async def pushed_today(c: Ctx) -> Any:
        start = c.now - timedelta(hours=12)
        return await nfy(c, nd.DELIVERIES).find(
            {"profile_id": pid(c.some() // 5), "status": nd.SENT, "sent_at": {"$gte": start, "$lt": c.now}}
        )

    def rec_of(c: Ctx) -> str:
        m = match_view(c.samples, c.some())
        return m.match_id

    return [
        Operation("ingest.insert", "POST /v1/profiles: the new document with its outbox", ingest_insert, 1),
        Operation(
            "ingest.get",
            "outbox relay (kicked): read the written document by _id",
            lambda c: ing(c).get(pid(c.some())),
            1,
        ),
        Operation(
            "ingest.update_cas",
            "outbox relay: clear the outbox where version unchanged (also every PUT/status change)",
            ingest_cas,
            1,
        ),
        Operation(
            "ingest.outbox_sweep",
            "outbox relay, once per interval: pending documents",
            lambda c: ing(c).find({"outbox_pending": True}, sort=[("updated_at", 1)], limit=200),
        ),
        Operation("ingest.outbox_count", "GET /v1/outbox", lambda c: ing(c).count({"outbox_pending": True})),
        Operation(
            "ingest.by_phone", "spreadsheet import: the profile with this phone, per row", ingest_phone
        ),
        Operation("ingest.page", "GET /v1/profiles: newest 50 and the total", ingest_page),
        Operation(
            "match.get",
            "profile event: the stored snapshot's version",
            lambda c: mat(c, "profiles").get(pid(c.some())),
            1,
        ),
        Operation("match.replace", "profile event: the new snapshot (upsert by _id)", match_replace, 1),
        Operation("match.persist", "before: each match change replaced by _id, one call each", match_persist),
        Operation(
            "match.persist_batch",
            "each event: its (here 3) matches in one replace_many",
            match_persist_batch,
            1,
        ),
        Operation(
            "match.api_by_profile",
            "GET /v1/matches?profile_id",
            lambda c: mat(c, "matches").find({"profile_id": pid(c.some() // 5)}, sort=[("score", -1)]),
        ),
        Operation(
            "notify.contact_get",
            "contact event, match event, each delivery: the contact by _id",
            lambda c: nfy(c, nd.CONTACTS).get(pid(c.some())),
            1 + 5 + 5,
        ),
        Operation(
            "notify.contact_recs",
            "contact event: recommendations awaiting deliveries",
            lambda c: nfy(c, nd.RECOMMENDATIONS).find(
                {"profile_id": pid(c.some() // 5), "status": "active", "deliveries_scheduled": False}
            ),
            1,
        ),
        Operation("notify.rec_insert", "match event: the inbox item (insert by _id)", rec_insert, 5),
        Operation(
            "notify.rec_get",
            "match event, each delivery: the recommendation by _id",
            lambda c: nfy(c, nd.RECOMMENDATIONS).get(rec_of(c)),
            5 + 5,
        ),
        Operation("notify.delivery_insert", "match event: one delivery per push channel", delivery_insert, 5),
        Operation(
            "notify.rec_mark",
            "match event: deliveries_scheduled (update by _id only)",
            lambda c: nfy(c, nd.RECOMMENDATIONS).update(rec_of(c), set={"deliveries_scheduled": True}),
            5,
        ),
        Operation("notify.rec_refresh", "match.updated: refresh where event_at <= t", rec_refresh),
        Operation(
            "notify.inbox",
            "GET /v1/inbox/{profile_id}",
            lambda c: nfy(c, nd.RECOMMENDATIONS).find(
                {"profile_id": pid(c.some() // 5), "status": "active"},
                sort=[("created_at", -1), ("_id", 1)],
                limit=50,
            ),
        ),
        Operation(
            "notify.worker_due",
            "worker, every tick: due pending deliveries",
            lambda c: nfy(c, nd.DELIVERIES).find(
                {"status": nd.PENDING, "due_at": {"$lte": c.now}}, sort=[("due_at", 1)], limit=50
            ),
        ),
        Operation(
            "notify.worker_leases",
            "worker, every tick: expired leases",
            lambda c: nfy(c, nd.DELIVERIES).find({"status": nd.SENDING, "lease_until": {"$lt": c.now}}),
        ),
        Operation(
            "notify.worker_dead",
            "worker, every tick: dead letters owed",
            lambda c: nfy(c, nd.DELIVERIES).find({"status": nd.DEAD, "dead_letter_pending": True}),
        ),
        Operation(
            "notify.worker_replies",
            "worker, every tick: replies owed to match",
            lambda c: nfy(c, nd.RECOMMENDATIONS).find(
                {"feedback_pending": True}, sort=[("_id", 1)], limit=50
            ),
        ),
        Operation("notify.claim_cas", "each delivery: claim (and later finish) where status", claim, 5),
        Operation("notify.pushed_today", "each delivery: the daily cap's count", pushed_today, 5),
        Operation(
            "notify.cancel_pending",
            "match.withdrawn: pending deliveries of the recommendation",
            lambda c: nfy(c, nd.DELIVERIES).find({"recommendation_id": rec_of(c), "status": nd.PENDING}),
        ),
    ]


OPERATIONS = _ops()


# --- seeding and timing ----------------------------------------------------------------------


def seed(size: int, samples: Samples, now: datetime) -> None:
    """``size`` documents in each collection, written in bulk (seeding is not what is measured)."""
    client: MongoClient[dict[str, Any]] = MongoClient(URL, tz_aware=True)
    try:
        at = now - timedelta(days=1)
        builders: list[tuple[str, str, Callable[[int], dict[str, Any]]]] = [
            (
                DB_INGEST,
                "profiles",
                lambda i: ingest_profile(
                    samples, i, at=(at + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                ),
            ),
            (DB_MATCH, "profiles", lambda i: match_profile(samples, i)),
            (DB_MATCH, "matches", lambda i: match_doc(samples, i)),
            (DB_NOTIFY, nd.RECOMMENDATIONS, lambda i: recommendation(samples, i, now)),
            (DB_NOTIFY, nd.DELIVERIES, lambda i: delivery(samples, i, now)),
            (DB_NOTIFY, nd.CONTACTS, lambda i: contact(samples, i, now)),
        ]
        for db, coll, build in builders:
            target = client[db][coll]
            for lo in range(0, size, 1000):
                target.insert_many([build(i) for i in range(lo, min(size, lo + 1000))], ordered=False)
    finally:
        client.close()


def drop_all() -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(URL)
    try:
        for db in (DB_INGEST, DB_MATCH, DB_NOTIFY):
            client.drop_database(db)
    finally:
        client.close()


async def ensure_service_indexes(ctx: Ctx) -> None:
    """The indexes the services create at start, through their own code."""
    await Repository(ctx.store_ingest, PROFILE).ensure_indexes()
    matches = ctx.store_match.collection("matches")
    for field_ in ("profile_id", "posting_id", "status"):  # MatchProcessor.setup
        await matches.ensure_index([(field_, 1)])
    await notify_indexes(ctx.store_notify)


async def time_op(op: Operation, ctx: Ctx, budget_s: float, max_reps: int = 200) -> list[float]:
    """Repeat for about ``budget_s``; the first call warms connections and plans, unless it alone
    took the whole budget (a scan of a big collection on SQLite takes tens of seconds)."""
    t0 = time.perf_counter()
    await op.run(ctx)
    first = time.perf_counter() - t0
    if first >= budget_s:
        return [first * 1000]
    times: list[float] = []
    spent = 0.0
    while spent < budget_s and len(times) < max_reps:
        t0 = time.perf_counter()
        await op.run(ctx)
        dt = time.perf_counter() - t0
        times.append(dt * 1000)
        spent += dt
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    backend: Backend, sizes: list[int], budget_s: float, samples: Samples
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for size in sizes:
        drop_all()
        now = datetime.now(UTC)
        stores = [MongoStore(URL, db) for db in (DB_INGEST, DB_MATCH, DB_NOTIFY)]
        ctx = Ctx(stores[0], stores[1], stores[2], samples=samples, size=size, now=now)
        try:
            await ensure_service_indexes(ctx)
            t0 = time.perf_counter()
            seed(size, samples, now)
            seeded_s = time.perf_counter() - t0
            backend.analyze()
            print(f"  {backend.name}: {size} docs per collection seeded in {seeded_s:.1f}s", flush=True)
            for op in OPERATIONS:
                times = await time_op(op, ctx, budget_s)
                rows.append(
                    {
                        "backend": backend.name,
                        "size": size,
                        "op": op.name,
                        "reps": len(times),
                        "p50_ms": statistics.median(times),
                        "p99_ms": pct(times, 0.99),
                        "mean_ms": statistics.fmean(times),
                        "per_profile": op.per_profile,
                    }
                )
        finally:
            for s in stores:
                await s.close()
    return rows


# --- report ----------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]], backends: list[str], sizes: list[int]) -> str:
    """One line per operation: p50 per backend and size, and how it grows from smallest to largest."""
    by = {(r["backend"], r["size"], r["op"]): r for r in rows}
    head = ["operation", *(f"{b} {s / 1000:g}k" for b in backends for s in sizes)]
    head += [f"{b} ×" for b in backends]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * (len(head) - 1)]
    totals: dict[tuple[str, int], float] = {}
    for op in OPERATIONS:
        cells = [op.name]
        for b in backends:
            for s in sizes:
                r = by.get((b, s, op.name))
                cells.append(f"{r['p50_ms']:.2f}" if r else "")
                if r:
                    totals[(b, s)] = totals.get((b, s), 0.0) + r["mean_ms"] * op.per_profile
        for b in backends:
            lo, hi = by.get((b, sizes[0], op.name)), by.get((b, sizes[-1], op.name))
            cells.append(f"{hi['p50_ms'] / lo['p50_ms']:.0f}" if lo and hi and lo["p50_ms"] > 0 else "")
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**store ms per posted profile**"]
    for b in backends:
        for s in sizes:
            cells.append(f"{totals.get((b, s), 0):.1f}")
    cells += [""] * len(backends)
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--budget-s", type=float, default=1.0, help="time spent per operation and size")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backends {sorted(unknown)}; choose from {BACKENDS}")
    sizes = sorted(int(s) for s in args.sizes.split(","))
    samples = Samples.build()
    rows: list[dict[str, Any]] = []
    for name in backends:
        backend = Backend(name)
        backend.start()
        try:
            rows += asyncio.run(measure(backend, sizes, args.budget_s, samples))
        finally:
            backend.stop()
    print()
    print(
        "p50 latency (ms) of one store call through MongoStore; × = p50 at the largest size / at the smallest"
    )
    print(table(rows, backends, sizes))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
