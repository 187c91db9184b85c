"""Prometheus metrics (``/metrics`` on every service), through the maintained client library.

An operator at 3 a.m. wants three numbers first: are events flowing (handled), are they
failing (handler failures, retried not dropped), and is anything piling up (deliveries by
outcome; ingest's outbox gauge and ``/v1/outbox`` show what waits for Kafka). The counters
live here so every service names them the same way; so does the HTTP request counter, which
every service could use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import get_logger

log = get_logger("metrics")

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
# Where an event's time goes, per stage, so a throughput limit can be traced to its stage
# (issue 7's saturation runs read these): a consumer group's whole poll and batch handler
# (``poll_handled``, ``batch_handler``), and inside a service's handler its store reads, its
# own computation, its publishes and its store writes (``read``, ``compute``, ``publish``,
# ``persist``).
STAGE_SECONDS = Histogram(
    "chunfeng_stage_seconds",
    "Seconds spent per stage of event handling (one observation per poll, batch or call)",
    ["group", "stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BATCH_SIZE = Histogram(
    "chunfeng_batch_events",
    "Events handed to a batch handler in one call",
    ["group"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
# What each service asks of the store, by command and collection: FerretDB's CPU per command
# (about 1.2 ms per document updated, measured) is what bounds the pipeline, so "how many
# commands and documents per profile, and whose" is the first question of a throughput run.
# Counted by the MongoDB adapter's command listener (``shared.store.mongo``).
STORE_COMMANDS = Counter(
    "chunfeng_store_commands_total",
    "Commands sent to the document store, by command and collection",
    ["command", "collection"],
)
STORE_DOCUMENTS = Counter(
    "chunfeng_store_documents_written_total",
    "Documents a write command carried (inserts, update and delete statements), by command and collection",
    ["command", "collection"],
)
STORE_SECONDS = Counter(
    "chunfeng_store_command_seconds_total",
    "Seconds from sending a store command to its answer, summed, by command and collection",
    ["command", "collection"],
)
HTTP_REQUESTS = Counter(
    "chunfeng_http_requests_total",
    "HTTP requests answered, by route template (not raw path: ids would explode the series) and status",
    ["service", "method", "route", "status"],
)


def metrics_router(refresh: Callable[[], Awaitable[None]] | None = None) -> APIRouter:
    """``GET /metrics``; ``refresh`` first brings scrape-time gauges up to date (e.g. a count).

    A failing refresh is logged and the rest is still answered: metrics matter most exactly when
    a dependency is down.
    """
    router = APIRouter(tags=["health"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        if refresh is not None:
            try:
                await refresh()
            except Exception as exc:
                log.warning("metrics refresh failed; answering the rest", error=repr(exc))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class RequestCounter:
    """ASGI middleware counting every HTTP response into ``chunfeng_http_requests_total``.

    Plain ASGI rather than ``BaseHTTPMiddleware``, so streaming responses and background tasks
    pass through untouched. The route label is the matched template (``/v1/postings/{id}``),
    read after the router has run; a request no route matched counts as ``unmatched``.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees if the app raises before answering

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            HTTP_REQUESTS.labels(self.service, scope["method"], route, str(status)).inc()
