"""The match service: FastAPI app whose lifespan rebuilds the index and runs the consumer."""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from fastapi import FastAPI

from services.match.api import router
from services.match.consumer import MatchProcessor
from services.match.engine import MatchEngine
from services.match.fairs import FairInviter
from services.match.scoring import load_policy
from services.match.sequence import InputRelay, SequencedMatcher, SweepTicks
from services.match.settings import MatchSettings
from services.match.sweep import WiderSweep
from services.match.wider import WiderOffers
from shared.audit import AuditLog
from shared.auth import KeyRing, keyring_for
from shared.bus.base import Bus
from shared.consume import ConsumerLoop
from shared.events import utcnow
from shared.logging import get_logger
from shared.runtime import make_bus, make_store
from shared.service import install_operations, state_checks
from shared.startup import Startup
from shared.store.base import Store

log = get_logger("match")


def _clock(offset_days: int) -> Callable[[], datetime]:
    """The time the sweep and the fallback list go by: the real one, or days ahead in a rehearsal."""
    if not offset_days:
        return utcnow
    log.warning("match runs ahead (MATCH_CLOCK_OFFSET_DAYS)", days=offset_days)
    offset = timedelta(days=offset_days)
    return lambda: utcnow() + offset


def create_app(
    settings: MatchSettings | None = None,
    *,
    bus: Bus | None = None,
    store: Store | None = None,
    keyring: KeyRing | None = None,
) -> FastAPI:
    """``keyring`` replaces the configured API keys (``make run`` shares one across the services)."""
    settings = settings or MatchSettings()
    clock = _clock(settings.clock_offset_days)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        the_bus = bus or make_bus(settings)
        the_store = store or make_store(settings)
        engine = MatchEngine(load_policy(settings.policy_path))
        publisher = the_bus.publisher("match")
        await publisher.start()
        wider = WiderOffers(engine)
        processor = MatchProcessor(engine, the_store, publisher, wider)
        sweep = WiderSweep(
            processor,
            interval_s=settings.wider_sweep_interval_s,
            batch=settings.wider_sweep_batch,
            clock=clock,
        )
        fairs = FairInviter(engine, publisher).routes()
        log_loop: ConsumerLoop | None = None
        sequenced: SequencedMatcher | None = None
        if settings.scale_out:
            sequenced = SequencedMatcher(
                engine,
                the_store,
                publisher,
                wider,
                instance=settings.instance,
                instances=settings.instances,
            )
            relay = InputRelay(publisher)
            sweep.processor = SweepTicks(publisher, instance=settings.instance)
            loop = ConsumerLoop(
                the_bus,
                group_id=settings.consumer_group,
                routes={**relay.routes(), **sweep.guard(fairs)},
                batch_routes=relay.batch_routes(),
                client_id="match",
                max_records=settings.max_batch,
            )
            # A group of its own each start: the log is replayed from its beginning (sequence.py).
            log_loop = ConsumerLoop(
                the_bus,
                group_id=f"{settings.consumer_group}-log-{settings.instance}-{uuid.uuid4().hex[:12]}",
                routes=sweep.guard(sequenced.routes()),
                batch_routes=sweep.guard(sequenced.batch_routes()),
                client_id="match-log",
                max_records=settings.max_batch,
            )
        else:
            loop = ConsumerLoop(
                the_bus,
                group_id=settings.consumer_group,
                routes=sweep.guard({**processor.routes(), **fairs}),
                batch_routes=sweep.guard(processor.batch_routes()),
                client_id="match",
                max_records=settings.max_batch,
            )
        app.state.engine, app.state.store, app.state.loop = engine, the_store, loop
        app.state.wider, app.state.sweep, app.state.clock = wider, sweep, clock
        app.state.audit = AuditLog(the_store, "match")

        async def database_steps() -> None:
            """Index rebuilt from the database before the first event is scored against it."""
            await app.state.audit.ensure_indexes()
            if sequenced is not None:
                await sequenced.setup()  # the state comes from replaying the log, not the store
            else:
                await processor.setup()
                # Last to touch the database: a failure after the index is loaded would load it twice.
                await processor.rebuild()
            # The index holds millions of small objects that never die; moving them out of the
            # collector's generations keeps multi-second GC pauses out of event handling.
            gc.collect()
            gc.freeze()
            if log_loop is not None:
                await log_loop.start()
            await loop.start()
            await sweep.start()

        startup = Startup("match", database_steps)
        app.state.startup = startup
        await startup.start()  # the database may be down: then it is retried in the background
        try:
            yield
        finally:
            await startup.stop()
            await sweep.stop()
            await loop.stop()
            if log_loop is not None:
                await log_loop.stop()
            await publisher.stop()
            if store is None:
                await the_store.close()

    app = FastAPI(title="Chunfeng match", version="1", lifespan=lifespan)
    app.state.keyring = keyring_for(settings, keyring)
    app.include_router(router)
    install_operations(app, settings, state_checks(app, publisher=False))
    return app
