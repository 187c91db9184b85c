"""The message bus interface: publish, consume, commit. Written once; two implementations.

``KafkaBus`` (``shared.bus.kafka``) speaks to Apache Kafka through aiokafka. ``MemoryBus``
(``shared.bus.memory``) is the embedded default of ``make run``: one process, the same
semantics. Business code sees only these classes.

Semantics every implementation keeps:

* **Topics and partitions.** A record goes to partition ``hash(key) % partitions``; records with
  the same key are delivered in the order they were published.
* **Publish** returns once the record is durably accepted (Kafka: ``acks=all``) and raises
  ``BusUnavailable`` if it cannot be. A caller that got no exception may forget the record.
* **Consumer groups.** Each group sees every record once per partition assignment; members of
  one group share the partitions.
* **Tombstones.** A record whose value is ``None`` (Kafka's null value) says "forget this key" on
  a compacted topic; compaction later drops every earlier record with that key.
* **Offsets.** The *position* is the next record ``poll`` will return; the *committed* offset is
  what a restarted member resumes from. Nothing is committed implicitly: a consumer calls
  ``commit`` after it has finished with the records it polled, so that a crash replays at most
  the uncommitted tail (at-least-once). Consumers are therefore idempotent on ``event_id``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field


class BusUnavailable(RuntimeError):
    """The broker could not accept or deliver records right now; try again later."""


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str
    value: bytes | None  # None: a tombstone
    headers: tuple[tuple[str, bytes], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int = 3
    compacted: bool = False  # keep the latest record per key; a tombstone makes the key forgotten
    kept: bool = False  # never deleted by age or size: a log that is some state's only source


class Publisher(ABC):
    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None:
        """Flush what is in flight, then close."""

    @abstractmethod
    async def publish(self, topic: str, key: str, value: bytes | None) -> None:
        """Durably append one record (``None``: a tombstone); raise ``BusUnavailable`` if that is
        not possible now."""

    async def publish_many(self, records: Sequence[tuple[str, str, bytes | None]]) -> None:
        """Append several records (topic, key, value); all or an exception. Order per key is kept."""
        for topic, key, value in records:
            await self.publish(topic, key, value)

    @abstractmethod
    async def ping(self) -> bool:
        """True when the broker answers (for ``/readyz``)."""


class Consumer(ABC):
    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None:
        """Leave the group. Does not commit: commit explicitly before stopping."""

    @abstractmethod
    async def poll(self, timeout_s: float = 1.0, max_records: int = 100) -> list[Record]:
        """Records after the current position, at most ``max_records``; [] after ``timeout_s``."""

    @abstractmethod
    async def commit(self, records: Sequence[Record]) -> None:
        """Mark these records (and everything before them in their partitions) as done."""

    @abstractmethod
    async def ping(self) -> bool: ...


class Bus(ABC):
    """A factory of publishers and consumers bound to one broker."""

    @abstractmethod
    def publisher(self, client_id: str) -> Publisher: ...

    @abstractmethod
    def consumer(self, group_id: str, topics: Sequence[str], client_id: str) -> Consumer: ...

    @abstractmethod
    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> None:
        """Create missing topics (never relying on broker auto-creation)."""
