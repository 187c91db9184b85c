"""End to end on the real stack: HTTP in, Kafka between, recommendations out."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from tests.examples import example
from tests.integration.conftest import CAMPAIGN, INGEST, KAFKA, MATCH, NOTIFY, Stack, wait_for

# Its "within 10 s" checks run before the other files fill the stores (conftest's ordering).
pytestmark = pytest.mark.latency


def inbox(http: httpx.Client, profile_id: str, include_withdrawn: bool = False) -> list[dict[str, Any]]:
    r = http.get(f"{NOTIFY}/v1/inbox/{profile_id}", params={"include_withdrawn": include_withdrawn})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["items"] if isinstance(body, dict) else body


def test_every_service_is_ready(stack: Stack, http: httpx.Client) -> None:
    for url in (INGEST, MATCH, NOTIFY, CAMPAIGN):
        wait_for(lambda u=url: http.get(f"{u}/readyz").status_code == 200, 30)
        assert http.get(f"{url}/openapi.json").status_code == 200


def test_posting_and_profile_give_an_explained_inbox_recommendation_within_10s(
    stack: Stack, http: httpx.Client
) -> None:
    r = http.post(f"{INGEST}/v1/postings", json=example("posting"))
    assert r.status_code == 201, r.text
    posting_id = r.json()["id"]
    r = http.post(f"{INGEST}/v1/profiles", json=example("profile"))
    assert r.status_code == 201, r.text
    profile_id = r.json()["id"]

    items = wait_for(
        lambda: [i for i in inbox(http, profile_id) if i.get("posting_id") == posting_id], timeout=10
    )
    reason = items[0]["reason"]
    assert "距家" in reason and "月薪" in reason, reason

    matches = http.get(f"{MATCH}/v1/matches", params={"posting_id": posting_id}).json()
    mine = [m for m in matches if m["profile_id"] == profile_id]
    assert mine, matches
    factors = {f["factor"] for f in mine[0]["factors"]}
    assert {"distance", "wage"} <= factors


def test_bad_payload_is_a_422_naming_the_field(stack: Stack, http: httpx.Client) -> None:
    bad = example("profile") | {"phone": "12345", "home": {"adcode": "999999"}}
    r = http.post(f"{INGEST}/v1/profiles", json=bad)
    assert r.status_code == 422
    text = json.dumps(r.json(), ensure_ascii=False)
    assert "phone" in text and "adcode" in text


async def _read_topic(topic: str, limit: int = 50) -> list[bytes]:
    """Read a topic from the beginning with a plain Kafka client, in a throwaway group of its own."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=KAFKA,
        group_id=f"reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        out: list[bytes] = []
        for _ in range(20):
            batch = await consumer.getmany(timeout_ms=500, max_records=limit)
            out += [m.value for msgs in batch.values() for m in msgs if m.value is not None]
            if len(out) >= limit or (out and not batch):
                break
        return out
    finally:
        await consumer.stop()


def test_events_are_plain_json_with_id_and_schema_version(stack: Stack, http: httpx.Client) -> None:
    profile = example("profile") | {"phone": "13700001111"}
    r = http.post(f"{INGEST}/v1/profiles", json=profile)
    assert r.status_code == 201
    for name in ("postings", "profiles", "contacts", "matches"):
        raw = wait_for(lambda n=name: asyncio.run(_read_topic(stack.topic(n))), timeout=20)
        for value in raw:
            if b"dlq-" in value:
                continue  # test_dead_letter's deliberately bad records, not the system's events
            event = json.loads(value)
            assert event["event_id"] and event["schema_version"] == 1 and event["key"], event
    # least data: the profile events that match reads carry no phone number and no name
    profiles_raw = b"".join(asyncio.run(_read_topic(stack.topic("profiles"))))
    assert b"13700001111" not in profiles_raw and "示例求职者".encode() not in profiles_raw


def test_a_seekers_no_withdraws_the_match_and_offers_the_next_best(stack: Stack, http: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:6]
    base = {
        "headcount": 20,
        "wage": {"min": 4000, "max": 5000},
        "location": {"adcode": "360429", "address": "湖口县金砂湾工业园"},
        "shift": "day",
    }
    better = base | {"employer": {"name": f"湖口甲{tag}"}, "title": "普工"}
    lower_pay = base | {"employer": {"name": f"湖口乙{tag}"}, "title": "普工"}
    lower_pay["wage"] = {"min": 3600, "max": 4200}
    first = http.post(f"{INGEST}/v1/postings", json=better)
    second = http.post(f"{INGEST}/v1/postings", json=lower_pay)
    assert first.status_code == second.status_code == 201
    ids = {first.json()["id"], second.json()["id"]}
    seeker = example("profile") | {
        "phone": f"1371{uuid.uuid4().int % 10**7:07d}",
        "home": {"adcode": "360429"},
        "availability": "any",
        "max_commute_km": 30,
        "skills": ["普工"],
    }
    r = http.post(f"{INGEST}/v1/profiles", json=seeker)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]

    def mine() -> set[str]:
        ms = http.get(f"{MATCH}/v1/matches", params={"profile_id": pid}).json()
        return {m["posting_id"] for m in ms} & ids

    assert wait_for(lambda: mine() == ids, timeout=10)
    declined = first.json()["id"]
    wait_for(lambda: any(i["posting_id"] == declined for i in inbox(http, pid)), timeout=10)
    r = http.post(f"{NOTIFY}/v1/inbox/{pid}/{declined}/reply", json={"interested": False})
    assert r.status_code == 200, r.text

    wait_for(lambda: mine() == ids - {declined}, timeout=15)

    def reason() -> str | None:
        # The engine answers the live list at once; the stored withdrawn view follows the publish.
        ms = http.get(f"{MATCH}/v1/matches", params={"profile_id": pid, "include_withdrawn": True}).json()
        return {m["posting_id"]: m.get("withdrawn_reason") for m in ms}.get(declined)

    assert wait_for(reason, timeout=15) == "求职者不感兴趣"
    wait_for(lambda: all(i["posting_id"] != declined for i in inbox(http, pid)), timeout=15)


def test_the_real_services_refuse_anonymous_callers(stack: Stack) -> None:
    with httpx.Client(timeout=30) as anonymous:
        for url in (
            f"{INGEST}/v1/profiles",
            f"{MATCH}/v1/matches?profile_id=x",
            f"{NOTIFY}/v1/inbox/x",
            f"{CAMPAIGN}/v1/circulars/daily",
        ):
            r = anonymous.get(url)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", url
        assert anonymous.get(f"{INGEST}/healthz").status_code == 200
