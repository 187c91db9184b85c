from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.bus.memory import MemoryBus
from shared.events import TOPIC_CONTACTS, TOPIC_MATCHES, Event
from shared.store.memory import MemoryStore
from tests.unit.fakes import ADMIN, admin_keyring
from tests.unit.notify_fakes import FakeChannel, FakeClock, contact_event, match_event


@dataclass
class Service:
    http: httpx.AsyncClient
    bus: MemoryBus
    sms: FakeChannel

    async def publish(self, topic: str, event: Event) -> None:
        await self.bus.publisher("test").publish(topic, event.key, event.to_bytes())

    async def until(self, path: str, predicate: Any, params: dict[str, Any] | None = None) -> Any:
        """The consumer loop runs as a task: give it a bounded number of turns."""
        for _ in range(200):
            body = (await self.http.get(path, params=params)).json()
            if predicate(body):
                return body
            await asyncio.sleep(0.01)
        raise AssertionError(f"{path}: condition not met, last {body}")


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    bus, sms = MemoryBus(), FakeChannel("sms")
    settings = NotifySettings(worker_interval_s=0.01)
    clock = FakeClock(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    app = create_app(
        settings, bus=bus, store=MemoryStore(), channels={"sms": sms}, clock=clock, keyring=admin_keyring()
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notify", headers=ADMIN) as http:
            yield Service(http, bus, sms)


async def test_match_event_reaches_the_inbox_and_sms_goes_out_once(service: Service) -> None:
    await service.publish(TOPIC_CONTACTS, contact_event())
    event = match_event()
    await service.publish(TOPIC_MATCHES, event)
    await service.publish(TOPIC_MATCHES, event)  # a replay
    inbox = await service.until("/v1/inbox/p1", lambda b: b["items"])
    item = inbox["items"][0]
    assert inbox["total"] == 1 and item["posting_id"] == "j1" and item["status"] == "active"
    assert "距家约70公里" in item["reason"] and {f["factor"] for f in item["factors"]} >= {"distance", "wage"}
    assert item["posting"]["employer"] == "恩施示例电子"
    deliveries = await service.until(
        "/v1/deliveries", lambda b: b and b[0]["status"] == "sent", params={"profile_id": "p1"}
    )
    assert [(x["channel"], x["attempts"]) for x in deliveries] == [("sms", 1)]
    assert len(service.sms.sent) == 1


async def test_reply_records_intention_and_withdrawn_items_are_hidden_by_default(service: Service) -> None:
    await service.publish(TOPIC_MATCHES, match_event(posting_id="j1"))
    await service.publish(TOPIC_MATCHES, match_event(posting_id="j2"))
    await service.until("/v1/inbox/p1", lambda b: b["total"] == 2)
    r = await service.http.post("/v1/inbox/p1/j1/reply", json={"interested": True})
    assert r.status_code == 200 and r.json()["reply"]["interested"] is True
    await service.publish(
        TOPIC_MATCHES, match_event("match.withdrawn", posting_id="j2", withdrawn_reason="已招满")
    )
    await service.until("/v1/inbox/p1", lambda b: b["total"] == 1)
    everything = (await service.http.get("/v1/inbox/p1", params={"include_withdrawn": True})).json()
    assert {i["posting_id"]: i["status"] for i in everything["items"]} == {"j1": "active", "j2": "withdrawn"}
    assert (await service.http.post("/v1/inbox/p1/j2/reply", json={"interested": True})).status_code == 409


async def test_bad_requests_are_4xx_never_500(service: Service) -> None:
    assert (await service.http.post("/v1/inbox/p1/nope/reply", json={"interested": True})).status_code == 404
    r = await service.http.post("/v1/inbox/p1/j1/reply", json={"interested": "maybe"})
    assert r.status_code == 422 and "interested" in r.text
    assert (await service.http.get("/v1/inbox/p1", params={"limit": 0})).status_code == 422
    assert (await service.http.get("/v1/inbox/unknown")).json() == {
        "profile_id": "unknown",
        "total": 0,
        "items": [],
    }


async def test_health_and_readiness(service: Service) -> None:
    assert (await service.http.get("/healthz")).json() == {"status": "ok"}
    r = await service.http.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"kafka": True, "db": True, "started": True}
