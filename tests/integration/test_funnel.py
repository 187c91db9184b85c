"""The funnel end to end on the real stack, over HTTP and Kafka only: a recommendation, the
seeker's "interested" (notify), the employer's interview and hire (campaign), the posting's
``filled`` and the seeker's status changed in ingest, and the daily circular counting exactly that.

The posting and the seeker are in a county no other test uses (宝安区), so the circular for that
county counts only what this test drove.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx

from tests.examples import example
from tests.integration.conftest import CAMPAIGN, INGEST, NOTIFY, Stack, wait_for
from tests.integration.test_pipeline import _read_topic, inbox

COUNTY = "440306"
CREDIT_CODE = "91440300MA5G8P2Q1R"


def test_interest_interview_and_hire_reach_ingest_and_the_circular(stack: Stack, http: httpx.Client) -> None:
    posting = example("posting")
    posting["location"] = {"adcode": COUNTY, "address": "宝安区示例工业园"}
    posting["employer"] = {**posting["employer"], "credit_code": CREDIT_CODE}
    r = http.post(f"{INGEST}/v1/postings", json=posting)
    assert r.status_code == 201, r.text
    posting_id = r.json()["id"]
    profile = example("profile") | {
        "home": {"adcode": COUNTY},
        "phone": f"1378{uuid.uuid4().int % 10**7:07d}",
    }
    r = http.post(f"{INGEST}/v1/profiles", json=profile)
    assert r.status_code == 201, r.text
    profile_id = r.json()["id"]

    wait_for(lambda: any(i["posting_id"] == posting_id for i in inbox(http, profile_id)), timeout=20)
    r = http.post(f"{NOTIFY}/v1/inbox/{profile_id}/{posting_id}/reply", json={"interested": True})
    assert r.status_code == 200, r.text

    def pair() -> dict[str, Any] | None:
        r = http.get(f"{CAMPAIGN}/v1/funnel/{profile_id}/{posting_id}")
        return r.json() if r.status_code == 200 else None

    wait_for(lambda: (p := pair()) and p["current"] == "interested", timeout=20)
    r = http.post(f"{CAMPAIGN}/v1/funnel/{profile_id}/{posting_id}/hire")
    assert r.status_code == 409 and r.json()["detail"] == "尚未面试，不能登记入职"
    r = http.post(f"{CAMPAIGN}/v1/funnel/{profile_id}/{posting_id}/interview")
    assert r.status_code == 200 and r.json()["accepted"] is True, r.text
    r = http.post(f"{CAMPAIGN}/v1/funnel/{profile_id}/{posting_id}/hire")
    assert r.status_code == 200 and r.json()["current"] == "hired", r.text
    assert [f["days"] for f in r.json()["followups"]] == [7, 30, 90]

    def published() -> list[str]:
        types = []
        for raw in asyncio.run(_read_topic(stack.topic("funnel"), limit=500)):
            try:  # the dead-letter test leaves records here that are not even JSON
                event = json.loads(raw)
            except ValueError:
                continue
            if isinstance(event, dict) and (event.get("payload") or {}).get("posting_id") == posting_id:
                types.append(event["type"])
        return types

    # On Kafka first (campaign published it), then in ingest (ingest consumed it).
    wait_for(lambda: "funnel.hired" in published(), timeout=20)
    wait_for(lambda: http.get(f"{INGEST}/v1/postings/{posting_id}").json()["filled"] == 1, timeout=20)
    wait_for(lambda: http.get(f"{INGEST}/v1/profiles/{profile_id}").json()["status"] == "hired", timeout=20)

    def circular() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"{CAMPAIGN}/v1/circulars/daily", params={"county": COUNTY}).json()
        return body if body["total"]["hired"] == 1 else None

    total = wait_for(circular, timeout=20)["total"]
    figures = {
        k: total[k] for k in ("target", "recommended", "interested", "interviewed", "hired", "stable_30d")
    }
    assert figures == {
        "target": 50,
        "recommended": 1,
        "interested": 1,
        "interviewed": 1,
        "hired": 1,
        "stable_30d": 0,
    }
    assert total["change"]["hired"] == 1 and total["completion_rate"] == 0.02
