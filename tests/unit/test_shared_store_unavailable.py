"""A database that cannot be reached is a 503 to retry, never a 500 (no server is started here)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.errors import OperationFailure

from services.ingest.app import create_app
from shared.bus.memory import MemoryBus
from shared.store.base import Collection, StoreUnavailable
from shared.store.memory import MemoryStore
from shared.store.mongo import MongoStore, _unavailable_on_connection_failure
from tests.examples import example
from tests.unit.fakes import ADMIN, admin_keyring


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def _unreachable() -> MongoStore:
    return MongoStore(f"mongodb://127.0.0.1:{_closed_port()}/", "t", timeout_ms=200)


async def test_the_mongo_adapter_reports_an_unreachable_database_as_store_unavailable() -> None:
    store = _unreachable()
    with pytest.raises(StoreUnavailable):
        await store.collection("x").get("a")
    assert await store.ping() is False
    await store.close()


class _OutageStore(MemoryStore):
    """The embedded store, with a switch that makes every collection call fail as an outage."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def collection(self, name: str) -> Collection:
        inner, store = super().collection(name), self

        class _Switched:
            def __getattr__(self, attr: str) -> Any:
                method = getattr(inner, attr)

                async def call(*args: Any, **kwargs: Any) -> Any:
                    if store.down:
                        raise StoreUnavailable("database unreachable")
                    return await method(*args, **kwargs)

                return call

        return _Switched()  # type: ignore[return-value]


def test_ingest_answers_503_while_the_database_is_down() -> None:
    store = _OutageStore()
    app = create_app(bus=MemoryBus(), store=store, keyring=admin_keyring())
    with TestClient(app, raise_server_exceptions=False, headers=ADMIN) as client:
        profile = example("profile")
        assert client.post("/v1/profiles", json=profile).status_code == 201
        store.down = True
        r = client.post("/v1/profiles", json=profile)
        assert r.status_code == 503, r.text
        assert "数据库" in r.json()["detail"]
        assert client.get("/v1/profiles").status_code == 503
        store.down = False
        assert client.get("/v1/profiles").json()["total"] == 1  # nothing half-written


async def test_ferretdbs_internal_error_from_its_backend_is_store_unavailable_and_others_are_not() -> None:
    """FerretDB reports a PostgreSQL outage as an OperationFailure (code 1), not a lost connection."""
    raised: list[Exception] = []

    @_unavailable_on_connection_failure
    async def call() -> None:
        raise raised[-1]

    raised.append(
        OperationFailure(
            "failed to connect to `user=ferretdb database=ferretdb`: the database system is not yet "
            "accepting connections (SQLSTATE 57P03)",
            code=1,
            details={"ok": 0.0, "code": 1, "codeName": "InternalError"},
        )
    )
    with pytest.raises(StoreUnavailable):
        await call()
    raised.append(OperationFailure("unknown operator: $foo", code=2, details={"codeName": "BadValue"}))
    with pytest.raises(OperationFailure):
        await call()
