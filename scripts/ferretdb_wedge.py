"""Reproduces FerretDB 1.24's deadlock on PostgreSQL, and shows what keeps it away.

Why this exists: the local stack and the benchmark stopped answering for good under load (every
service's ``/readyz`` at ``db: false``, FerretDB's PostgreSQL connections all idle). FerretDB
v1.24.2's source explains it (docs/store.md, "Connections"): an ``update`` of an existing
document reads it through a query whose rows stay open (one pooled PostgreSQL connection) and
writes it in a transaction on a second connection; an open cursor holds a connection between
``getMore`` calls. When the operations in flight can hold more than ``pool_max_conns``
connections, each waits for one another holds. A multi-statement ``update`` command keeps every
matched statement's query open until the command returns (``defer`` inside its statement loop),
so one ``bulk_write`` of more replacements of existing documents than the pool has waits on
itself: that was the compose suite's wedge (docs/store.md, the end of "Connections"). This
script runs the mechanisms on a tiny pool so they show in seconds, on its own PostgreSQL and
FerretDB (other ports, scratch data; no stack lock needed, nothing of a running stack is touched):

  python scripts/ferretdb_wedge.py               # all scenarios, pool_max_conns=4, 20 s each
  python scripts/ferretdb_wedge.py --pool 4 --seconds 20 --scenario updates-8

Scenarios (N concurrent callers, P = --pool):
  updates-N  N update_one(upsert) of existing documents, PyMongo maxPoolSize=N (no cap)
  store-N    the same through shared/store/mongo.py with max_pool=P/2 (the fix)
  cursors-N  N finds of 300 documents (open cursors) + N updates, PyMongo maxPoolSize=P/2
  adapter-N  the same through MongoStore(max_pool=P/2)
  bulk-N     one client sending, again and again, one update command of N replacements of
             existing documents (``bulk_write`` of ``ReplaceOne``, what ``replace_many`` sent in
             one command): FerretDB keeps each statement's query open until the command returns
  replace-N  4 concurrent ``replace_many`` of N existing documents each through
             MongoStore(max_pool=M) (M = --max-pool, default P/2), which cuts them into
             commands of at most M statements

Each scenario starts a fresh FerretDB on the same PostgreSQL and reports the operations done,
the longest time without any operation finishing, and the states of FerretDB's PostgreSQL
connections at the end and whether a ``ping`` from another client was answered then (within 3 s).
A scenario is **wedged** when nothing finished for ``--stall`` seconds while operations were in
flight. ``--runs`` repeats each scenario on a fresh FerretDB.

Not part of ``make test``: it needs PostgreSQL and FerretDB binaries (scripts/postgres.sh,
scripts/ferretdb.sh) and takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pymongo import AsyncMongoClient, ReplaceOne  # noqa: E402
from pymongo.errors import PyMongoError  # noqa: E402

from shared.store.mongo import MongoStore  # noqa: E402

PG_PORT = 5499
FERRET_PORT = 27099
FERRET_DEBUG = "127.0.0.1:8099"
DOCS = 300  # more than one first batch (101): a find leaves its cursor open


@dataclass
class Outcome:
    scenario: str
    what: str
    ops: int
    longest_stall_s: float
    wedged: bool
    pg_connections: dict[str, int]
    ping_answered: bool


def _env(pool: int) -> dict[str, str]:
    return {
        **os.environ,
        "POSTGRES_PORT": str(PG_PORT),
        "FERRETDB_PORT": str(FERRET_PORT),
        "FERRETDB_DEBUG_ADDR": FERRET_DEBUG,
        "FERRETDB_PG_POOL": str(pool),
        "CHUNFENG_STORE_BACKEND": "postgresql",
    }


def _script(name: str, *args: str, pool: int) -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / name), *args], check=True, env=_env(pool))


def _pg_states() -> dict[str, int]:
    """States of FerretDB's connections in pg_stat_activity (``idle``, ``idle in transaction``…)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))
    sql = (
        "SELECT coalesce(state, '?') || ': ' || count(*) FROM pg_stat_activity "
        "WHERE usename = 'ferretdb' GROUP BY state ORDER BY state"
    )
    out = subprocess.run(
        [str(bins[-1]), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-qAt", "-c", sql],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {k: int(v) for k, v in (line.split(": ") for line in out.splitlines() if ": " in line)}


@contextlib.contextmanager
def _ferretdb(scratch: Path, pool: int, n: int) -> Iterator[None]:
    data = scratch / f"ferretdb-{n}"
    _script("ferretdb.sh", "start", str(data), pool=pool)
    try:
        yield
    finally:
        _script("ferretdb.sh", "stop", str(data), pool=pool)


async def _pings() -> bool:
    """Does FerretDB still answer a ``ping`` from a client of its own (the wedge's symptom)?"""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        _url(), socketTimeoutMS=3000, serverSelectionTimeoutMS=3000
    )
    try:
        await client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        await client.close()


async def _drive(
    tasks: Sequence[Callable[[], Awaitable[None]]], seconds: float, stall: float
) -> tuple[int, float, dict[str, int], bool]:
    """Run each task in a loop for ``seconds``; return (operations done, longest stall, the
    PostgreSQL connections' states while the operations are still in flight, whether a ping was
    answered then)."""
    done = 0
    last = time.monotonic()
    longest = 0.0

    async def loop(task: Callable[[], Awaitable[None]]) -> None:
        nonlocal done, last
        while True:
            await task()
            done += 1
            last = time.monotonic()

    running = [asyncio.create_task(loop(t)) for t in tasks]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(0.2)
        longest = max(longest, time.monotonic() - last)
        if time.monotonic() - last > stall:
            break  # wedged: waiting longer proves nothing more
        if any(t.done() and t.exception() for t in running):
            raise next(t.exception() for t in running if t.done() and t.exception())  # type: ignore[misc]
    states = _pg_states()
    answered = await _pings()
    for t in running:
        t.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    return done, longest, states, answered


def _url() -> str:
    return f"mongodb://127.0.0.1:{FERRET_PORT}/"


async def _seed(db: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(_url())
    try:
        coll = client[db]["docs"]
        await coll.delete_many({})
        await coll.insert_many([{"_id": f"d{i}", "n": 0} for i in range(DOCS)])
    finally:
        await client.close()


Run = tuple[str, int, float, dict[str, int], bool]  # what, ops done, longest stall, PG states, ping


async def _run(scenario: str, pool: int, seconds: float, stall: float, max_pool: int = 0) -> Run:
    db = "wedge"
    await _seed(db)
    kind, _, count = scenario.partition("-")
    clients = int(count)
    if kind == "updates":
        # ``clients`` concurrent updates of existing documents (an upsert that finds its
        # document takes the same path): PyMongo's pool is as large as the concurrency.
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(_url(), maxPoolSize=clients)
        coll = client[db]["docs"]

        def update(i: int) -> Callable[[], Awaitable[None]]:
            async def op() -> None:
                await coll.update_one({"_id": f"d{i}"}, {"$inc": {"n": 1}}, upsert=True)

            return op

        what = f"{clients} concurrent update_one(upsert) of existing documents, PyMongo maxPoolSize={clients}"
        try:
            done, longest, states, answered = await _drive(
                [update(i) for i in range(clients)], seconds, stall
            )
        finally:
            await client.close()
        return what, done, longest, states, answered
    if kind == "store":
        # The same updates through shared/store/mongo.py, whose max_pool is pool/2: the fix.
        store = MongoStore(_url(), db, max_pool=max(1, pool // 2))
        docs = store.collection("docs")

        def store_update(i: int) -> Callable[[], Awaitable[None]]:
            async def op() -> None:
                await docs.update(f"d{i}", inc={"n": 1}, upsert=True)

            return op

        what = f"{clients} concurrent updates through MongoStore(max_pool={max(1, pool // 2)})"
        try:
            done, longest, states, answered = await _drive(
                [store_update(i) for i in range(clients)], seconds, stall
            )
        finally:
            await store.close()
        return what, done, longest, states, answered
    if kind in ("cursors", "adapter"):
        # ``clients`` concurrent finds of more than one batch, beside as many updates. "cursors":
        # PyMongo's pool capped at pool/2 (what the update arithmetic alone would allow);
        # "adapter": the same through shared/store/mongo.py with max_pool=pool/2.
        cap = max(1, pool // 2)
        if kind == "cursors":
            pclient: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(_url(), maxPoolSize=cap)
            pcoll = pclient[db]["docs"]

            async def find() -> None:
                _ = [d async for d in pcoll.find({})]

            async def upd() -> None:
                await pcoll.update_one({"_id": "d1"}, {"$inc": {"n": 1}})

            closer: Callable[[], Awaitable[None]] = pclient.close
            what = f"{clients} finds of {DOCS} documents + {clients} updates, PyMongo maxPoolSize={cap}"
        else:
            store = MongoStore(_url(), db, max_pool=cap)
            scoll = store.collection("docs")

            async def find() -> None:
                await scoll.find()

            async def upd() -> None:
                await scoll.update("d1", inc={"n": 1})

            closer = store.close
            what = f"{clients} finds of {DOCS} documents + {clients} updates, MongoStore max_pool={cap}"
        try:
            done, longest, states, answered = await _drive([find] * clients + [upd] * clients, seconds, stall)
        finally:
            await closer()
        return what, done, longest, states, answered
    if kind == "bulk":
        # One command of ``clients`` replacements of existing documents, the form replace_many
        # sent before it cut its commands: each matched statement keeps a connection until the
        # command returns, so a command larger than the pool waits on itself.
        bclient: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(_url(), maxPoolSize=1)
        bcoll = bclient[db]["docs"]
        ids = [f"d{i}" for i in range(clients)]

        async def bulk() -> None:
            await bcoll.bulk_write([ReplaceOne({"_id": i}, {"_id": i, "n": 1}, upsert=True) for i in ids])

        what = f"one update command of {clients} replacements of existing documents, PyMongo maxPoolSize=1"
        try:
            done, longest, states, answered = await _drive([bulk], seconds, stall)
        finally:
            await bclient.close()
        return what, done, longest, states, answered
    if kind == "replace":
        # The same documents through replace_many, from 4 tasks at once, on a store whose share
        # of the pool is P/2 slots: commands of at most P/2 statements, weighed by connections.
        cap = max_pool or max(1, pool // 2)
        rstore = MongoStore(_url(), db, max_pool=cap)
        rcoll = rstore.collection("docs")
        rdocs = [{"_id": f"d{i}", "n": 1} for i in range(clients)]

        async def replace() -> None:
            await rcoll.replace_many(rdocs)

        what = f"4 concurrent replace_many of {clients} existing documents, MongoStore max_pool={cap}"
        try:
            done, longest, states, answered = await _drive([replace] * 4, seconds, stall)
        finally:
            await rstore.close()
        return what, done, longest, states, answered
    raise SystemExit(f"unknown scenario {scenario}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pool", type=int, default=4, help="FerretDB's pool_max_conns")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each scenario runs")
    parser.add_argument("--stall", type=float, default=10.0, help="no operation finished this long: wedged")
    parser.add_argument(
        "--scenario",
        action="append",
        help="updates-N, store-N, cursors-N, adapter-N, bulk-N or replace-N (default: updates-2P, "
        "updates-P/2, store-2P, cursors-2P, adapter-2P, bulk-5P, replace-5P for P=--pool)",
    )
    parser.add_argument(
        "--max-pool",
        type=int,
        default=0,
        help="MongoStore's max_pool in replace-N (default P/2; the services' MONGODB_MAX_POOL is 10)",
    )
    parser.add_argument("--runs", type=int, default=1, help="run each scenario this many times")
    parser.add_argument("--json", type=Path, help="also write the outcomes here")
    args = parser.parse_args()
    pool = args.pool
    half, twice = max(1, pool // 2), 2 * pool
    scenarios = args.scenario or [
        f"updates-{twice}",
        f"updates-{half}",
        f"store-{twice}",
        f"cursors-{twice}",
        f"adapter-{twice}",
        f"bulk-{5 * pool}",
        f"replace-{5 * pool}",
    ]
    scratch = Path(tempfile.mkdtemp(prefix="chunfeng-wedge-"))
    scratch.chmod(0o755)  # PostgreSQL runs as its own user and must reach its cluster inside
    outcomes: list[Outcome] = []
    _script("postgres.sh", "start", str(scratch / "postgres"), pool=pool)
    try:
        for n, scenario in enumerate(s for s in scenarios for _ in range(args.runs)):
            with _ferretdb(scratch, pool, n):
                what, done, longest, states, answered = asyncio.run(
                    _run(scenario, pool, args.seconds, args.stall, args.max_pool)
                )
            outcome = Outcome(scenario, what, done, round(longest, 1), longest > args.stall, states, answered)
            outcomes.append(outcome)
            verdict = "WEDGED" if outcome.wedged else "ok"
            ping = "answered" if answered else "NOT answered"
            print(
                f"{scenario:12} {verdict:7} ops={done:<6} longest stall {longest:5.1f} s  "
                f"pool_max_conns={pool}  PG: {states}  ping {ping}  ({what})",
                flush=True,
            )
    finally:
        _script("postgres.sh", "stop", str(scratch / "postgres"), pool=pool)
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps([o.__dict__ for o in outcomes], indent=2) + "\n")


if __name__ == "__main__":
    main()
