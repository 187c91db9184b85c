"""A gig job (零工) end to end on the real stack: pushed only to the nearby seeker who takes short
jobs, then interested → interview → hire fills it and ingest closes it.

In 五华区 (昆明), a county no other test uses; the seeker who does not take short jobs lives in the
same county, so only the gig constraint keeps the job from them.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.examples import example
from tests.integration.conftest import CAMPAIGN, INGEST, MATCH, NOTIFY, Stack, wait_for
from tests.integration.test_pipeline import inbox

COUNTY = "530102"
CREDIT_CODE = "91530100MA6N3P2Q4R"


def _seeker(http: httpx.Client, **over: Any) -> str:
    profile = example("profile") | {
        "phone": f"1375{uuid.uuid4().int % 10**7:07d}",
        "home": {"adcode": COUNTY},
        "availability": "any",
        "skills": ["搬运"],
        "groups": [],
        **over,
    }
    r = http.post(f"{INGEST}/v1/profiles", json=profile)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_gig_reaches_only_the_nearby_seeker_who_takes_short_jobs_and_closes_when_filled(
    stack: Stack, http: httpx.Client
) -> None:
    gig = example("posting") | {
        "title": "仓库搬运零工（一天）",
        "headcount": 1,
        "gig_days": 1,
        "shift": "day",
        "skills": ["搬运"],
        "location": {"adcode": COUNTY, "address": "五华区物流园"},
        "employer": {"name": "昆明示例物流有限公司", "credit_code": CREDIT_CODE},
    }
    taker = _seeker(http, takes_short_jobs=True)
    other = _seeker(http)
    # an ordinary job for both first: once both have it, match has indexed both seekers
    steady = gig | {"title": "仓库管理员", "headcount": 5, "gig_days": None}
    r = http.post(f"{INGEST}/v1/postings", json=steady)
    assert r.status_code == 201, r.text
    steady_id = r.json()["id"]
    for seeker in (taker, other):
        wait_for(lambda s=seeker: any(i["posting_id"] == steady_id for i in inbox(http, s)), timeout=30)
    r = http.post(f"{INGEST}/v1/postings", json=gig)
    assert r.status_code == 201, r.text
    posting_id = r.json()["id"]

    wait_for(lambda: any(i["posting_id"] == posting_id for i in inbox(http, taker)), timeout=30)
    # match has handled the gig: its candidates are exactly the seeker who takes short jobs
    r = http.get(f"{MATCH}/v1/matches", params={"posting_id": posting_id})
    assert [m["profile_id"] for m in r.json()] == [taker], r.text
    assert not any(i["posting_id"] == posting_id for i in inbox(http, other))

    r = http.post(f"{NOTIFY}/v1/inbox/{taker}/{posting_id}/reply", json={"interested": True})
    assert r.status_code == 200, r.text
    pair = f"{CAMPAIGN}/v1/funnel/{taker}/{posting_id}"
    wait_for(lambda: (r := http.get(pair)).status_code == 200 and r.json()["current"] == "interested", 30)
    assert http.post(f"{pair}/interview").status_code == 200
    assert http.post(f"{pair}/hire").status_code == 200

    closed = wait_for(
        lambda: (p := http.get(f"{INGEST}/v1/postings/{posting_id}").json())["status"] == "closed" and p,
        timeout=30,
    )
    assert closed["filled"] == 1
    # match withdrew it: the seeker's recommendation is gone from the active list
    wait_for(
        lambda: not any(i["posting_id"] == posting_id for i in inbox(http, taker) if i["status"] == "active"),
        timeout=30,
    )
