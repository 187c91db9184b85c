"""What every service's FastAPI app carries besides its own routes: probes, metrics, error
answers and limits — installed in one place so the four apps cannot drift apart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI

from shared.errors import install_error_handling
from shared.health import Check, answer_503_when_store_unavailable, health_router
from shared.limits import install_limits
from shared.metrics import metrics_router


def state_checks(app: FastAPI, *, publisher: bool) -> dict[str, Check]:
    """Readiness read from ``app.state`` at probe time (the lifespan sets ``loop``, ``store``,
    ``startup`` and, for a service that publishes, ``publisher``)."""

    async def kafka() -> bool:
        if not await app.state.loop.ping():
            return False
        return not publisher or bool(await app.state.publisher.ping())

    async def db() -> bool:
        return bool(await app.state.store.ping())

    async def started() -> bool:
        return bool(await app.state.startup.ready())

    return {"kafka": kafka, "db": db, "started": started}


def install_operations(
    app: FastAPI,
    settings: object,
    checks: Mapping[str, Check],
    *,
    refresh: Callable[[], Awaitable[None]] | None = None,
    larger_bodies: Mapping[str, int] | None = None,
) -> None:
    """``/healthz``, ``/readyz``, ``/metrics``, 503 while the store is down, the shared error
    bodies and the body-size and rate limits (see ``shared.limits``)."""
    app.include_router(health_router(checks))
    app.include_router(metrics_router(refresh=refresh))
    answer_503_when_store_unavailable(app)
    install_error_handling(app)
    install_limits(app, settings, larger_bodies=larger_bodies)
