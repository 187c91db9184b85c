"""Crash safety: SIGKILL the match service mid-stream; nothing is lost and nothing doubled."""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.integration.conftest import INGEST, MATCH, NOTIFY, Stack, wait_for

HOMES = ["422801", "422802", "422822", "422823", "422825", "422826", "422827", "422828"]


def _profile(i: int, tag: str) -> dict[str, object]:
    return {
        "name": f"测试{i}",
        "phone": f"135{int(tag, 16) % 10000:04d}{i:04d}",
        "birth_year": 1975 + i % 25,
        "home": {"adcode": HOMES[i % len(HOMES)]},
        "desired_wage": 3500 + (i % 10) * 100,
        "max_commute_km": 300,
        "availability": "any",
        "skills": ["普工"],
        "channels": ["inbox"],
    }


def test_sigkill_of_match_mid_stream_loses_nothing_and_doubles_nothing(
    stack: Stack, http: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:4]
    posting = {
        "employer": {"name": f"恩施重启测试电子{tag}", "key_enterprise": True},
        "title": "流水线普工",
        "headcount": 400,
        "wage": {"min": 4000, "max": 5500},
        "location": {"adcode": "422801", "address": "恩施高新区"},
        "shift": "day",
        "benefits": ["social_insurance", "room_and_board"],
        "description": "长白班，包吃住。",
    }
    r = http.post(f"{INGEST}/v1/postings", json=posting)
    assert r.status_code == 201, r.text
    posting_id = r.json()["id"]

    def post(i: int) -> str:
        with httpx.Client(timeout=30) as c:
            resp = c.post(f"{INGEST}/v1/profiles", json=_profile(i, tag))
            assert resp.status_code == 201, resp.text
            return str(resp.json()["id"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        first = list(pool.map(post, range(70)))
        stack.kill("match", signal.SIGKILL)
        rest = list(pool.map(post, range(70, 200)))
    profile_ids = first + rest
    assert len(set(profile_ids)) == 200
    stack.start("match")

    def matched() -> list[str]:
        missing = []
        for pid in profile_ids:
            ms = http.get(f"{MATCH}/v1/matches", params={"profile_id": pid}).json()
            if not any(m["posting_id"] == posting_id for m in ms):
                missing.append(pid)
        return [] if missing else profile_ids

    wait_for(matched, timeout=120, interval=1)

    def delivered() -> bool:
        return all(any(i.get("posting_id") == posting_id for i in _inbox(http, pid)) for pid in profile_ids)

    wait_for(delivered, timeout=60, interval=1)
    for pid in profile_ids:
        matches = http.get(f"{MATCH}/v1/matches", params={"profile_id": pid}).json()
        counts = Counter(m["posting_id"] for m in matches)
        assert counts[posting_id] == 1, (pid, matches)
        items = _inbox(http, pid, include_withdrawn=True)
        inbox_counts = Counter(i.get("posting_id") for i in items)
        assert inbox_counts[posting_id] == 1 and max(inbox_counts.values()) == 1, (pid, items)


def _inbox(http: httpx.Client, pid: str, include_withdrawn: bool = False) -> list[dict[str, object]]:
    body = http.get(f"{NOTIFY}/v1/inbox/{pid}", params={"include_withdrawn": include_withdrawn}).json()
    return list(body["items"] if isinstance(body, dict) else body)
