"""Ingest's own Prometheus metrics: what was accepted, and what still waits for Kafka.

Ingest consumes nothing, so the shared consumer counters say nothing about it. Beside the
requests (``chunfeng_http_requests_total``) and the events the shared outbox relay counts as
published (``chunfeng_events_published_total{producer="ingest"}``), an operator needs two
numbers: how many changes were accepted, and how many documents hold events not yet on the bus.
The second is the one that grows during a Kafka outage and must fall back to 0 afterwards; it
is counted in the store at scrape time (an indexed count), so it is right even when another
process wrote, and survives restarts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import Counter, Gauge

from shared.outbox import WriteHook
from shared.store.base import Doc

WRITES = Counter(
    "chunfeng_ingest_writes_total",
    "Accepted changes of postings and profiles (create, update, status, delete), each with its events",
    ["collection"],
)
OUTBOX_PENDING = Gauge(
    "chunfeng_outbox_pending", "Documents whose events are not yet published, at scrape time", ["collection"]
)


def counting_writes(on_write: WriteHook) -> WriteHook:
    """Wrap the repositories' after-write hook (the relay's kick) so each accepted write counts."""

    def hook(collection: str, id: str, doc: Doc | None = None, /) -> None:
        WRITES.labels(collection).inc()
        on_write(collection, id, doc)

    return hook


def outbox_refresh(pending: Callable[[], Awaitable[Mapping[str, int]]]) -> Callable[[], Awaitable[None]]:
    """The ``/metrics`` refresh that sets ``chunfeng_outbox_pending`` from ``pending()`` per collection.

    If the count cannot be taken (the database is down) the gauge becomes NaN rather than keeping
    a stale number that would look like an answer.
    """

    async def refresh() -> None:
        try:
            counts = await pending()
        except Exception:
            for labels in _known_labels():
                OUTBOX_PENDING.labels(*labels).set(float("nan"))
            raise
        for collection, n in counts.items():
            OUTBOX_PENDING.labels(collection).set(n)

    return refresh


def _known_labels() -> list[tuple[str, ...]]:
    return [tuple(s.labels.values()) for m in OUTBOX_PENDING.collect() for s in m.samples]
