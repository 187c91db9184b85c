"""The MongoDB adapter keeps each client's operations in flight under its cap (no server started).

Why it matters: FerretDB 1.24 on PostgreSQL holds up to two pooled PostgreSQL connections per
operation and one per open cursor, and deadlocks when they run out; its pool is sized from this
cap (docs/store.md, "Connections"), so the cap must hold for every call, a find until drained.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shared.settings import CommonSettings
from shared.store.mongo import DEFAULT_MAX_POOL, MongoCollection, MongoStore, Slots, replace_commands


class _SlowCollection:
    """Stands in for a PyMongo collection: every call waits a moment and counts who is inside."""

    name = "slow"

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.commands: list[list[Any]] = []

    async def _enter(self) -> None:
        self.inside += 1
        self.most = max(self.most, self.inside)
        await asyncio.sleep(0.01)

    def _leave(self) -> None:
        self.inside -= 1

    async def find_one(self, flt: dict[str, Any]) -> dict[str, Any]:
        await self._enter()
        self._leave()
        return {"_id": flt["_id"]}

    async def update_one(self, flt: dict[str, Any], ops: dict[str, Any], upsert: bool) -> Any:
        await self._enter()
        self._leave()
        return type("R", (), {"matched_count": 1, "upserted_id": None})()

    async def bulk_write(self, requests: list[Any]) -> None:
        """Weighs what FerretDB 1.24 may hold for it: a connection per statement and one more."""
        self.inside += len(requests)
        await self._enter()
        self.commands.append([r._doc["_id"] for r in requests])
        self._leave()
        self.inside -= len(requests)

    def find(self, flt: dict[str, Any]) -> Any:
        outer = self

        class _Cursor:
            """A cursor of three batches: inside from the first batch until drained."""

            def __aiter__(self) -> Any:
                return self._gen()

            async def _gen(self) -> Any:
                await outer._enter()
                try:
                    for i in range(3):
                        await asyncio.sleep(0.005)  # a getMore
                        yield {"_id": i}
                finally:
                    outer._leave()

        return _Cursor()


async def test_operations_in_flight_never_exceed_the_cap_finds_counted_until_drained() -> None:
    coll = _SlowCollection()
    store = MongoCollection(coll, slots=Slots(3))
    calls = [store.get(f"a{i}") for i in range(10)]
    calls += [store.update(f"b{i}", inc={"n": 1}) for i in range(10)]
    calls += [store.find() for _ in range(10)]
    await asyncio.gather(*calls)
    assert coll.most == 3
    assert coll.inside == 0


async def test_the_store_gives_pymongo_a_pool_of_the_cap_whatever_the_url_says() -> None:
    store = MongoStore("mongodb://127.0.0.1:1/?maxPoolSize=100", "t", max_pool=7)
    try:
        assert store._client.options.pool_options.max_pool_size == 7
    finally:
        await store.close()


def test_the_cap_is_a_setting_with_the_default_the_pool_arithmetic_counts(monkeypatch: Any) -> None:
    monkeypatch.delenv("MONGODB_MAX_POOL", raising=False)
    assert CommonSettings().mongodb_max_pool == DEFAULT_MAX_POOL == 10
    monkeypatch.setenv("MONGODB_MAX_POOL", "4")
    assert CommonSettings().mongodb_max_pool == 4


def test_replacements_are_cut_into_commands_no_larger_than_the_slots_and_weighed_by_connections() -> None:
    docs = [{"_id": i} for i in range(23)]
    commands = replace_commands(docs, 10)
    assert [len(part) for part, _ in commands] == [10, 10, 3]
    assert [slots for _, slots in commands] == [6, 6, 2]  # s statements + 1 write, two a slot
    assert [d for part, _ in commands for d in part] == docs  # in order, none lost
    assert replace_commands([{"_id": 1}], 1) == [([{"_id": 1}], 1)]
    for size in range(1, 12):
        for part, slots in replace_commands([{"_id": i} for i in range(50)], size):
            assert 2 * slots >= len(part) + 1 and slots <= size


async def test_large_replace_many_and_ordinary_calls_stay_within_the_connections_of_the_cap() -> None:
    coll = _SlowCollection()
    store = MongoCollection(coll, slots=Slots(3))  # 3 slots: at most 6 connections in FerretDB
    batches = [[{"_id": f"r{k}-{i}"} for i in range(20)] for k in range(3)]
    calls = [store.replace_many(batch) for batch in batches]
    calls += [store.get(f"a{i}") for i in range(10)]
    calls += [store.update(f"b{i}", inc={"n": 1}) for i in range(10)]
    await asyncio.gather(*calls)
    # ordinary calls count 2 connections each in the arithmetic; here 1 is recorded per call
    assert coll.most <= 2 * 3
    assert max(len(c) for c in coll.commands) == 3
    assert sorted(i for c in coll.commands for i in c) == sorted(d["_id"] for b in batches for d in b)
    assert coll.inside == 0
