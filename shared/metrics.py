"""Prometheus metrics (``/metrics`` on every service), through the maintained client library.

An operator at 3 a.m. wants three numbers first: are events flowing (handled), are they
failing (handler failures, retried not dropped), and is anything piling up (deliveries by
outcome; ingest's ``/v1/outbox`` shows what waits for Kafka). The counters live here so
every service names them the same way.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

EVENTS_HANDLED = Counter(
    "chunfeng_events_handled_total", "Events a consumer group finished handling", ["group", "type"]
)
HANDLER_FAILURES = Counter(
    "chunfeng_handler_failures_total", "Handler attempts that raised (the event is retried)", ["group"]
)
POISON_RECORDS = Counter(
    "chunfeng_rejected_records_total", "Records sent to the dead-letter topic (bad, never retried)", ["group"]
)
EVENTS_PUBLISHED = Counter("chunfeng_events_published_total", "Events published to the bus", ["producer"])
DELIVERIES = Counter(
    "chunfeng_deliveries_total", "Delivery attempts by channel and outcome", ["channel", "outcome"]
)


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
