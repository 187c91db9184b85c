"""The embedded bus: Kafka's semantics inside one process, for ``make run`` and fast tests.

Not a mock: it keeps topics with partitions (records placed by key hash, so per-key order
holds), consumer groups that share partitions among their members, and committed offsets
from which a re-joining member resumes. What it does not keep is durability across a process
restart — the embedded mode is for demos; deployments use Kafka — nor compaction: a tombstone
is appended like any record.
"""

from __future__ import annotations

import asyncio
import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.bus.base import Bus, Consumer, Publisher, Record, TopicSpec


def partition_for(key: str, partitions: int) -> int:
    return zlib.crc32(key.encode()) % partitions


@dataclass
class _Group:
    committed: dict[tuple[str, int], int] = field(default_factory=dict)
    members: list[MemoryConsumer] = field(default_factory=list)
    generation: int = 0


class MemoryBus(Bus):
    def __init__(self, default_partitions: int = 3) -> None:
        self.default_partitions = default_partitions
        self._topics: dict[str, list[list[Record]]] = {}
        self._groups: dict[str, _Group] = {}
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)

    # -- topics ---------------------------------------------------------------------------
    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> None:
        for spec in specs:
            self._topic(spec.name, spec.partitions)

    def _topic(self, name: str, partitions: int | None = None) -> list[list[Record]]:
        if name not in self._topics:
            # Created on first use too: the embedded bus has no operator to forget a topic.
            self._topics[name] = [[] for _ in range(partitions or self.default_partitions)]
        return self._topics[name]

    def records(self, topic: str) -> list[Record]:
        """Every record of a topic, partition by partition (for tests and the demo)."""
        return [r for part in self._topic(topic) for r in part]

    async def _append(self, topic: str, key: str, value: bytes | None) -> None:
        parts = self._topic(topic)
        p = partition_for(key, len(parts))
        parts[p].append(Record(topic, p, len(parts[p]), key, value))
        async with self._changed:
            self._changed.notify_all()

    async def _wait(self, timeout_s: float) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout_s)
            except TimeoutError:
                pass

    # -- groups -----------------------------------------------------------------------------
    def _join(self, group_id: str, member: MemoryConsumer) -> None:
        group = self._groups.setdefault(group_id, _Group())
        group.members.append(member)
        self._rebalance(group)

    def _leave(self, group_id: str, member: MemoryConsumer) -> None:
        group = self._groups.get(group_id)
        if group and member in group.members:
            group.members.remove(member)
            self._rebalance(group)

    def _rebalance(self, group: _Group) -> None:
        """Range-style assignment; every member restarts from the group's committed offsets."""
        group.generation += 1
        for m in group.members:
            m._assignment = {}
        if not group.members:
            return
        slots = sorted({(t, p) for m in group.members for t in m.topics for p in range(len(self._topic(t)))})
        for i, tp in enumerate(slots):
            member = group.members[i % len(group.members)]
            if tp[0] in member.topics:
                member._assignment[tp] = group.committed.get(tp, 0)

    def committed(self, group_id: str) -> dict[tuple[str, int], int]:
        return dict(self._groups.get(group_id, _Group()).committed)

    # -- factories --------------------------------------------------------------------------
    def publisher(self, client_id: str) -> Publisher:
        return MemoryPublisher(self)

    def consumer(self, group_id: str, topics: Sequence[str], client_id: str) -> Consumer:
        return MemoryConsumer(self, group_id, list(topics))


class MemoryPublisher(Publisher):
    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus
        self.available = True  # tests flip this to simulate a broker outage

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, topic: str, key: str, value: bytes | None) -> None:
        if not self.available:
            from shared.bus.base import BusUnavailable

            raise BusUnavailable("embedded bus marked unavailable")
        await self._bus._append(topic, key, value)

    async def ping(self) -> bool:
        return self.available


class MemoryConsumer(Consumer):
    def __init__(self, bus: MemoryBus, group_id: str, topics: list[str]) -> None:
        self._bus = bus
        self.group_id = group_id
        self.topics = topics
        self._assignment: dict[tuple[str, int], int] = {}  # (topic, partition) -> position
        self._joined = False

    async def start(self) -> None:
        if not self._joined:
            self._bus._join(self.group_id, self)
            self._joined = True

    async def stop(self) -> None:
        if self._joined:
            self._bus._leave(self.group_id, self)
            self._joined = False

    def _take(self, max_records: int) -> list[Record]:
        out: list[Record] = []
        for (topic, p), pos in sorted(self._assignment.items()):
            part = self._bus._topic(topic)[p]
            batch = part[pos : pos + max_records - len(out)]
            if batch:
                out.extend(batch)
                self._assignment[(topic, p)] = pos + len(batch)
            if len(out) >= max_records:
                break
        return out

    async def poll(self, timeout_s: float = 1.0, max_records: int = 100) -> list[Record]:
        await self.start()
        records = self._take(max_records)
        if not records:
            await self._bus._wait(timeout_s)
            records = self._take(max_records)
        return records

    async def commit(self, records: Sequence[Record]) -> None:
        group = self._bus._groups[self.group_id]
        for r in records:
            tp = (r.topic, r.partition)
            if tp in self._assignment:  # a revoked partition's commit is dropped, as in Kafka
                group.committed[tp] = max(group.committed.get(tp, 0), r.offset + 1)

    async def ping(self) -> bool:
        return True
