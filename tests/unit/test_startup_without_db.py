"""A service starts while its database is down, says it is not ready, and becomes ready by itself.

Why: the lifespans used to await their indexes (match: its index rebuild), so a service started
during a database outage exited instead of waiting for it (issue 8).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.campaign.app import create_app as campaign_app
from services.ingest.app import create_app as ingest_app
from services.match.app import create_app as match_app
from services.notify.app import create_app as notify_app
from shared.bus.memory import MemoryBus
from shared.startup import Startup
from shared.store.base import Collection, StoreUnavailable
from shared.store.memory import MemoryStore
from tests.examples import example
from tests.unit.fakes import ADMIN, admin_keyring


class _DownStore(MemoryStore):
    """The embedded store, failing every call (and its ping) as an unreachable database would,
    until ``down`` is switched off."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.calls_while_down = 0

    async def ping(self) -> bool:
        return not self.down

    def collection(self, name: str) -> Collection:
        inner, store = super().collection(name), self

        class _Switched:
            def __getattr__(self, attr: str) -> Any:
                method = getattr(inner, attr)

                async def call(*args: Any, **kwargs: Any) -> Any:
                    if store.down:
                        store.calls_while_down += 1
                        raise StoreUnavailable("database unreachable")
                    return await method(*args, **kwargs)

                return call

        return _Switched()  # type: ignore[return-value]


def _until(predicate: Callable[[], bool], limit_s: float = 30.0) -> bool:
    """Poll (the retries run in the test client's event loop thread); False if never true."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


APPS: dict[str, Callable[..., FastAPI]] = {
    "ingest": ingest_app,
    "match": match_app,
    "notify": notify_app,
    "campaign": campaign_app,
}


@pytest.mark.parametrize("name", sorted(APPS))
def test_a_service_starts_without_its_database_and_becomes_ready_when_it_is_back(name: str) -> None:
    store = _DownStore()
    app = APPS[name](bus=MemoryBus(), store=store, keyring=admin_keyring())
    with TestClient(app, raise_server_exceptions=False, headers=ADMIN) as client:
        assert client.get("/healthz").status_code == 200  # started: alive, answering
        r = client.get("/readyz")
        assert r.status_code == 503, r.text
        assert r.json()["checks"]["started"] is False
        assert r.json()["checks"]["db"] is False
        tried = store.calls_while_down
        assert _until(lambda: store.calls_while_down > tried), "the start-up steps are not retried"
        store.down = False
        assert _until(lambda: client.get("/readyz").status_code == 200), client.get("/readyz").text
        assert client.get("/readyz").json()["checks"] == {"kafka": True, "db": True, "started": True}


def test_ingest_started_without_its_database_accepts_writes_once_it_is_back() -> None:
    store = _DownStore()
    app = ingest_app(bus=MemoryBus(), store=store, keyring=admin_keyring())
    with TestClient(app, raise_server_exceptions=False, headers=ADMIN) as client:
        assert client.post("/v1/profiles", json=example("profile")).status_code == 503
        store.down = False
        assert _until(lambda: client.get("/readyz").status_code == 200)
        assert client.post("/v1/profiles", json=example("profile")).status_code == 201
        assert client.get("/v1/profiles").json()["total"] == 1


async def test_startup_retries_with_growing_capped_delays_until_the_steps_succeed() -> None:
    failures = 4
    calls: list[int] = []
    delays: list[float] = []

    async def steps() -> None:
        calls.append(1)
        if len(calls) <= failures:
            raise StoreUnavailable("database unreachable")

    async def sleep(s: float) -> None:
        delays.append(s)

    startup = Startup("t", steps, first_delay_s=1, max_delay_s=4, sleep=sleep)
    await startup.start()
    assert not await startup.ready()
    assert startup.last_error is not None and "unreachable" in startup.last_error
    await startup.wait()
    assert await startup.ready()
    assert len(calls) == failures + 1
    assert delays == [1, 2, 4, 4]
    assert startup.last_error is None
    await startup.stop()


async def test_startup_that_succeeds_at_once_is_ready_before_start_returns() -> None:
    async def steps() -> None:
        return None

    startup = Startup("t", steps)
    await startup.start()
    assert await startup.ready()
    await startup.stop()
