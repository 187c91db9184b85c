"""``/healthz`` (the process is alive) and ``/readyz`` (its Kafka and database answer).

Orchestrators restart on a failing liveness probe and stop routing on a failing readiness
probe, so liveness must not depend on the broker: a Kafka outage should not restart every
service at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

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
