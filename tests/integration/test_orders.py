"""点单式服务 end to end on the real stack, over HTTP only: an enterprise files an order for its
posting, an official of the posting's county dispatches it to an agency, the agency accepts
and reports placements until the order is fulfilled. After every step all three parties read
the same progress; a step out of order is a 409 and changes nothing; an outsider sees nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.examples import example
from tests.integration.conftest import (
    AGENCY_CODE,
    AGENCY_KEY,
    CAMPAIGN,
    EMPLOYER_CODE,
    EMPLOYER_KEY,
    INGEST,
    OFFICIAL_KEY,
    Stack,
    wait_for,
)

LONGGANG = "440307"  # 深圳市龙岗区: inside the integration official's counties (4403)


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


EMPLOYER, OFFICIAL, AGENCY = _as(EMPLOYER_KEY), _as(OFFICIAL_KEY), _as(AGENCY_KEY)


def test_an_order_moves_from_filing_through_dispatch_to_fulfilment_seen_alike_by_all_three(
    stack: Stack, http: httpx.Client
) -> None:
    posting = example("posting") | {
        "title": "仓储分拣员",
        "headcount": 20,
        "location": {"adcode": LONGGANG, "address": "龙岗区平湖物流园"},
        "employer": {"name": "龙岗示例仓储有限公司", "credit_code": EMPLOYER_CODE},
    }
    r = http.post(f"{INGEST}/v1/postings", json=posting)
    assert r.status_code == 201, r.text
    posting_id = r.json()["id"]
    order_in = {"posting_id": posting_id, "headcount": 5, "needed_by": "2026-12-31", "note": "急招分拣员"}
    # campaign hears of the posting over Kafka: until then the order is a 404
    r = wait_for(
        lambda: (
            (x := http.post(f"{CAMPAIGN}/v1/orders", json=order_in, headers=EMPLOYER)).status_code == 201
            and x
        ),
        180,
    )
    order = r.json()
    base = f"{CAMPAIGN}/v1/orders/{order['id']}"
    assert (order["status"], order["employer_code"], order["county"]) == ("filed", EMPLOYER_CODE, LONGGANG)

    def seen_alike(status: str, filled: int, steps: list[str]) -> dict[str, Any]:
        views = [http.get(base, headers=h) for h in (EMPLOYER, OFFICIAL, AGENCY)]
        if status == "filed":  # not yet the agency's
            assert views[2].status_code == 404
            views = views[:2]
        assert all(v.status_code == 200 for v in views), [v.text for v in views]
        bodies = [v.json() for v in views]
        assert all(b == bodies[0] for b in bodies)
        body = bodies[0]
        assert (body["status"], body["filled"], [h["step"] for h in body["history"]]) == (
            status,
            filled,
            steps,
        )
        return body

    seen_alike("filed", 0, ["file"])
    # the agency cannot accept what was not dispatched to it
    assert http.post(f"{base}/accept", headers=AGENCY).status_code == 404
    # the employer cannot dispatch (officials do)
    dispatch = {"agency_code": AGENCY_CODE, "agency_name": "龙岗示例人力资源服务有限公司"}
    assert http.post(f"{base}/dispatch", json=dispatch, headers=EMPLOYER).status_code == 403
    r = http.post(f"{base}/dispatch", json=dispatch, headers=OFFICIAL)
    assert r.status_code == 200, r.text
    seen_alike("dispatched", 0, ["file", "dispatch"])

    # a report before accepting is out of order: 409, and nothing changes
    r = http.post(f"{base}/report", json={"placed": 2}, headers=AGENCY)
    assert r.status_code == 409, r.text
    seen_alike("dispatched", 0, ["file", "dispatch"])

    assert http.post(f"{base}/accept", headers=AGENCY).status_code == 200
    assert http.post(f"{base}/accept", headers=AGENCY).status_code == 409  # accepted once
    seen_alike("accepted", 0, ["file", "dispatch", "accept"])
    assert http.post(f"{base}/report", json={"placed": 3}, headers=AGENCY).json()["status"] == "accepted"
    seen_alike("accepted", 3, ["file", "dispatch", "accept", "report"])
    assert http.post(f"{base}/report", json={"placed": 2}, headers=AGENCY).json()["status"] == "fulfilled"
    final = seen_alike("fulfilled", 5, ["file", "dispatch", "accept", "report", "report"])
    assert final["agency_code"] == AGENCY_CODE

    # a fulfilled order takes no further step
    assert http.post(f"{base}/report", json={"placed": 1}, headers=AGENCY).status_code == 409
    assert http.post(f"{base}/cancel", json={"reason": "不需要了"}, headers=EMPLOYER).status_code == 409
    assert http.post(f"{base}/dispatch", json=dispatch, headers=OFFICIAL).status_code == 409
    seen_alike("fulfilled", 5, ["file", "dispatch", "accept", "report", "report"])
    # every party lists it among its orders
    for h in (EMPLOYER, OFFICIAL, AGENCY):
        assert order["id"] in [o["id"] for o in http.get(f"{CAMPAIGN}/v1/orders", headers=h).json()]
