"""公益性岗位托底 on the real stack: a priority-group seeker whom no posting fits is on the officials'
fallback list once the wait has passed, with the constraint that excluded the nearest postings.

Fourteen days are rehearsed by restarting match with ``MATCH_CLOCK_OFFSET_DAYS=15`` (the same
rehearsal setting campaign has), then restarting it on the real clock again. In 阿勒泰市, a county
no other test uses: the one posting there needs night shifts, which the seeker (weekdays only)
cannot work, and every other posting is beyond her 10 km commute.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.examples import example
from tests.integration.conftest import INGEST, MATCH, Stack, wait_for

COUNTY = "654301"
SHIFT = "班次与可工作时间不符"


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> str:
    r = http.post(f"{INGEST}{path}", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _listed(http: httpx.Client, profile_id: str) -> dict[str, Any] | None:
    r = http.get(f"{MATCH}/v1/fallback", params={"adcode": COUNTY})
    if r.status_code != 200:
        return None  # match restarting
    return next((e for e in r.json() if e["profile_id"] == profile_id), None)


def test_a_priority_group_seeker_no_posting_fits_is_on_the_fallback_list_with_the_reason(
    stack: Stack, http: httpx.Client
) -> None:
    night = example("posting") | {
        "title": "夜班包装工",
        "headcount": 3,
        "shift": "night",
        "location": {"adcode": COUNTY, "address": "阿勒泰市工业园"},
        "employer": {"name": "阿勒泰示例食品有限公司", "credit_code": "91654301MA7AB1C2D3"},
    }
    posting_id = _post(http, "/v1/postings", night)
    base = example("profile") | {
        "home": {"adcode": COUNTY},
        "availability": "weekdays_only",
        "max_commute_km": 10,
        "channels": ["inbox"],
    }
    priority = _post(
        http,
        "/v1/profiles",
        base | {"phone": f"1365{uuid.uuid4().int % 10**7:07d}", "groups": ["hard_to_employ"]},
    )
    # the same seeker outside the fallback groups: waits as long, is never listed
    ordinary = _post(
        http, "/v1/profiles", base | {"phone": f"1365{uuid.uuid4().int % 10**7:07d}", "groups": []}
    )
    # a seeker who can work nights: the posting reaches her, so match has the posting indexed
    worker = _post(
        http,
        "/v1/profiles",
        base
        | {
            "phone": f"1365{uuid.uuid4().int % 10**7:07d}",
            "availability": "any",
            "groups": ["hard_to_employ"],
        },
    )
    wait_for(
        lambda: any(
            m["posting_id"] == posting_id
            for m in http.get(f"{MATCH}/v1/matches", params={"profile_id": worker}).json()
        ),
        timeout=60,
    )
    # the two were posted before her, so match has them too (one process, seconds apart)
    assert http.get(f"{MATCH}/v1/matches", params={"profile_id": priority}).json() == []
    assert _listed(http, priority) is None  # day 0: she has not waited 14 days

    try:
        stack.restart("match", {"MATCH_CLOCK_OFFSET_DAYS": "15"})
        entry = wait_for(lambda: _listed(http, priority), timeout=120)
        assert entry["groups"] == ["就业困难人员"]
        assert entry["days_waiting"] >= 14
        assert entry["home_adcode"] == COUNTY
        # the nearest postings: the night-shift one here; others (other tests' postings, far
        # away) are reported by the first constraint they fail, whichever that is
        excluded = entry["excluded_by"]
        assert excluded.get(SHIFT, 0) >= 1 and 1 <= sum(excluded.values()) <= 5, entry
        assert "就业困难人员" in entry["reason"] and f"{SHIFT}{excluded[SHIFT]}个" in entry["reason"], entry
        assert _listed(http, ordinary) is None  # not in a fallback group
        assert _listed(http, worker) is None  # she has a recommendation
        # no wider offer either: the hard constraints allow nothing for her
        assert http.get(f"{MATCH}/v1/matches", params={"profile_id": priority}).json() == []
    finally:
        stack.restart("match", {})
