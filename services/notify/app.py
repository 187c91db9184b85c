"""The notify service: consumes matches and contacts, keeps inboxes, pushes recommendations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from services.notify import documents as d
from services.notify.api import router
from services.notify.channels import PUSH_CHANNELS, Channel, build_channels
from services.notify.consumer import Clock, NotifyHandler, make_consumer_loop, utc_now
from services.notify.inbound import router as inbound_router
from services.notify.invitations import InvitationInbox
from services.notify.settings import NotifySettings
from services.notify.transport import TransportInbox
from services.notify.worker import DeliveryWorker
from shared.audit import AuditLog
from shared.auth import KeyRing, keyring_for
from shared.bus.base import Bus
from shared.logging import get_logger
from shared.runtime import make_bus, make_store
from shared.service import install_operations, state_checks
from shared.startup import Startup
from shared.store.base import Store
from shared.topics import topic_specs

log = get_logger("notify")


async def ensure_indexes(store: Store) -> None:
    recs = store.collection(d.RECOMMENDATIONS)
    await recs.ensure_index([("profile_id", 1), ("created_at", -1)])
    await recs.ensure_index([("profile_id", 1), ("status", 1), ("deliveries_scheduled", 1)])
    await recs.ensure_index([("feedback_pending", 1)])
    await recs.ensure_index([("viewed_pending", 1)])
    await store.collection(d.CONTACTS).ensure_index([("phone", 1)])  # an inbound SMS's sender
    deliveries = store.collection(d.DELIVERIES)
    await deliveries.ensure_index([("status", 1), ("due_at", 1)])
    await deliveries.ensure_index([("profile_id", 1), ("status", 1), ("sent_at", 1)])
    await deliveries.ensure_index([("recommendation_id", 1)])
    await store.collection(d.CAP_SLOTS).ensure_index([("profile_id", 1), ("day", 1)])


def create_app(
    settings: NotifySettings | None = None,
    *,
    bus: Bus | None = None,
    store: Store | None = None,
    channels: Mapping[str, Channel] | None = None,
    clock: Clock = utc_now,
    keyring: KeyRing | None = None,
) -> FastAPI:
    """``channels``, ``clock`` and ``keyring`` (API keys) replace the configured ones (tests, make run)."""
    settings = settings or NotifySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        the_bus = bus or make_bus(settings)
        the_store = store or make_store(settings)
        client = httpx.AsyncClient(timeout=settings.http_timeout_s)
        the_channels = channels if channels is not None else build_channels(settings, client)
        try:
            await the_bus.ensure_topics(topic_specs(settings.topic_partitions))
        except Exception as exc:  # topics are normally created by `python -m shared.topics`
            log.warning("could not ensure topics", error=repr(exc))
        app.state.audit = AuditLog(the_store, "notify")
        publisher = the_bus.publisher("notify")
        await publisher.start()
        handler = NotifyHandler(
            the_store, push_channels=[c for c in PUSH_CHANNELS if c in the_channels], clock=clock
        )
        invitations = InvitationInbox(handler, ZoneInfo(settings.timezone))
        transport = TransportInbox(handler, ZoneInfo(settings.timezone))
        loop = make_consumer_loop(
            the_bus, handler, settings.consumer_group, extra={**invitations.routes(), **transport.routes()}
        )
        worker = DeliveryWorker(the_store, the_channels, publisher, settings, clock=clock)
        app.state.store, app.state.loop, app.state.worker = the_store, loop, worker
        app.state.publisher, app.state.channels, app.state.settings = publisher, the_channels, settings

        async def database_steps() -> None:
            await ensure_indexes(the_store)
            await app.state.audit.ensure_indexes()
            await loop.start()
            await worker.start()

        startup = Startup("notify", database_steps)
        app.state.startup = startup
        await startup.start()  # the database may be down: then it is retried in the background
        try:
            yield
        finally:
            await startup.stop()
            await loop.stop()
            await worker.stop()
            await publisher.stop()
            await client.aclose()
            if store is None:
                await the_store.close()

    app = FastAPI(title="Chunfeng notify", version="1", lifespan=lifespan)
    app.state.keyring = keyring_for(settings, keyring)
    app.include_router(router)
    app.include_router(inbound_router)
    install_operations(app, settings, state_checks(app, publisher=True))
    return app
