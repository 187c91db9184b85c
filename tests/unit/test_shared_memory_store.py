"""The embedded store implements the documented subset with MongoDB's meaning."""

from __future__ import annotations

import asyncio

from shared.store.base import gather_writes
from shared.store.memory import MemoryStore


async def test_insert_is_idempotent_and_update_is_conditional() -> None:
    c = MemoryStore().collection("x")
    assert await c.insert({"_id": "a", "version": 1, "outbox": []})
    assert not await c.insert({"_id": "a", "version": 9})
    assert await c.update("a", inc={"version": 1}, push={"outbox": {"e": 1}}, where={"version": 1})
    assert not await c.update("a", set={"stale": True}, where={"version": 1})
    doc = await c.get("a")
    assert doc == {"_id": "a", "version": 2, "outbox": [{"e": 1}]}


async def test_filters_sort_and_copies() -> None:
    c = MemoryStore().collection("x")
    for i in range(5):
        await c.insert({"_id": str(i), "n": i, "tags": ["a"] if i % 2 else ["b"], "d": {"k": i}})
    assert [d["_id"] for d in await c.find({"n": {"$gte": 3}}, sort=[("n", -1)])] == ["4", "3"]
    assert await c.count({"tags": "a"}) == 2
    assert await c.count({"d.k": {"$in": [0, 4]}}) == 2
    assert await c.count({"missing": {"$exists": False}}) == 5
    doc = await c.get("1")
    assert doc is not None
    doc["n"] = 100
    assert (await c.get("1") or {})["n"] == 1


async def test_insert_many_reports_per_document_whether_it_was_new() -> None:
    c = MemoryStore().collection("x")
    assert await c.insert({"_id": "a", "n": 0})
    assert await c.insert_many([{"_id": "b", "n": 1}, {"_id": "a", "n": 2}, {"_id": "b", "n": 3}]) == [
        True,
        False,
        False,
    ]
    assert [d["n"] for d in await c.find({}, sort=[("_id", 1)])] == [0, 1]  # the first write of each id stays


async def test_gather_writes_keeps_order_and_at_most_the_limit_in_flight() -> None:
    in_flight, peak = 0, 0

    async def write(i: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        return i

    assert await gather_writes((write(i) for i in range(50)), limit=3) == list(range(50))
    assert peak == 3
