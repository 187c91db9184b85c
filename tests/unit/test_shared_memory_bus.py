"""The embedded bus keeps Kafka's semantics: per-key order, groups, committed offsets."""

from __future__ import annotations

from shared.bus.base import TopicSpec
from shared.bus.memory import MemoryBus


async def test_per_key_order_and_resume_from_committed_offset() -> None:
    bus = MemoryBus()
    await bus.ensure_topics([TopicSpec("t", 3)])
    pub = bus.publisher("p")
    for i in range(10):
        await pub.publish("t", f"k{i % 2}", str(i).encode())
    c1 = bus.consumer("g", ["t"], "c1")
    records = await c1.poll(0.01, 4)
    assert len(records) == 4
    await c1.commit(records[:2])
    await c1.stop()  # crashed before committing the other two
    c2 = bus.consumer("g", ["t"], "c2")
    seen = [r.value for r in records[:2]]
    while batch := await c2.poll(0.01, 100):
        seen += [r.value for r in batch]
        await c2.commit(batch)
    assert sorted(int(v) for v in seen) == list(range(10))  # nothing lost
    by_key: dict[str, list[int]] = {}
    for r in bus.records("t"):
        by_key.setdefault(r.key, []).append(int(r.value))
    assert all(v == sorted(v) for v in by_key.values())


async def test_members_of_one_group_share_partitions_and_groups_are_independent() -> None:
    bus = MemoryBus()
    await bus.ensure_topics([TopicSpec("t", 3)])
    for i in range(30):
        await bus.publisher("p").publish("t", f"k{i}", b"x")
    a, b = bus.consumer("g", ["t"], "a"), bus.consumer("g", ["t"], "b")
    await a.start()
    await b.start()
    got_a, got_b = await a.poll(0.01, 100), await b.poll(0.01, 100)
    assert len(got_a) + len(got_b) == 30 and got_a and got_b
    assert not {(r.partition, r.offset) for r in got_a} & {(r.partition, r.offset) for r in got_b}
    other = bus.consumer("h", ["t"], "x")
    assert len(await other.poll(0.01, 100)) == 30
