"""Ingest's ``/metrics``: requests, accepted writes, published events and the outbox backlog."""

from __future__ import annotations

import math
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from services.ingest.app import create_app
from services.ingest.documents import POSTING as POSTINGS
from services.ingest.metrics import outbox_refresh
from shared.bus.memory import MemoryBus, MemoryPublisher
from shared.metrics import metrics_router
from shared.store.memory import MemoryStore
from tests.examples import example
from tests.unit.fakes import ADMIN, admin_keyring

COLLECTION = POSTINGS.collection


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_until_published(client: TestClient) -> None:
    deadline = time.monotonic() + 5
    while client.get("/v1/outbox").json()["pending_documents"]:
        assert time.monotonic() < deadline, "the relay did not publish"
        time.sleep(0.02)


def test_metrics_show_requests_writes_publishing_and_backlog() -> None:
    bus = MemoryBus()
    app = create_app(bus=bus, store=MemoryStore(), keyring=admin_keyring())
    publisher = app.state.publisher
    assert isinstance(publisher, MemoryPublisher)
    with TestClient(app, headers=ADMIN) as client:
        before = scrape(client)
        publisher.available = False  # Kafka down: the write is accepted, its event waits
        assert client.post("/v1/postings", json=example("posting")).status_code == 201
        down = scrape(client)
        assert value(down, "chunfeng_outbox_pending", collection=COLLECTION) == 1
        created = {"service": "ingest", "method": "POST", "route": "/v1/postings", "status": "201"}
        assert value(down, "chunfeng_http_requests_total", **created) == (
            value(before, "chunfeng_http_requests_total", **created) + 1
        )
        assert value(down, "chunfeng_ingest_writes_total", collection=COLLECTION) == (
            value(before, "chunfeng_ingest_writes_total", collection=COLLECTION) + 1
        )

        publisher.available = True
        client.post(f"/v1/postings/{client.get('/v1/postings').json()['items'][0]['id']}/close")
        wait_until_published(client)
        after = scrape(client)
        assert value(after, "chunfeng_outbox_pending", collection=COLLECTION) == 0
        # Both events (the upsert that waited and the close) went out once each.
        assert value(after, "chunfeng_events_published_total", producer="ingest") == (
            value(before, "chunfeng_events_published_total", producer="ingest") + 2
        )
        assert value(after, "chunfeng_ingest_writes_total", collection=COLLECTION) == (
            value(before, "chunfeng_ingest_writes_total", collection=COLLECTION) + 2
        )
        unmatched = {"service": "ingest", "method": "GET", "route": "unmatched", "status": "404"}
        client.get("/no/such/page")
        assert value(scrape(client), "chunfeng_http_requests_total", **unmatched) >= 1


async def test_an_uncountable_backlog_reads_nan_and_metrics_still_answer() -> None:
    async def pending() -> dict[str, int]:
        return {"test_nan": 3}

    await outbox_refresh(pending)()
    assert REGISTRY.get_sample_value("chunfeng_outbox_pending", {"collection": "test_nan"}) == 3

    async def down() -> dict[str, int]:
        raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        await outbox_refresh(down)()
    assert math.isnan(REGISTRY.get_sample_value("chunfeng_outbox_pending", {"collection": "test_nan"}) or 0)

    app = FastAPI()
    app.include_router(metrics_router(refresh=outbox_refresh(down)))
    with TestClient(app) as client:
        r = client.get("/metrics")
    assert r.status_code == 200 and 'chunfeng_outbox_pending{collection="test_nan"} NaN' in r.text
