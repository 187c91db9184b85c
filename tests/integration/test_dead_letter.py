"""Bad records on the real stack: dead-lettered with their reason, and the stream moves on.

On every partition of every topic a service consumes, a plain Kafka client publishes three
records no retry can fix — bytes that are not JSON, a well-formed envelope of an unknown type,
and a registered type whose payload fails validation. Each must reach the dead-letter topic with
its reason and original bytes, and everything published after them must still be handled: the
example posting and profile, sent over HTTP afterwards, reach the inbox, and a reply reaches
match.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from tests.integration.conftest import INGEST, KAFKA, MATCH, NOTIFY, Stack, wait_for
from tests.integration.test_pipeline import _read_topic, example, inbox

# topic -> (a registered type on it, the groups that consume it: each dead-letters on its own)
CONSUMED = {
    "postings": ("posting.upserted", ("match", "campaign")),
    "profiles": ("profile.upserted", ("match", "campaign")),
    "feedback": ("feedback.replied", ("match", "campaign")),
    "matches": ("match.created", ("notify", "campaign")),
    "contacts": ("contact.upserted", ("notify", "campaign")),  # campaign: bus manifests
    "funnel": ("funnel.hired", ("campaign", "ingest")),
    "recruitment": ("fair.invited", ("match", "notify", "campaign")),
}
PARTITIONS = 3  # CHUNFENG_TOPIC_PARTITIONS in the test stack


def bad_records(event_type: str, tag: str) -> dict[str, bytes]:
    envelope: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "schema_version": 1,
        "type": event_type,
        "key": f"dlq-{tag}",
        "occurred_at": "2026-03-10T02:00:00Z",
        "producer": "a-plain-client",
        "payload": {"id": f"dlq-{tag}", "version": "not a number"},
    }
    return {
        "malformed": b'{"event_id": "dlq-' + tag.encode() + b'", "type": ',
        "unknown type": json.dumps({**envelope, "type": "posting.exploded"}).encode(),
        "invalid payload": json.dumps(envelope).encode(),
    }


async def _publish_bad(stack: Stack, tag: str) -> list[tuple[str, int, str]]:
    sent: list[tuple[str, int, str]] = []
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all")
    await producer.start()
    try:
        for name, (event_type, _groups) in CONSUMED.items():
            for partition in range(PARTITIONS):
                for kind, value in bad_records(event_type, tag).items():
                    await producer.send_and_wait(
                        stack.topic(name), value=value, key=f"dlq-{tag}".encode(), partition=partition
                    )
                    sent.append((stack.topic(name), partition, kind))
    finally:
        await producer.stop()
    return sent


def test_bad_records_are_dead_lettered_and_the_stream_continues(stack: Stack, http: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    sent = asyncio.run(_publish_bad(stack, tag))

    # Everything after the bad records is still handled: HTTP in, recommendation out, reply back.
    r = http.post(f"{INGEST}/v1/postings", json=example("posting"))
    assert r.status_code == 201, r.text
    posting_id = r.json()["id"]
    profile = example("profile") | {"phone": f"1359{uuid.uuid4().int % 10**7:07d}"}
    r = http.post(f"{INGEST}/v1/profiles", json=profile)
    assert r.status_code == 201, r.text
    profile_id = r.json()["id"]
    wait_for(lambda: any(i["posting_id"] == posting_id for i in inbox(http, profile_id)), timeout=30)
    r = http.post(f"{NOTIFY}/v1/inbox/{profile_id}/{posting_id}/reply", json={"interested": False})
    assert r.status_code == 200, r.text

    def withdrawn() -> bool:
        ms = http.get(
            f"{MATCH}/v1/matches", params={"profile_id": profile_id, "include_withdrawn": True}
        ).json()
        return any(m["posting_id"] == posting_id and m.get("withdrawn_reason") for m in ms)

    wait_for(withdrawn, timeout=30)

    def mine() -> list[dict[str, Any]]:
        letters = [json.loads(v) for v in asyncio.run(_read_topic(stack.topic("deadletter"), limit=500))]
        return [e for e in letters if f"dlq-{tag}" == e["key"]]

    expected = sum(len(groups) for _t, groups in CONSUMED.values()) * PARTITIONS * 3
    assert len(sent) == len(CONSUMED) * PARTITIONS * 3
    letters = wait_for(lambda: (ls := mine()) and len(ls) >= expected and ls, timeout=30)
    assert len(letters) == expected, "each bad record is dead-lettered exactly once by each group"
    by_place: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for e in letters:
        assert e["type"] == "record.rejected" and e["schema_version"] == 1 and e["event_id"]
        p = e["payload"]
        by_place.setdefault((p["topic"], p["partition"], p["group"]), []).append(p)
    for name, (event_type, groups) in CONSUMED.items():
        for partition, group in ((pt, g) for pt in range(PARTITIONS) for g in groups):
            got = sorted(by_place[(stack.topic(name), partition, group)], key=lambda p: p["offset"])
            assert len(got) == 3, (name, partition, group)
            reasons = [p["reason"] for p in got]
            assert reasons[0].startswith("not JSON"), reasons
            assert "unknown event type 'posting.exploded'" in reasons[1], reasons
            assert reasons[2].startswith(f"invalid {event_type}: payload"), reasons
            originals = bad_records(event_type, tag)
            assert got[0]["original"] == originals["malformed"].decode()
            assert json.loads(got[1]["original"])["type"] == "posting.exploded"
