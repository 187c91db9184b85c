"""点单式服务: the order's steps (every illegal one a 409 with its reason), who may take which,
and a whole order filed → dispatched → declined → re-dispatched → accepted → reported → fulfilled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.campaign.app import create_app
from services.campaign.orders.steps import ALLOWED, WHY_NOT, after, refusal
from services.campaign.settings import CampaignSettings
from shared.auth import KeyRing, Role, headers
from shared.bus.memory import MemoryBus
from shared.events import PostingUpserted
from shared.store.memory import MemoryStore
from tests.unit.notify_fakes import FakeClock
from tests.unit.test_match_engine import _post

EMPLOYER = "91422800MA4F3L2K8R"
AGENCY_A = "91422801MA4G1H2J3K"
AGENCY_B = "91422802MA4G1H2J3L"


def test_every_step_follows_only_from_its_states_and_says_why_not() -> None:
    statuses = list(WHY_NOT)
    for step, allowed in ALLOWED.items():
        for status in statuses:
            why = refusal(status, step)  # type: ignore[arg-type]
            assert (why is None) == (status in allowed), (step, status)
            assert why is None or why == WHY_NOT[status]  # type: ignore[index]
    assert after("accepted", "report", filled=9, headcount=10) == "accepted"
    assert after("accepted", "report", filled=10, headcount=10) == "fulfilled"
    assert after("declined", "dispatch") == "dispatched"


@pytest.fixture
async def campaign() -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, dict[str, str]]]]:
    bus, ring = MemoryBus(), KeyRing()
    keys = {
        "employer": ring.issue("hr", Role.employer, [EMPLOYER]),
        "enshi": ring.issue("official-enshi", Role.official, ["4228"]),
        "jiujiang": ring.issue("official-jiujiang", Role.official, ["3604"]),
        "agency_a": ring.issue("agency-a", Role.employer, [AGENCY_A]),
        "agency_b": ring.issue("agency-b", Role.employer, [AGENCY_B]),
    }
    app = create_app(
        CampaignSettings(),
        bus=bus,
        store=MemoryStore(),
        clock=FakeClock(datetime(2026, 3, 10, 2, tzinfo=UTC)),
        keyring=ring,
    )
    async with app.router.lifespan_context(app):
        view = _post(1, employer={"name": "立讯", "credit_code": EMPLOYER})  # in 恩施市
        event = PostingUpserted(key=view.id, payload=view)
        await bus.publisher("t").publish_many([(PostingUpserted.topic, view.id, event.to_bytes())])
        for _ in range(300):
            if await app.state.store.collection("postings").get(view.id):
                break
            await asyncio.sleep(0.01)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://campaign") as http:
            yield http, {k: dict(headers(v)) for k, v in keys.items()}


async def test_an_order_goes_from_filed_to_fulfilled_and_only_its_parties_move_it(
    campaign: tuple[httpx.AsyncClient, dict[str, dict[str, str]]],
) -> None:
    http, who = campaign

    async def step(by: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await http.post(path, json=body or {}, headers=who[by])

    r = await step("agency_a", "/v1/orders", {"posting_id": "p000001", "headcount": 10})
    assert r.status_code == 403  # not its posting
    r = await step("employer", "/v1/orders", {"posting_id": "p000001", "headcount": 10})
    assert r.status_code == 201, r.text
    order = r.json()
    oid = f"/v1/orders/{order['id']}"
    assert (order["status"], order["county"]) == ("filed", "422801")

    assert (await step("agency_a", f"{oid}/accept")).status_code == 404  # not dispatched to it: unseen
    assert (
        await step("jiujiang", f"{oid}/dispatch", {"agency_code": AGENCY_A, "agency_name": "甲"})
    ).status_code == 404
    r = await step("enshi", f"{oid}/dispatch", {"agency_code": AGENCY_A, "agency_name": "恩施甲人力"})
    assert r.json()["status"] == "dispatched"
    r = await step("enshi", f"{oid}/dispatch", {"agency_code": AGENCY_B, "agency_name": "乙"})
    assert (r.status_code, r.json()["detail"]) == (409, "订单已派给机构，等待机构回复")
    assert (await step("agency_b", f"{oid}/accept")).status_code == 404
    r = await step("agency_a", f"{oid}/decline", {"reason": "人手不足"})
    assert r.json()["status"] == "declined"
    r = await step("agency_a", f"{oid}/report", {"placed": 1})
    assert (r.status_code, r.json()["detail"]) == (409, "机构已拒单，请重新派单")
    r = await step("enshi", f"{oid}/dispatch", {"agency_code": AGENCY_B, "agency_name": "恩施乙人力"})
    assert r.json()["agency_code"] == AGENCY_B
    assert (await step("agency_a", f"{oid}/accept")).status_code == 404  # no longer its order
    assert (await step("agency_b", f"{oid}/accept")).json()["status"] == "accepted"
    r = await step("agency_b", f"{oid}/report", {"placed": 6})
    assert (r.json()["status"], r.json()["filled"]) == ("accepted", 6)
    r = await step("agency_b", f"{oid}/report", {"placed": 4})
    done = r.json()
    assert (done["status"], done["filled"]) == ("fulfilled", 10)
    assert [h["step"] for h in done["history"]] == [
        "file",
        "dispatch",
        "decline",
        "dispatch",
        "accept",
        "report",
        "report",
    ]
    r = await step("employer", f"{oid}/cancel")
    assert (r.status_code, r.json()["detail"]) == (409, "订单已完成")
    mine = await http.get("/v1/orders", headers=who["agency_a"])
    assert mine.json() == []
    assert [o["id"] for o in (await http.get("/v1/orders", headers=who["employer"])).json()] == [order["id"]]
