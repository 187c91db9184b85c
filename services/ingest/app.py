"""The ingest service's application: routes, the outbox relay's lifecycle, and its metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.ingest.api import router
from services.ingest.consumer import IngestHandler, make_consumer_loop
from services.ingest.documents import POSTING, PROFILE
from services.ingest.metrics import counting_writes, outbox_refresh
from services.ingest.outbox import ingest_relay
from services.ingest.repository import Repository
from services.ingest.settings import IngestSettings
from shared.audit import AuditLog
from shared.auth import KeyRing, keyring_for
from shared.bus.base import Bus
from shared.logging import get_logger
from shared.metrics import RequestCounter
from shared.runtime import make_bus, make_store
from shared.service import install_operations
from shared.startup import Startup
from shared.store.base import Store

log = get_logger("ingest")


def create_app(
    settings: IngestSettings | None = None,
    *,
    bus: Bus | None = None,
    store: Store | None = None,
    keyring: KeyRing | None = None,
) -> FastAPI:
    """``keyring`` replaces the configured API keys (``make run`` shares one across the services)."""
    settings = settings or IngestSettings()
    bus = bus or make_bus(settings)
    store = store or make_store(settings)
    publisher = bus.publisher("ingest")
    relay = ingest_relay(
        store,
        publisher,
        interval_s=settings.outbox_interval_s,
        max_backoff_s=settings.outbox_max_backoff_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await publisher.start()
        except Exception as exc:  # writes are accepted while the bus is down; the relay catches up
            log.warning("publisher did not start; events wait in the outbox", error=repr(exc))
        await relay.start()
        relay.kick()  # publish what a previous process left pending
        await startup.start()  # the database may be down: then it is retried in the background
        log.info("ingest started", port=settings.port)
        try:
            yield
        finally:
            await startup.stop()
            await app.state.loop.stop()
            await relay.stop(final_flush=True)
            try:
                await publisher.stop()
            except Exception as exc:
                log.warning("publisher stop failed", error=repr(exc))
            log.info("ingest stopped")

    app = FastAPI(
        title="春风 · ingest",
        description="Job postings and seeker profiles in (HTTP and spreadsheet import); events out.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.bus = bus
    app.state.publisher = publisher
    app.state.relay = relay
    app.state.keyring = keyring_for(settings, keyring)
    app.state.audit = AuditLog(store, "ingest")
    app.state.postings = Repository(store, POSTING, on_write=counting_writes(relay.kick))
    app.state.profiles = Repository(store, PROFILE, on_write=counting_writes(relay.kick))
    # Hires and departures from the funnel come back as events and go through the same repositories.
    app.state.loop = make_consumer_loop(
        bus, IngestHandler(app.state.postings, app.state.profiles), settings.consumer_group
    )

    async def database_steps() -> None:
        for repo in (app.state.postings, app.state.profiles):
            await repo.ensure_indexes()
        await app.state.audit.ensure_indexes()
        await app.state.loop.start()

    startup = Startup("ingest", database_steps)
    app.state.startup = startup
    app.include_router(router)
    app.add_middleware(RequestCounter, service="ingest")
    checks = {"kafka": publisher.ping, "db": store.ping, "started": startup.ready}
    install_operations(
        app,
        settings,
        checks,
        refresh=outbox_refresh(relay.pending),
        # An upload carries the file (up to INGEST_MAX_UPLOAD_BYTES) plus the multipart envelope.
        larger_bodies={"/v1/imports/": settings.max_upload_bytes + 64 * 1024},
    )

    return app
