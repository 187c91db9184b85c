"""The campaign service: owns each (seeker, posting) pair's way through the hiring funnel,
the follow-ups of hires, and the daily circular computed from the funnel's events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.campaign.api import router
from services.campaign.consumer import CampaignHandler, make_consumer_loop
from services.campaign.dashboard import router as dashboard_router
from services.campaign.fairs.api import router as fairs_router
from services.campaign.fairs.consumer import FairInvitationCounter
from services.campaign.fairs.repository import FairRepository
from services.campaign.orders.api import router as orders_router
from services.campaign.outbox import campaign_relay
from services.campaign.repository import FunnelRepository
from services.campaign.session import install_sessions
from services.campaign.settings import CampaignSettings
from services.campaign.transport.api import router as transport_router
from services.campaign.transport.plans import PlanRepository
from services.campaign.transport.seekers import SeekerDirectory
from shared.audit import AuditLog
from shared.auth import KeyRing, keyring_for
from shared.bus.base import Bus
from shared.logging import get_logger
from shared.runtime import make_bus, make_store
from shared.service import install_operations, state_checks
from shared.startup import Startup
from shared.store.base import Store
from shared.topics import topic_specs

log = get_logger("campaign")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _ahead(clock: Clock, offset: timedelta) -> Clock:
    return lambda: clock() + offset


def create_app(
    settings: CampaignSettings | None = None,
    *,
    bus: Bus | None = None,
    store: Store | None = None,
    clock: Clock = utc_now,
    keyring: KeyRing | None = None,
) -> FastAPI:
    """``clock`` and ``keyring`` replace the real ones (tests: a hire 30 days ago; make run: shared keys)."""
    settings = settings or CampaignSettings()
    if settings.clock_offset_days:
        log.warning("campaign runs ahead (CAMPAIGN_CLOCK_OFFSET_DAYS)", days=settings.clock_offset_days)
        clock = _ahead(clock, timedelta(days=settings.clock_offset_days))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        the_bus = bus or make_bus(settings)
        the_store = store or make_store(settings)
        try:
            await the_bus.ensure_topics(topic_specs(settings.topic_partitions))
        except Exception as exc:  # topics are normally created by `python -m shared.topics`
            log.warning("could not ensure topics", error=repr(exc))
        publisher = the_bus.publisher("campaign")
        relay = campaign_relay(
            the_store,
            publisher,
            interval_s=settings.outbox_interval_s,
            max_backoff_s=settings.outbox_max_backoff_s,
        )
        repo = FunnelRepository(the_store, on_write=relay.kick)
        fairs = FairRepository(the_store, on_write=relay.kick)
        app.state.fairs, app.state.fairs_audit = fairs, AuditLog(the_store, "campaign")
        plans, seekers = PlanRepository(the_store, on_write=relay.kick), SeekerDirectory(the_store)
        app.state.transport_plans, app.state.seekers = plans, seekers
        loop = make_consumer_loop(
            the_bus,
            CampaignHandler(repo),
            settings.consumer_group,
            extra={**FairInvitationCounter(fairs).routes(), **seekers.routes()},
            extra_batches=seekers.batch_routes(),
        )
        app.state.store, app.state.repo, app.state.relay = the_store, repo, relay
        app.state.loop, app.state.publisher = loop, publisher
        try:
            await publisher.start()
        except Exception as exc:  # steps are accepted while the bus is down; the relay catches up
            log.warning("publisher did not start; events wait in the outbox", error=repr(exc))
        await relay.start()
        relay.kick()

        async def database_steps() -> None:
            await repo.ensure_indexes()
            await fairs.ensure_indexes()
            await plans.ensure_indexes()
            await app.state.fairs_audit.ensure_indexes()
            await loop.start()

        startup = Startup("campaign", database_steps)
        app.state.startup = startup
        await startup.start()  # the database may be down: then it is retried in the background
        log.info("campaign started", port=settings.port)
        try:
            yield
        finally:
            await startup.stop()
            await loop.stop()
            await relay.stop(final_flush=True)
            try:
                await publisher.stop()
            except Exception as exc:
                log.warning("publisher stop failed", error=repr(exc))
            if store is None:
                await the_store.close()

    app = FastAPI(
        title="春风 · campaign",
        description="The hiring funnel after the recommendation, retention follow-ups and daily circulars.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.tz = ZoneInfo(settings.timezone)
    app.state.keyring = keyring_for(settings, keyring)
    app.include_router(router)
    app.include_router(dashboard_router)
    install_sessions(app, settings)
    app.include_router(fairs_router)
    app.include_router(transport_router)
    app.include_router(orders_router)
    install_operations(app, settings, state_checks(app, publisher=True))
    return app
