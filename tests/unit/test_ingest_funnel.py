"""Ingest hears hires and departures from the funnel: once per event, through its own repository."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.bus.memory import MemoryBus
from shared.events import TOPIC_FUNNEL, TOPIC_POSTINGS, TOPIC_PROFILES, FunnelStep, funnel_event, parse
from shared.store.memory import MemoryStore
from tests.examples import example
from tests.unit.fakes import ADMIN, admin_keyring


@pytest.fixture
async def ingest() -> AsyncIterator[tuple[httpx.AsyncClient, MemoryBus]]:
    bus = MemoryBus()
    app = create_app(IngestSettings(), bus=bus, store=MemoryStore(), keyring=admin_keyring())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingest", headers=ADMIN
        ) as http:
            yield http, bus


async def until(http: httpx.AsyncClient, path: str, predicate: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(300):
        body = (await http.get(path)).json()
        if predicate(body):
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path}: condition not met, last {body}")


def step(kind: str, profile_id: str, posting_id: str) -> bytes:
    at = datetime(2026, 3, 10, 2, tzinfo=UTC)
    payload = FunnelStep(
        profile_id=profile_id, posting_id=posting_id, step=kind, at=at, by="hr", role="employer"
    )  # type: ignore[arg-type]
    return funnel_event(payload).to_bytes()


async def test_a_hire_fills_one_position_and_marks_the_seeker_once_and_leaving_reopens_the_search(
    ingest: tuple[httpx.AsyncClient, MemoryBus],
) -> None:
    http, bus = ingest
    posting_id = (await http.post("/v1/postings", json=example("posting"))).json()["id"]
    profile_id = (await http.post("/v1/profiles", json=example("profile"))).json()["id"]
    publisher = bus.publisher("campaign")
    topic = TOPIC_FUNNEL
    for _ in range(2):  # a redelivery counts nothing twice
        await publisher.publish(topic, profile_id, step("hired", profile_id, posting_id))
    await until(http, f"/v1/profiles/{profile_id}", lambda b: b["status"] == "hired")
    posting = await until(http, f"/v1/postings/{posting_id}", lambda b: b["filled"] == 1)
    assert posting["version"] == 2

    # The outbox relay publishes in the background: read the topic until it has caught up.
    def posting_versions() -> list[tuple[int, int]]:
        views = [parse(TOPIC_POSTINGS, r.value) for r in bus.records(TOPIC_POSTINGS)]
        return sorted({(v.payload.version, v.payload.filled) for v in views})  # type: ignore[attr-defined]

    def profile_versions() -> list[tuple[int, str]]:
        profiles = [parse(TOPIC_PROFILES, r.value).payload for r in bus.records(TOPIC_PROFILES)]
        return sorted({(p.version, p.status) for p in profiles})  # type: ignore[attr-defined]

    async def settled(read: Callable[[], list[Any]], want: list[Any]) -> list[Any]:
        for _ in range(100):
            if read() == want:
                break
            await asyncio.sleep(0.05)
        return read()

    # at least once: the relay may publish a version twice; consumers dedupe on the version
    assert await settled(posting_versions, [(1, 0), (2, 1)]) == [(1, 0), (2, 1)]
    await publisher.publish(topic, profile_id, step("left", profile_id, posting_id))
    await until(http, f"/v1/profiles/{profile_id}", lambda b: b["status"] == "looking")
    want = [(1, "looking"), (2, "hired"), (3, "looking")]
    assert await settled(profile_versions, want) == want


async def test_a_hire_beyond_the_headcount_is_not_counted(
    ingest: tuple[httpx.AsyncClient, MemoryBus],
) -> None:
    http, bus = ingest
    posting_id = (await http.post("/v1/postings", json={**example("posting"), "headcount": 1})).json()["id"]
    for p in ("pa", "pb"):
        await bus.publisher("campaign").publish(TOPIC_FUNNEL, p, step("hired", p, posting_id))
    await until(http, f"/v1/postings/{posting_id}", lambda b: b["filled"] == 1)
    await asyncio.sleep(0.1)
    assert (await http.get(f"/v1/postings/{posting_id}")).json()["filled"] == 1
