"""Two notify processes in one consumer group, on the stack's FerretDB: the daily cap holds
exactly and no delivery goes out twice.

Why on the real store: FerretDB 1.x applies a conditional update as read-modify-write, so the old
claim (``pending -> sending`` where pending) and the old cap (count today's sends, then send)
could both be won by two processes at once; the in-process lock of the store adapter cannot see
across processes. The SMS go to the fake gateway, which answers 0.3 s after accepting (as a
carrier does): with the old "count, then send, then mark sent", two workers each sending one of a
seeker's recommendations could both count none sent, and a cap of 1 become 2. A delivery sent twice
shows as a repeat of its idempotency key in the gateway's record.
"""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from chaos.data import cell_counties, posting_json, profile_json
from tests.integration.conftest import INGEST, NOTIFY, LocalStack, Stack, wait_for

CAP = 1
POSTINGS = 4
SEEKERS = 6


def test_two_notify_workers_push_exactly_the_daily_cap_and_no_delivery_twice(
    stack: Stack, http: httpx.Client, tmp_path: Path
) -> None:
    if not isinstance(stack, LocalStack):
        pytest.skip("starts a second notify process beside the stack's: local-process stack only")
    gateway = "http://127.0.0.1:8025"
    env = {
        **stack.env,
        "NOTIFY_SMS_GATEWAY_URL": f"{gateway}/send",
        "NOTIFY_DAILY_CAP": str(CAP),
        "NOTIFY_QUIET_START": "00:00",  # start = end: no quiet hours, whatever the hour of the run
        "NOTIFY_QUIET_END": "00:00",
        "NOTIFY_WORKER_INTERVAL_S": "0.2",  # both workers look for due deliveries often: they race
    }
    tag = uuid.uuid4().hex[:6]
    # A county of its own (outside the other tests' Hubei and Jiangxi), seekers who commute 5 km:
    # each fits exactly these four postings (tests/unit/test_chaos_plan.py).
    county = [c for c in cell_counties() if c[:2] not in ("42", "36")][int(tag, 16) % 100]
    stack.kill("notify", signal.SIGTERM)
    try:
        gateway_env = {"GATEWAY_HOST": "127.0.0.1", "GATEWAY_REPLY_DELAY_S": "0.3"}
        gateway_env["GATEWAY_JSONL"] = str(tmp_path / "gateway.jsonl")
        stack.devstack.start_service("gateway", gateway_env)
        stack.devstack.start_service("notify", env)
        stack.devstack.start_service("notify", env, instance="notify2", port=8013)
        postings = []
        for n in range(POSTINGS):
            r = http.post(f"{INGEST}/v1/postings", json=posting_json(tag, 0, county, n))
            assert r.status_code == 201, r.text
            postings.append(r.json()["id"])
        seekers = []
        for i in range(SEEKERS):
            r = http.post(f"{INGEST}/v1/profiles", json=profile_json(int(tag, 16) % 97, i, county))
            assert r.status_code == 201, r.text
            seekers.append(r.json()["id"])

        def settled(pid: str) -> list[dict[str, object]] | None:
            ds = http.get(f"{NOTIFY}/v1/deliveries", params={"profile_id": pid}).json()
            statuses = Counter(str(d["status"]) for d in ds)
            deferred = [d for d in ds if d["status"] == "pending" and d.get("deferred_reason") == "daily_cap"]
            if (
                len(ds) == POSTINGS
                and statuses["sent"] >= CAP
                and len(deferred) + statuses["sent"] == POSTINGS
            ):
                return list(ds)
            return None

        for pid in seekers:
            try:
                wait_for(lambda pid=pid: settled(pid), timeout=120, interval=1)
            except AssertionError:
                ds = http.get(f"{NOTIFY}/v1/deliveries", params={"profile_id": pid}).json()
                states = Counter((d["status"], d.get("deferred_reason")) for d in ds)
                raise AssertionError(f"{pid}: deliveries not settled as sent/deferred: {states}") from None
        messages = http.get(f"{gateway}/messages", params={"limit": 10_000}).json()
    finally:
        stack.devstack.kill_service("notify2", signal.SIGTERM)
        stack.kill("notify", signal.SIGTERM)
        stack.devstack.kill_service("gateway", signal.SIGTERM)
        stack.start("notify")
    ours = [m for m in messages if str(m["idempotency_key"]).split(":")[0] in seekers]
    assert [m for m in ours if m["repeats"]] == []  # no delivery sent twice
    per_seeker = Counter(str(m["idempotency_key"]).split(":")[0] for m in ours)
    assert per_seeker == {pid: CAP for pid in seekers}  # exactly the cap, for every seeker
    for pid in seekers:
        inbox = http.get(f"{NOTIFY}/v1/inbox/{pid}").json()
        items = inbox["items"] if isinstance(inbox, dict) else inbox
        assert sorted(i["posting_id"] for i in items) == sorted(postings)  # the inbox is not capped
