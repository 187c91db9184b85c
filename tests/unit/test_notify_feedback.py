"""A seeker's reply is stored with a pending mark and relayed to match once, even across an outage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from services.notify import documents as d
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from services.notify.worker import DeliveryWorker
from shared.bus.base import Publisher
from shared.bus.memory import MemoryBus
from shared.events import (
    TOPIC_CONTACTS,
    TOPIC_FEEDBACK,
    TOPIC_MATCHES,
    FeedbackReplied,
    feedback_event_id,
    parse,
)
from shared.store.memory import MemoryStore
from tests.unit.fakes import ADMIN, admin_keyring
from tests.unit.notify_fakes import FakeChannel, FakeClock, contact_event, match_event


class FlakyPublisher(Publisher):
    def __init__(self, inner: Publisher, bus: FlakyBus) -> None:
        self.inner, self.bus = inner, bus

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        if self.bus.down:
            raise RuntimeError("broker down")
        await self.inner.publish(topic, key, value)
        if self.bus.after_publish is not None:
            hook, self.bus.after_publish = self.bus.after_publish, None
            await hook()

    async def ping(self) -> bool:
        return not self.bus.down


class FlakyBus(MemoryBus):
    down = False
    after_publish: Callable[[], Awaitable[object]] | None = None

    def publisher(self, client_id: str) -> Publisher:
        return FlakyPublisher(super().publisher(client_id), self)


@dataclass
class Service:
    app: FastAPI
    http: httpx.AsyncClient
    bus: FlakyBus
    store: MemoryStore

    @property
    def worker(self) -> DeliveryWorker:
        worker: DeliveryWorker = self.app.state.worker
        return worker

    def feedback(self) -> list[FeedbackReplied]:
        events = [parse(TOPIC_FEEDBACK, r.value) for r in self.bus.records(TOPIC_FEEDBACK)]
        assert all(isinstance(e, FeedbackReplied) for e in events)
        return events  # type: ignore[return-value]

    async def rec(self) -> dict[str, object]:
        doc = await self.store.collection(d.RECOMMENDATIONS).get("p1:j1")
        assert doc is not None
        return doc


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    bus, store = FlakyBus(), MemoryStore()
    settings = NotifySettings(worker_interval_s=3600)  # one tick at start; the test ticks by hand
    clock = FakeClock(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    channels = {"sms": FakeChannel("sms")}
    app = create_app(settings, bus=bus, store=store, channels=channels, clock=clock, keyring=admin_keyring())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notify", headers=ADMIN) as http:
            publisher = bus.publisher("test")
            await publisher.publish(TOPIC_CONTACTS, "p1", contact_event().to_bytes())
            await publisher.publish(TOPIC_MATCHES, "p1", match_event().to_bytes())
            for _ in range(200):
                if (await http.get("/v1/inbox/p1")).json()["items"]:
                    break
                await asyncio.sleep(0.01)
            # Send the recommendation's delivery now, whether or not the start-up tick came after
            # it was scheduled, so the ticks the tests count find only what the tests add.
            await app.state.worker.run_once()
            yield Service(app, http, bus, store)


async def test_reply_marks_feedback_pending_and_is_published_once(service: Service) -> None:
    r = await service.http.post("/v1/inbox/p1/j1/reply", json={"interested": False})
    assert r.status_code == 200 and r.json()["reply"]["interested"] is False
    rec = await service.rec()
    assert rec["feedback_pending"] is True and rec["reply"] == {"interested": False, "at": rec["reply"]["at"]}
    assert service.feedback() == []

    assert await service.worker.flush_feedback() == 1
    assert await service.worker.run_once() == 0  # a full tick finds nothing more to publish
    events = service.feedback()
    assert len(events) == 1
    event = events[0]
    assert event.type == "feedback.replied" and event.key == "p1" and event.producer == "notify"
    assert event.event_id == feedback_event_id("p1", "j1", False)
    feedback = event.payload
    assert (feedback.profile_id, feedback.posting_id, feedback.interested) == ("p1", "j1", False)
    assert set(event.payload.model_dump()) == {
        "profile_id",
        "posting_id",
        "interested",
        "at",
    }  # no phone, no name
    assert (await service.rec())["feedback_pending"] is False


async def test_reply_is_accepted_while_the_bus_is_down_and_published_when_back(service: Service) -> None:
    service.bus.down = True
    r = await service.http.post("/v1/inbox/p1/j1/reply", json={"interested": True})
    assert r.status_code == 200
    await service.worker.run_once()
    assert service.feedback() == [] and (await service.rec())["feedback_pending"] is True
    service.bus.down = False
    await service.worker.run_once()
    await service.worker.run_once()
    events = service.feedback()
    assert len(events) == 1 and events[0].payload.interested is True
    assert (await service.rec())["feedback_pending"] is False


async def test_a_changed_answer_before_the_relay_publishes_only_the_latest(service: Service) -> None:
    await service.http.post("/v1/inbox/p1/j1/reply", json={"interested": True})
    await service.http.post("/v1/inbox/p1/j1/reply", json={"interested": False})
    await service.worker.flush_feedback()
    assert [e.payload.interested for e in service.feedback()] == [False]


async def test_clearing_the_mark_does_not_swallow_a_newer_reply(service: Service) -> None:
    await service.http.post("/v1/inbox/p1/j1/reply", json={"interested": True})

    async def newer_reply() -> object:  # lands after the relay read the doc, before it clears
        return await service.http.post("/v1/inbox/p1/j1/reply", json={"interested": False})

    service.bus.after_publish = newer_reply
    assert await service.worker.flush_feedback() == 1
    assert (await service.rec())["feedback_pending"] is True  # the guard kept the newer one
    assert await service.worker.flush_feedback() == 1
    assert [e.payload.interested for e in service.feedback()] == [True, False]
    assert (await service.rec())["feedback_pending"] is False
