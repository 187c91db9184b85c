"""The MongoDB adapter keeps each client's operations in flight under its cap (no server started).

Why it matters: FerretDB 1.24 on PostgreSQL holds up to two pooled PostgreSQL connections per
operation and one per open cursor, and deadlocks when they run out; its pool is sized from this
cap (docs/store.md, "Connections"), so the cap must hold for every call, a find until drained.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shared.settings import CommonSettings
from shared.store.mongo import DEFAULT_MAX_POOL, MongoCollection, MongoStore


class _SlowCollection:
    """Stands in for a PyMongo collection: every call waits a moment and counts who is inside."""

    name = "slow"

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0

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
    store = MongoCollection(coll, slots=asyncio.Semaphore(3))
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
