"""Campaign in-process: events move the funnel, people's steps are scoped and checked, a hire
creates its follow-ups, and the circular is the same when rebuilt from the topics alone."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook

from services.campaign.app import create_app
from services.campaign.circular import daily_circular
from services.campaign.consumer import CampaignHandler
from services.campaign.repository import FunnelRepository
from services.campaign.settings import CampaignSettings
from shared.auth import KeyRing, Role, headers
from shared.bus.memory import MemoryBus
from shared.events import TOPIC_FEEDBACK, TOPIC_FUNNEL, TOPIC_MATCHES, TOPIC_POSTINGS, Event, parse
from shared.store.memory import MemoryStore
from tests.unit.campaign_fakes import CODE_A, CODE_B, posting_event, recommended, replied
from tests.unit.notify_fakes import FakeClock

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Campaign:
    http: httpx.AsyncClient
    bus: MemoryBus
    clock: FakeClock
    keys: dict[str, str]

    async def publish(self, topic: str, event: Event) -> None:
        await self.bus.publisher("test").publish(topic, event.key, event.to_bytes())

    async def call(self, who: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
        h = headers(self.keys[who]) if who else {}
        return await self.http.request(method, path, headers=h, **kw)

    async def until(self, path: str, predicate: Any) -> Any:
        body: Any = None
        for _ in range(300):
            r = await self.call("admin", "GET", path)
            body = r.json()
            if r.status_code == 200 and predicate(body):
                return body
            await asyncio.sleep(0.01)
        raise AssertionError(f"{path}: condition not met, last {body}")

    def funnel(self) -> list[Event]:
        return [parse(TOPIC_FUNNEL, r.value) for r in self.bus.records(TOPIC_FUNNEL)]


def keyring() -> tuple[KeyRing, dict[str, str]]:
    ring = KeyRing()
    return ring, {
        "admin": ring.issue("admin", Role.admin),
        "enshi": ring.issue("official-enshi", Role.official, ["4228"]),
        "jiujiang": ring.issue("official-jiujiang", Role.official, ["3604"]),
        "employer_a": ring.issue("employer-a", Role.employer, [CODE_A]),
        "employer_b": ring.issue("employer-b", Role.employer, [CODE_B]),
        "seeker": ring.issue("seeker-p1", Role.seeker, ["p1"]),
    }


@pytest.fixture
async def campaign() -> AsyncIterator[Campaign]:
    bus, clock = MemoryBus(), FakeClock(T0)
    ring, keys = keyring()
    app = create_app(
        CampaignSettings(outbox_interval_s=0.05), bus=bus, store=MemoryStore(), clock=clock, keyring=ring
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://campaign"
        ) as http:
            c = Campaign(http, bus, clock, keys)
            await c.publish(TOPIC_POSTINGS, posting_event("j1"))
            await c.until("/v1/circulars/daily?date=2026-03-10", lambda b: b["total"]["target"] == 50)
            await c.publish(TOPIC_MATCHES, recommended("p1", "j1", at=T0))
            await c.publish(TOPIC_FEEDBACK, replied("p1", "j1", True, T0 + timedelta(minutes=5)))
            await c.until("/v1/funnel/p1/j1", lambda b: b["current"] == "interested")
            yield c


async def test_replies_and_recommendations_move_the_funnel_and_are_published(campaign: Campaign) -> None:
    pair = (await campaign.call("enshi", "GET", "/v1/funnel/p1/j1")).json()
    assert pair["county"] == "422801" and pair["employer_code"] == CODE_A
    assert set(pair["steps"]) == {"recommended", "interested"}
    assert pair["steps"]["interested"]["role"] == "system"
    await campaign.publish(TOPIC_MATCHES, recommended("p1", "j1", at=T0))  # a replay changes nothing
    await asyncio.sleep(0.1)
    types = [e.type for e in campaign.funnel()]
    assert types == ["funnel.recommended", "funnel.interested"]
    step = campaign.funnel()[1].payload  # type: ignore[attr-defined]
    assert (step.profile_id, step.posting_id, step.county, step.employer_code) == (
        "p1",
        "j1",
        "422801",
        CODE_A,
    )


async def test_interview_and_hire_are_steps_of_the_posting_employer_and_repeats_change_nothing(
    campaign: Campaign,
) -> None:
    r = await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/hire")
    assert r.status_code == 409 and r.json()["detail"] == "尚未面试，不能登记入职"
    r = await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/interview")
    assert r.status_code == 200 and r.json()["accepted"] is True and r.json()["current"] == "interviewed"
    r = await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/interview")
    assert r.status_code == 200 and r.json()["accepted"] is False
    r = await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/hire")
    assert r.status_code == 200 and r.json()["current"] == "hired"
    assert [f["days"] for f in r.json()["followups"]] == [7, 30, 90]
    await asyncio.sleep(0.2)
    types = [e.type for e in campaign.funnel()]
    assert types == ["funnel.recommended", "funnel.interested", "funnel.interviewed", "funnel.hired"]
    hired = campaign.funnel()[-1].payload  # type: ignore[attr-defined]
    assert (hired.by, hired.role) == ("employer-a", "employer")


async def test_illegal_steps_are_409_with_the_reason_and_write_nothing(campaign: Campaign) -> None:
    await campaign.publish(TOPIC_POSTINGS, posting_event("j2"))
    await campaign.until("/v1/circulars/daily?date=2026-03-10", lambda b: b["total"]["target"] == 100)
    r = await campaign.call("employer_a", "POST", "/v1/funnel/p9/j2/interview")
    assert r.status_code == 409 and r.json()["detail"] == "尚未向该求职者推荐此岗位"
    r = await campaign.call("enshi", "POST", "/v1/funnel/p1/j1/stable", json={"days": 30})
    assert r.status_code == 409 and r.json()["detail"] == "尚未入职，不能登记稳岗"
    r = await campaign.call("enshi", "POST", "/v1/funnel/p1/j1/left", json={"reason": "不适应"})
    assert r.status_code == 409 and r.json()["detail"] == "尚未入职，不能登记离职"
    await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/interview")
    await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/hire")
    r = await campaign.call("enshi", "POST", "/v1/funnel/p1/j1/stable", json={"days": 30})
    assert r.status_code == 409 and r.json()["detail"] == "入职未满30天，不能登记30天稳岗"
    r = await campaign.call("enshi", "POST", "/v1/funnel/p1/j1/stable", json={"days": 90})
    assert r.status_code == 409 and r.json()["detail"] == "尚未登记30天稳岗，不能登记90天稳岗"
    r = await campaign.call("enshi", "POST", "/v1/funnel/p1/j1/left", json={"reason": "家中有事"})
    assert r.status_code == 200 and r.json()["current"] == "left"
    r = await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/hire")
    assert r.status_code == 200 and r.json()["accepted"] is False  # a repeat, even after leaving
    r = await campaign.call("enshi", "POST", "/v1/funnel/p1/j1/stable", json={"days": 30})
    assert r.status_code == 409 and r.json()["detail"] == "求职者已离职，此记录已结束"
    pair = (await campaign.call("admin", "GET", "/v1/funnel/p1/j1")).json()
    assert set(pair["steps"]) == {"recommended", "interested", "interviewed", "hired", "left"}
    assert pair["steps"]["left"]["reason"] == "家中有事"


async def test_each_caller_reaches_only_its_postings_and_counties(campaign: Campaign) -> None:
    assert (await campaign.call(None, "POST", "/v1/funnel/p1/j1/interview")).status_code == 401
    assert (await campaign.call("employer_b", "POST", "/v1/funnel/p1/j1/interview")).status_code == 404
    assert (await campaign.call("employer_b", "GET", "/v1/funnel/p1/j1")).status_code == 404
    assert (await campaign.call("enshi", "POST", "/v1/funnel/p1/j1/interview")).status_code == 403
    assert (await campaign.call("seeker", "GET", "/v1/funnel/p1/j1")).status_code == 403
    assert (
        await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/left", json={"reason": "x"})
    ).status_code == 403
    r = await campaign.call("jiujiang", "POST", "/v1/funnel/p1/j1/left", json={"reason": "x"})
    assert r.status_code == 404
    assert (
        await campaign.call("jiujiang", "GET", "/v1/circulars/daily", params={"county": "4228"})
    ).status_code == 403
    other = (
        await campaign.call("jiujiang", "GET", "/v1/circulars/daily", params={"date": "2026-03-10"})
    ).json()
    assert other["total"]["recommended"] == 0 and other["counties"] == [] and other["total"]["target"] == 0
    listed = await campaign.call("employer_a", "GET", "/v1/funnel", params={"posting_id": "j1"})
    assert [(p["profile_id"], p["current"]) for p in listed.json()] == [("p1", "interested")]
    for outsider in ("employer_b", "jiujiang"):
        r = await campaign.call(outsider, "GET", "/v1/funnel", params={"posting_id": "j1"})
        assert r.status_code == 403, outsider
    await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/interview")
    await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/hire")
    assert (
        await campaign.call("jiujiang", "GET", "/v1/followups", params={"status": "upcoming"})
    ).json() == []
    assert (
        len((await campaign.call("enshi", "GET", "/v1/followups", params={"status": "upcoming"})).json()) == 3
    )


async def test_a_hire_creates_check_ins_and_their_outcomes_feed_the_funnel(campaign: Campaign) -> None:
    await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/interview")
    await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/hire")
    due7 = (await campaign.call("enshi", "GET", "/v1/followups", params={"due": "2026-03-17"})).json()
    assert [(f["days"], f["status"]) for f in due7] == [(7, "due")]
    later = (await campaign.call("enshi", "GET", "/v1/followups", params={"due": "2026-03-20"})).json()
    assert [(f["days"], f["status"]) for f in later] == [(7, "overdue")]
    r = await campaign.call(
        "enshi", "POST", "/v1/followups/p1/j1/7", json={"outcome": "moved", "reason": "调到包装线"}
    )
    assert r.status_code == 200 and r.json()["current"] == "hired"
    campaign.clock.advance(days=30)
    r = await campaign.call("enshi", "POST", "/v1/followups/p1/j1/30", json={"outcome": "stable"})
    assert r.status_code == 200 and r.json()["current"] == "stable_30d"
    assert (await campaign.call("enshi", "GET", "/v1/followups", params={"due": "2026-04-09"})).json() == []
    campaign.clock.advance(days=10)
    r = await campaign.call("enshi", "POST", "/v1/followups/p1/j1/90", json={"outcome": "stable"})
    assert r.status_code == 409 and r.json()["detail"] == "入职未满90天，不能登记90天稳岗"
    r = await campaign.call(
        "enshi", "POST", "/v1/followups/p1/j1/90", json={"outcome": "left", "reason": "回家照顾老人"}
    )
    assert r.status_code == 200 and r.json()["current"] == "left"
    outcomes = {f["days"]: (f["outcome"] or {}).get("outcome") for f in r.json()["followups"]}
    assert outcomes == {7: "moved", 30: "stable", 90: "left"}
    await asyncio.sleep(0.2)
    assert [e.type for e in campaign.funnel()][-2:] == ["funnel.stable_30d", "funnel.left"]


async def test_the_circular_counts_the_day_and_a_replay_of_the_topics_gives_the_same_figures(
    campaign: Campaign,
) -> None:
    # Two more seekers, one declines; a second, non-key posting elsewhere in the county.
    await campaign.publish(TOPIC_POSTINGS, posting_event("j2", headcount=20, adcode="422822"))
    await campaign.until("/v1/circulars/daily?date=2026-03-10", lambda b: b["total"]["target"] == 70)
    for p in ("p2", "p3"):
        await campaign.publish(TOPIC_MATCHES, recommended(p, "j1", at=T0))
    await campaign.publish(TOPIC_FEEDBACK, replied("p2", "j1", False, T0))
    await campaign.until("/v1/funnel/p2/j1", lambda b: b["current"] == "declined")
    await campaign.until("/v1/funnel/p3/j1", lambda b: b["current"] == "recommended")
    await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/interview")
    campaign.clock.advance(days=1)  # the hire is the next local day
    await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/hire")

    # The circular counts the facts campaign reads back from its own funnel topic, which the
    # outbox relay publishes in the background: a pair shows a step (the waits above) before
    # the circular has heard of it, and pairs' events are not ordered across partitions. So each
    # day is read once it counts every step this test took by then — "no hire on the 10th" alone
    # is already true before the other seekers' recommendations and the interview arrive.
    async def circular(day: str, heard: tuple[int, int, int]) -> dict[str, Any]:
        def counted(b: Any) -> bool:
            return (b["total"]["recommended"], b["total"]["interviewed"], b["total"]["hired"]) == heard

        return dict(await campaign.until(f"/v1/circulars/daily?date={day}&county=4228", counted))

    first, second = await circular("2026-03-10", (3, 1, 0)), await circular("2026-03-11", (3, 1, 1))
    t = second["total"]
    assert (t["target"], t["recommended"], t["interested"], t["interviewed"], t["hired"]) == (70, 3, 1, 1, 1)
    assert (
        t["change"]["hired"] == 1
        and t["change"]["recommended"] == 0
        and t["completion_rate"] == round(1 / 70, 4)
    )
    assert first["total"]["change"]["recommended"] == 3
    assert [c["key"] for c in second["counties"]] == ["422801", "422822"]
    assert [(e["key"], e["target"], e["hired"]) for e in second["enterprises"]] == [(CODE_A, 70, 1)]

    # Replay the topics into an empty read model: the same figures. The outbox relay publishes
    # the last steps in the background, so replay until they are all on the bus (or time out).
    async def replay() -> dict[str, Any]:
        fresh = FunnelRepository(MemoryStore())
        handler = CampaignHandler(fresh)
        for topic in (TOPIC_POSTINGS, TOPIC_FUNNEL):
            for record in campaign.bus.records(topic):
                await handler.handle(parse(topic, record.value))
        facts, postings = await fresh.facts.find({}), await fresh.postings.find({})
        day = daily_circular(facts, postings, date(2026, 3, 11), tz=TZ, county="4228")
        return dict(day.model_dump(mode="json"))

    replayed = await replay()
    for _ in range(100):
        if replayed == second:
            break
        await asyncio.sleep(0.1)
        replayed = await replay()
    assert replayed == second

    r = await campaign.call(
        "enshi", "GET", "/v1/circulars/daily", params={"date": "2026-03-11", "format": "csv"}
    )
    assert r.content.startswith(b"\xef\xbb\xbf") and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["类别", "代码", "名称", "目标人数"] and rows[1][0] == "合计" and rows[1][8] == "1"
    r = await campaign.call(
        "enshi", "GET", "/v1/circulars/daily", params={"date": "2026-03-11", "format": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None and sheet["A2"].value == "合计" and sheet["H2"].value == 1
