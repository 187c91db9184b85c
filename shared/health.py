"""``/healthz`` (the process is alive) and ``/readyz`` (its Kafka and database answer).

Orchestrators restart on a failing liveness probe and stop routing on a failing readiness
probe, so liveness must not depend on the broker: a Kafka outage should not restart every
service at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from shared.logging import get_logger
from shared.store.base import StoreUnavailable

log = get_logger("health")

Check = Callable[[], Awaitable[bool]]


def health_router(checks: Mapping[str, Check]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = bool(await asyncio.wait_for(check(), timeout=3))
            except Exception:
                results[name] = False
        ok = all(results.values())
        return JSONResponse({"ready": ok, "checks": results}, status_code=200 if ok else 503)

    return router


def answer_503_when_store_unavailable(app: FastAPI) -> None:
    """A request that needs the database while it is down gets a 503 to retry, never a 500."""

    @app.exception_handler(StoreUnavailable)
    async def _store_down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("store unavailable", error=str(exc))
        return JSONResponse({"detail": "数据库暂不可用，请稍后重试"}, status_code=503)
