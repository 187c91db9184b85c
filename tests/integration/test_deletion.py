"""The right to be forgotten on the real stack: a seeker is recommended, pushed and answers; her
profile is deleted; then no API shows her, no collection of any service's database holds her
name, phone or ID number, and the compacted topics end her key with a tombstone.

The stack is driven over HTTP and Kafka only. The databases are *read* (pymongo) as the proof
the issue asks for — an observation, nothing is written there.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from pymongo import MongoClient
from pymongo.database import Database

from tests.examples import example
from tests.integration.conftest import CAMPAIGN, INGEST, KAFKA, MATCH, NOTIFY, Stack, wait_for
from tests.integration.test_pipeline import inbox

COUNTY = "421281"  # 赤壁市: no other integration test uses it
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(area: str, birth: str, seq: str) -> str:
    body = area + birth + seq
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def _databases(stack: Stack) -> list[str]:
    return [stack.env[f"{s}_MONGODB_DB"] for s in ("INGEST", "MATCH", "NOTIFY", "CAMPAIGN")]


def holders(stack: Stack, needles: tuple[str, ...]) -> list[str]:
    """Every ``db.collection/_id`` of the four services' databases whose document contains any
    of the strings, anywhere in it."""
    found = []
    client: MongoClient[dict[str, Any]]
    with MongoClient(stack.mongodb_url, serverSelectionTimeoutMS=10_000) as client:
        for db_name in _databases(stack):
            db: Database[dict[str, Any]] = client[db_name]
            for collection in db.list_collection_names():
                for doc in db[collection].find({}):
                    text = json.dumps(doc, ensure_ascii=False, default=str)
                    if any(n in text for n in needles):
                        found.append(f"{db_name}.{collection}/{doc.get('_id')}")
    return found


async def _records(topic: str, key: str) -> list[bytes | None]:
    """The values of every record with this key on a topic, in order, tombstones as None: the
    whole topic read to its end with a plain Kafka client (no group, nothing committed)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=KAFKA, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        out: list[bytes | None] = []

        async def fetch() -> None:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            out.extend(m.value for msgs in batch.values() for m in msgs if m.key == key.encode())

        for _ in range(60):  # without a group, every partition is assigned once metadata arrives
            if consumer.assignment():
                break
            await fetch()
        tps = list(consumer.assignment())
        assert tps, f"no partitions assigned for {topic}"
        ends = await consumer.end_offsets(tps)
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= end for tp, end in ends.items()):
                return out
            await fetch()
    finally:
        await consumer.stop()


async def _cleanup_policies(topics: list[str]) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, t, {"cleanup.policy": None}) for t in topics]
        out: dict[str, str] = {}
        for response in await admin.describe_configs(resources):
            for _err, _msg, _type, name, entries in response.resources:
                out[name] = next(e[1] for e in entries if e[0] == "cleanup.policy")
        return out
    finally:
        await admin.close()


def test_the_seeker_topics_are_compacted_and_the_pair_topics_are_not(stack: Stack) -> None:
    names = {n: stack.topic(n) for n in ("profiles", "contacts", "matches", "funnel")}
    policies = asyncio.run(_cleanup_policies(list(names.values())))
    assert {n: policies[t] for n, t in names.items()} == {
        "profiles": "compact",
        "contacts": "compact",
        "matches": "delete",
        "funnel": "delete",
    }


def test_a_deleted_seeker_is_gone_from_every_api_store_and_compacted_topic(
    stack: Stack, http: httpx.Client
) -> None:
    tag = uuid.uuid4().int
    phone = f"1351{tag % 10**7:07d}"
    name = "忘" + "甲乙丙丁戊己庚辛壬癸"[tag % 10] + "子丑寅卯辰巳午未申酉"[(tag // 10) % 10]
    idn = id_number("422828", "19880512", f"{tag % 1000:03d}")  # born in 鹤峰县
    needles = (phone, idn, name)
    posting = example("posting") | {"location": {"adcode": COUNTY, "address": "赤壁市示例工业园"}}
    r = http.post(f"{INGEST}/v1/postings", json=posting)
    assert r.status_code == 201, r.text
    posting_id = r.json()["id"]
    profile = example("profile") | {
        "name": name,
        "phone": phone,
        "id_number": idn,
        "birth_year": 1988,
        "home": {"adcode": COUNTY},
        "channels": ["inbox", "sms"],
    }
    r = http.post(f"{INGEST}/v1/profiles", json=profile)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]

    # matched, in her inbox, pushed by SMS, and she says she is interested (a funnel step)
    wait_for(lambda: any(i["posting_id"] == posting_id for i in inbox(http, pid)), timeout=30)

    def deliveries() -> list[dict[str, Any]]:
        r = http.get(f"{NOTIFY}/v1/deliveries", params={"profile_id": pid})
        assert r.status_code == 200, r.text
        return list(r.json())

    wait_for(deliveries, timeout=30)
    r = http.post(f"{NOTIFY}/v1/inbox/{pid}/{posting_id}/reply", json={"interested": True})
    assert r.status_code == 200, r.text
    wait_for(
        lambda: http.get(f"{CAMPAIGN}/v1/funnel/{pid}/{posting_id}").json().get("current") == "interested",
        timeout=30,
    )
    assert holders(stack, needles), "the probe must see her before the deletion"

    assert http.delete(f"{INGEST}/v1/profiles/{pid}").status_code == 204

    # every service forgets her (the events travel through Kafka: wait, then look everywhere)
    seen: list[list[str]] = []

    def forgotten() -> bool:
        seen.append(holders(stack, needles))
        return not seen[-1]

    try:
        wait_for(forgotten, timeout=60, interval=1)
    except AssertionError:
        raise AssertionError(f"still holding her after 60 s: {seen[-1]}") from None
    assert http.get(f"{INGEST}/v1/profiles/{pid}").status_code == 404
    assert http.delete(f"{INGEST}/v1/profiles/{pid}").status_code == 404
    assert inbox(http, pid, include_withdrawn=True) == []
    assert deliveries() == []
    r = http.get(f"{MATCH}/v1/matches", params={"profile_id": pid, "include_withdrawn": "true"})
    assert r.status_code == 200 and r.json() == [], r.text
    listed = http.get(f"{INGEST}/v1/profiles", params={"limit": 200}).json()["items"]
    assert pid not in [p["id"] for p in listed]

    # the compacted topics: her key's last record is a tombstone, and after her deletion event
    # no record carries her phone (compaction will drop the older ones: see README)
    for topic in ("profiles", "contacts"):
        values = asyncio.run(_records(stack.topic(topic), pid))
        assert values and values[-1] is None, (topic, values[-3:])
        deleted_at = next(
            i for i, v in enumerate(values) if v is not None and json.loads(v)["type"].endswith(".deleted")
        )
        assert not any(v is not None and phone.encode() in v for v in values[deleted_at:]), topic
    profiles_raw = asyncio.run(_records(stack.topic("profiles"), pid))
    assert not any(v is not None and (name.encode() in v or idn.encode() in v) for v in profiles_raw)
