"""A recruitment event end to end on the real stack, over HTTP and Kafka only.

Six seekers around 大理市 (a county no other test uses), placed so that reach and fit decide
who is invited to a fair there with a 45 km reach and two postings:

| seeker | home (km from the venue) | why | invited with |
| --- | --- | --- | --- |
| near | 大理市 (0) | fits the day-shift posting | 普工 |
| weekdays | 大理市 (0) | weekdays only: the day shift is not allowed, no welding certificate | — |
| xiangyun | 祥云县 (33) | fits the day-shift posting, within reach | 普工 |
| eryuan | 洱源县 (60) | fits, but beyond the fair's 45 km | — |
| welder | 大理市 (0) | has 焊工证: fits both | 普工, 电焊工 |
| hired | 大理市 (0) | already hired | — |

The fair is announced, then edited: the invitations on Kafka are exactly those three seekers,
each published under one event id, and each has one inbox item and one SMS delivery for it.
Then registrations, visits, an intention and a hire are recorded and the fair's figures are
exactly what was driven.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.examples import example
from tests.integration.conftest import CAMPAIGN, INGEST, NOTIFY, Stack, wait_for
from tests.integration.test_pipeline import _read_topic, inbox

VENUE = "532901"  # 大理市
CREDIT_CODE = "91532900MA6K8P2Q1X"


def _posting(title: str, **over: Any) -> dict[str, Any]:
    posting = example("posting") | {
        "title": title,
        "shift": "day",
        "location": {"adcode": VENUE, "address": "大理经济开发区"},
        "description": "",
    }
    posting["employer"] = {"name": "大理示例制造有限公司", "credit_code": CREDIT_CODE}
    return posting | over


def _profile(home: str, **over: Any) -> dict[str, Any]:
    return example("profile") | {
        "name": "测试求职者",
        "phone": f"1376{uuid.uuid4().int % 10**7:07d}",
        "home": {"adcode": home},
        "availability": "any",
        "max_commute_km": 80,
        "skills": ["普工"],
        "groups": [],
        "intention": "",
        **over,
    }


def _created(http: httpx.Client, path: str, body: dict[str, Any]) -> str:
    r = http.post(f"{INGEST}{path}", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _invitations(stack: Stack, fair_id: str) -> list[dict[str, Any]]:
    found = []
    for raw in asyncio.run(_read_topic(stack.topic("recruitment"), limit=10_000)):
        try:  # the dead-letter test leaves malformed records on every topic of the session
            event = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(event, dict) or not isinstance(event.get("payload"), dict):
            continue
        if event.get("type") == "fair.invited" and event["payload"].get("fair_id") == fair_id:
            found.append(event)
    return found


def test_a_fair_invites_exactly_the_seekers_within_reach_it_fits_once_and_counts_what_happened(
    stack: Stack, http: httpx.Client
) -> None:
    assembly = _created(http, "/v1/postings", _posting("流水线普工", headcount=30))
    welding = _created(
        http,
        "/v1/postings",
        _posting(
            "电焊工",
            headcount=5,
            skills=["焊接"],
            requirements={"min_age": 18, "max_age": 55, "certificates": ["焊工证"]},
        ),
    )
    seekers = {
        "near": _created(http, "/v1/profiles", _profile(VENUE)),
        "weekdays": _created(http, "/v1/profiles", _profile(VENUE, availability="weekdays_only")),
        "xiangyun": _created(http, "/v1/profiles", _profile("532923")),
        "eryuan": _created(http, "/v1/profiles", _profile("532930")),
        "welder": _created(
            http, "/v1/profiles", _profile(VENUE, certificates=["焊工证"], skills=["焊接", "普工"])
        ),
        "hired": _created(http, "/v1/profiles", _profile(VENUE, status="hired")),
    }
    expected = {
        seekers["near"]: [assembly],
        seekers["xiangyun"]: [assembly],
        seekers["welder"]: sorted([assembly, welding]),
    }
    # match has indexed every seeker once the fitting ones have their recommendations
    for profile_id in expected:
        wait_for(lambda p=profile_id: inbox(http, p), timeout=30)

    starts = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    fair_in = {
        "kind": "job_fair",
        "title": "大理市春风行动招聘会",
        "starts_at": starts.isoformat(),
        "location": {"adcode": VENUE, "address": "大理市人民广场"},
        "reach_km": 45,
        "capacity": 100,
        "posting_ids": [assembly, welding],
    }
    r = http.post(f"{CAMPAIGN}/v1/fairs", json=fair_in)
    assert r.status_code == 201, r.text
    fair_id = r.json()["id"]
    wait_for(lambda: len(_invitations(stack, fair_id)) >= len(expected), timeout=30)
    r = http.put(f"{CAMPAIGN}/v1/fairs/{fair_id}", json=fair_in | {"title": "大理市春风行动招聘会（改址）"})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text

    # both versions were handled by match: every invitation twice, under one id per seeker
    events = wait_for(
        lambda: (found := _invitations(stack, fair_id)) and len(found) >= 2 * len(expected) and found,
        timeout=30,
    )
    assert {e["key"]: e["payload"]["posting_ids"] for e in events} == expected
    ids: dict[str, set[str]] = {}
    for e in events:
        ids.setdefault(e["key"], set()).add(e["event_id"])
    assert {k: len(v) for k, v in ids.items()} == {p: 1 for p in expected}

    item_id = f"fair:{fair_id}"
    for name, profile_id in seekers.items():
        if profile_id in expected:
            items = wait_for(
                lambda p=profile_id: [i for i in inbox(http, p) if i["posting_id"] == item_id], timeout=30
            )
            assert len(items) == 1, (name, items)
            r = http.get(f"{NOTIFY}/v1/deliveries", params={"profile_id": profile_id})
            pushes = [x for x in r.json() if x["posting_id"] == item_id]
            assert [x["channel"] for x in pushes] == ["sms"], (name, pushes)
        else:
            assert not [i for i in inbox(http, profile_id) if i["posting_id"] == item_id], name

    near, xiangyun, weekdays = seekers["near"], seekers["xiangyun"], seekers["weekdays"]
    base = f"{CAMPAIGN}/v1/fairs/{fair_id}"
    for body in ({"profile_id": near, "via": "phone"}, {"profile_id": xiangyun, "via": "link"}):
        r = http.post(f"{base}/registrations", json=body)
        assert r.status_code == 200 and r.json()["accepted"], r.text
    for profile_id in (near, xiangyun, weekdays):  # a walk-in who was not invited counts as a visitor
        assert http.post(f"{base}/visits", json={"profile_id": profile_id}).status_code == 200
    pair = {"profile_id": near, "posting_id": assembly}
    assert http.post(f"{base}/intentions", json=pair).json()["accepted"]
    assert not http.post(f"{base}/intentions", json=pair).json()["accepted"]  # a repeat counts once
    assert http.post(f"{base}/hires", json=pair).status_code == 200

    figures = wait_for(
        lambda: (f := http.get(f"{base}/figures").json()) and f["invited"] == len(expected) and f,
        timeout=30,
    )
    assert figures == {
        "fair_id": fair_id,
        "enterprises": 1,
        "positions": 35,
        "invited": 3,
        "registered": 2,
        "visitors": 3,
        "intentions": 1,
        "hires": 1,
    }
