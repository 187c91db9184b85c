"""Chooses the adapters at the edge: Kafka and MongoDB when configured, embedded otherwise.

This is the one place that knows which concrete bus and store exist. The embedded ones are
process-wide singletons, so that the three services of ``make run`` share one in-process bus
(as they would share one Kafka cluster) while each keeps its own database.
"""

from __future__ import annotations

from shared.bus.base import Bus
from shared.settings import CommonSettings
from shared.store.base import Store

_memory_bus: Bus | None = None
_memory_stores: dict[str, Store] = {}


def make_bus(settings: CommonSettings) -> Bus:
    global _memory_bus
    if settings.kafka_bootstrap_servers:
        from shared.bus.kafka import KafkaBus

        return KafkaBus(settings.kafka_bootstrap_servers)
    if _memory_bus is None:
        from shared.bus.memory import MemoryBus

        _memory_bus = MemoryBus(default_partitions=settings.topic_partitions)
    return _memory_bus


def make_store(settings: CommonSettings) -> Store:
    if settings.mongodb_url:
        from shared.store.mongo import MongoStore

        return MongoStore(settings.mongodb_url, settings.mongodb_db, max_pool=settings.mongodb_max_pool)
    if settings.mongodb_db not in _memory_stores:
        from shared.store.memory import MemoryStore

        _memory_stores[settings.mongodb_db] = MemoryStore()
    return _memory_stores[settings.mongodb_db]
