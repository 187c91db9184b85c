"""The Kafka adapter of the bus interface, on aiokafka.

Connections are made lazily and re-made after failures, so that a service starts and answers
HTTP while Kafka is down (ingest keeps accepting writes into its outbox) and recovers by itself
when the broker is back. The producer is idempotent with ``acks=all``; consumers never
auto-commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, TopicAlreadyExistsError

from shared.bus.base import Bus, BusUnavailable, Consumer, Publisher, Record, TopicSpec
from shared.logging import get_logger

log = get_logger("bus.kafka")

SEND_TIMEOUT_S = 10.0

DAY_MS = 24 * 3600 * 1000
KEPT_CONFIG: dict[str, str] = {"retention.ms": "-1", "retention.bytes": "-1"}
COMPACTED_CONFIG: dict[str, str] = {
    "cleanup.policy": "compact",
    # Consumers act on the deletion event published just before a tombstone and skip the
    # tombstone itself, so the deletion event must outlive any plausible consumer lag: a week.
    "min.compaction.lag.ms": str(7 * DAY_MS),
    # ... and compaction must then happen: the active segment rolls daily (only closed
    # segments are compacted), and no record waits more than two weeks to be compacted away.
    "segment.ms": str(DAY_MS),
    "max.compaction.lag.ms": str(14 * DAY_MS),
    # A tombstone stays readable a day after compaction, then the key is gone entirely.
    "delete.retention.ms": str(DAY_MS),
}


class KafkaBus(Bus):
    def __init__(self, bootstrap_servers: str, replication_factor: int = 1) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.replication_factor = replication_factor

    def publisher(self, client_id: str) -> Publisher:
        return KafkaPublisher(self.bootstrap_servers, client_id)

    def consumer(self, group_id: str, topics: Sequence[str], client_id: str) -> Consumer:
        return KafkaConsumer(self.bootstrap_servers, group_id, list(topics), client_id)

    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> None:
        """Create the missing topics; make existing ones that should be compacted compacted.

        A topic created before compaction was asked for (an older deployment) gets the same
        configuration by ``AlterConfigs``, so that deleted seekers are forgotten there too.
        """
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id="chunfeng-admin")
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            new = [
                NewTopic(
                    s.name,
                    num_partitions=s.partitions,
                    replication_factor=self.replication_factor,
                    topic_configs=dict(COMPACTED_CONFIG)
                    if s.compacted
                    else dict(KEPT_CONFIG)
                    if s.kept
                    else {},
                )
                for s in specs
                if s.name not in existing
            ]
            if new:
                try:
                    await admin.create_topics(new)
                except TopicAlreadyExistsError:
                    pass
            older = [s.name for s in specs if s.compacted and s.name in existing]
            if older:
                responses = await admin.alter_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, name, dict(COMPACTED_CONFIG)) for name in older]
                )
                for response in responses:
                    for error_code, message, _type, name in response.resources:
                        if error_code:
                            log.error("cannot make topic compacted", topic=name, error=message)
        finally:
            await admin.close()


class KafkaPublisher(Publisher):
    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    client_id=self._client_id,
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=2,
                    request_timeout_ms=int(SEND_TIMEOUT_S * 1000),
                )
                try:
                    await asyncio.wait_for(producer.start(), SEND_TIMEOUT_S)
                except Exception as exc:
                    await _quietly(producer.stop())
                    raise BusUnavailable(f"kafka producer cannot connect: {exc!r}") from exc
                self._producer = producer
            return self._producer

    async def _reset(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await _quietly(producer.stop())

    async def start(self) -> None:
        try:
            await self._ensure()
        except BusUnavailable as exc:
            log.warning("kafka not reachable at start; will retry on first publish", error=str(exc))

    async def stop(self) -> None:
        await self._reset()  # AIOKafkaProducer.stop() flushes pending batches first

    async def publish(self, topic: str, key: str, value: bytes | None) -> None:
        await self.publish_many([(topic, key, value)])

    async def publish_many(self, records: Sequence[tuple[str, str, bytes | None]]) -> None:
        producer = await self._ensure()
        try:
            futures = [await producer.send(t, value=v, key=k.encode()) for t, k, v in records]
            await asyncio.wait_for(asyncio.gather(*futures), SEND_TIMEOUT_S * 2)
        except (KafkaError, TimeoutError, OSError) as exc:
            await self._reset()
            raise BusUnavailable(f"kafka publish failed: {exc!r}") from exc

    async def ping(self) -> bool:
        try:
            producer = await self._ensure()
            return bool(await asyncio.wait_for(producer.client.force_metadata_update(), 3))
        except Exception:
            return False


class KafkaConsumer(Consumer):
    def __init__(self, bootstrap_servers: str, group_id: str, topics: list[str], client_id: str) -> None:
        self._bootstrap = bootstrap_servers
        self._group_id = group_id
        self._topics = topics
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None

    async def _ensure(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                *self._topics,
                bootstrap_servers=self._bootstrap,
                group_id=self._group_id,
                client_id=self._client_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=6000,
                heartbeat_interval_ms=1000,
                max_poll_interval_ms=300_000,
            )
            try:
                await asyncio.wait_for(consumer.start(), SEND_TIMEOUT_S)
            except Exception as exc:
                await _quietly(consumer.stop())
                raise BusUnavailable(f"kafka consumer cannot connect: {exc!r}") from exc
            self._consumer = consumer
        return self._consumer

    async def start(self) -> None:
        try:
            await self._ensure()
        except BusUnavailable as exc:
            log.warning("kafka not reachable at start; will retry on poll", error=str(exc))

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await _quietly(consumer.stop())

    async def poll(self, timeout_s: float = 1.0, max_records: int = 100) -> list[Record]:
        consumer = await self._ensure()
        batches = await consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        out: list[Record] = []
        for tp, messages in batches.items():
            for m in messages:
                key = m.key.decode() if m.key is not None else ""
                headers = tuple((h[0], h[1]) for h in (m.headers or ()))
                out.append(Record(tp.topic, tp.partition, m.offset, key, m.value, headers))
        return out

    async def commit(self, records: Sequence[Record]) -> None:
        if not records or self._consumer is None:
            return
        offsets: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            offsets[tp] = max(offsets.get(tp, 0), r.offset + 1)
        assigned = self._consumer.assignment()
        offsets = {tp: o for tp, o in offsets.items() if tp in assigned}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The partitions moved to another member in a rebalance; it resumes from the last
            # committed offset and replays, which idempotent handlers absorb.
            log.warning("commit dropped after rebalance", group=self._group_id, error=str(exc))

    async def ping(self) -> bool:
        try:
            consumer = await self._ensure()
            return bool(await asyncio.wait_for(consumer._client.force_metadata_update(), 3))
        except Exception:
            return False


async def _quietly(aw: object) -> None:
    try:
        await aw  # type: ignore[misc]
    except Exception:
        pass
