"""Seekers answer an SMS with 1 or 2 (through the gateway's inbound hook), and opening the inbox
is the funnel's "viewed": both go through notify's outbox like an inbox reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.notify.app import create_app
from services.notify.inbound import HELP, NOTHING_OPEN, keyword, phone_key
from services.notify.settings import NotifySettings
from shared.auth import KeyRing, Role, headers
from shared.bus.memory import MemoryBus
from shared.events import (
    TOPIC_CONTACTS,
    TOPIC_FEEDBACK,
    TOPIC_FUNNEL,
    TOPIC_MATCHES,
    Event,
    feedback_event_id,
    parse,
)
from shared.store.memory import MemoryStore
from tests.unit.notify_fakes import FakeChannel, FakeClock, contact_event, match_event

PHONE = "13912345678"  # contact_event's


@dataclass
class Notify:
    app: Any
    http: httpx.AsyncClient
    bus: MemoryBus
    clock: FakeClock
    keys: dict[str, str]

    async def publish(self, topic: str, event: Event) -> None:
        await self.bus.publisher("test").publish(topic, event.key, event.to_bytes())

    async def call(self, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.request(method, path, headers=headers(self.keys[who]), **kw)

    def events(self, topic: str) -> list[Event]:
        return [parse(topic, r.value) for r in self.bus.records(topic)]

    async def until_published(self, topic: str, count: int) -> list[Event]:
        for _ in range(300):
            if len(self.bus.records(topic)) >= count:
                return self.events(topic)
            await asyncio.sleep(0.01)
        raise AssertionError(f"{topic}: fewer than {count} records: {self.events(topic)}")


@pytest.fixture
async def notify() -> AsyncIterator[Notify]:
    bus, clock = MemoryBus(), FakeClock(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    ring = KeyRing()
    keys = {
        "admin": ring.issue("admin", Role.admin),
        "gateway": ring.issue("sms-gateway", Role.gateway),
        "seeker": ring.issue("seeker-p1", Role.seeker, ["p1"]),
        "enshi": ring.issue("official-enshi", Role.official, ["4228"]),
    }
    app = create_app(
        NotifySettings(worker_interval_s=0.01),
        bus=bus,
        store=MemoryStore(),
        channels={"sms": FakeChannel("sms")},
        clock=clock,
        keyring=ring,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
            n = Notify(app, http, bus, clock, keys)
            await n.publish(TOPIC_CONTACTS, contact_event("p1", home_adcode="422801"))
            await n.publish(TOPIC_MATCHES, match_event(posting_id="j1"))
            for _ in range(200):  # j1 first, j2 a minute later: j2 is the most recent
                if (await n.call("admin", "GET", "/v1/inbox/p1")).json()["total"] == 1:
                    break
                await asyncio.sleep(0.01)
            clock.advance(minutes=1)
            await n.publish(TOPIC_MATCHES, match_event(posting_id="j2"))
            for _ in range(200):
                if (await n.call("admin", "GET", "/v1/inbox/p1")).json()["total"] == 2:
                    break
                await asyncio.sleep(0.01)
            yield n


def test_keywords_fold_full_width_digits_and_forgive_spaces() -> None:
    assert [keyword(t) for t in ("1", " 2 ", "１", "２。", "1!")] == [True, False, True, False, True]
    assert [keyword(t) for t in ("", "12", "是", "TD", "3")] == [None] * 5
    assert phone_key("+86 139-1234-5678") == PHONE and phone_key(PHONE) == PHONE


async def test_reply_1_marks_the_latest_recommendation_interested_like_an_inbox_reply(notify: Notify) -> None:
    r = await notify.call("gateway", "POST", "/v1/sms/inbound", json={"from": "+8613912345678", "text": "1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["action"] == "interested" and body["posting_id"] == "j2" and "已收到" in body["reply"]
    inbox = (await notify.call("admin", "GET", "/v1/inbox/p1")).json()
    replies = {i["posting_id"]: i["reply"] for i in inbox["items"]}
    assert replies["j1"] is None and replies["j2"]["interested"] is True
    (event,) = await notify.until_published(TOPIC_FEEDBACK, 1)
    # The same event an inbox reply of the same answer would be: match and campaign cannot tell.
    assert event.type == "feedback.replied" and event.event_id == feedback_event_id("p1", "j2", True)
    r = await notify.call("gateway", "POST", "/v1/sms/inbound", json={"from": PHONE, "text": "２"})
    assert r.json()["action"] == "declined"
    events = await notify.until_published(TOPIC_FEEDBACK, 2)
    assert events[-1].payload.interested is False  # type: ignore[attr-defined]


async def test_other_texts_and_unknown_senders_get_help_not_an_error(notify: Notify) -> None:
    r = await notify.call(
        "gateway", "POST", "/v1/sms/inbound", json={"from": PHONE, "text": "你好，还招人吗"}
    )
    assert r.status_code == 200 and r.json() == {"action": "help", "reply": HELP, "posting_id": None}
    r = await notify.call("gateway", "POST", "/v1/sms/inbound", json={"from": "13800000000", "text": "1"})
    assert r.status_code == 200 and r.json()["action"] == "nothing_open" and r.json()["reply"] == NOTHING_OPEN
    r = await notify.call("gateway", "POST", "/v1/sms/inbound", json={"text": "1"})
    assert r.status_code == 422 and "from" in r.text
    await asyncio.sleep(0.05)
    assert notify.bus.records(TOPIC_FEEDBACK) == []


async def test_only_the_gateway_may_hand_in_texts(notify: Notify) -> None:
    body = {"from": PHONE, "text": "1"}
    assert (await notify.http.post("/v1/sms/inbound", json=body)).status_code == 401
    assert (await notify.call("seeker", "POST", "/v1/sms/inbound", json=body)).status_code == 403
    assert (await notify.call("enshi", "POST", "/v1/sms/inbound", json=body)).status_code == 403
    # and the gateway's key opens nothing else
    assert (await notify.call("gateway", "GET", "/v1/inbox/p1")).status_code == 403


async def test_the_seekers_own_look_is_funnel_viewed_once_per_recommendation(notify: Notify) -> None:
    assert (await notify.call("enshi", "GET", "/v1/inbox/p1")).status_code == 200  # an official's look
    await asyncio.sleep(0.05)
    assert notify.bus.records(TOPIC_FUNNEL) == []
    assert (await notify.call("seeker", "GET", "/v1/inbox/p1")).status_code == 200
    events = await notify.until_published(TOPIC_FUNNEL, 2)
    assert sorted((e.type, e.payload.posting_id, e.payload.role) for e in events) == [  # type: ignore[attr-defined]
        ("funnel.viewed", "j1", "seeker"),
        ("funnel.viewed", "j2", "seeker"),
    ]
    assert {e.payload.employer_name for e in events} == {"恩施示例电子"}  # type: ignore[attr-defined]
    assert (await notify.call("seeker", "GET", "/v1/inbox/p1")).status_code == 200  # looks again
    await asyncio.sleep(0.1)
    assert len(notify.bus.records(TOPIC_FUNNEL)) == 2


async def test_the_gateway_hands_a_text_to_notify_and_sends_the_answer_back(
    notify: Notify, tmp_path: Path
) -> None:
    settings = GatewaySettings(
        jsonl=tmp_path / "m.jsonl",
        inbound_url="http://notify/v1/sms/inbound",
        inbound_key=notify.keys["gateway"],
    )
    app = gateway_app(settings, inbound_transport=httpx.ASGITransport(app=notify.app))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as gw:
        r = await gw.post("/inbound", json={"from": PHONE, "text": "1"})
        assert r.status_code == 200 and r.json()["action"] == "interested"
        messages = (await gw.get("/messages", params={"to": PHONE})).json()
    assert [m["channel"] for m in messages] == ["sms", "sms-in"]  # newest first: the answer, the text
    assert messages[0]["text"] == r.json()["reply"] and messages[1]["text"] == "1"
    unconfigured = gateway_app(GatewaySettings(jsonl=tmp_path / "n.jsonl"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unconfigured), base_url="http://gw") as gw:
        assert (await gw.post("/inbound", json={"from": PHONE, "text": "1"})).status_code == 503
