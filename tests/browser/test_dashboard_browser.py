"""The dashboard in a real browser (Debian's chromium, headless, at a phone's size) against a
campaign service holding a known small campaign: the figures the official reads on the page are
the ones driven, the chart image loads, nothing is wider than the phone, and the screenshot is
not blank. Campaign runs in-process (embedded bus and store) behind a real HTTP port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn

from services.campaign.app import create_app
from services.campaign.settings import CampaignSettings
from shared.auth import KeyRing, Role, headers
from shared.bus.memory import MemoryBus
from shared.events import (
    TOPIC_FEEDBACK,
    TOPIC_FUNNEL,
    TOPIC_MATCHES,
    TOPIC_POSTINGS,
    Event,
    FunnelStep,
    funnel_event,
)
from shared.store.memory import MemoryStore
from tests.browser.dashboard import ROOT, blank, read_dashboard
from tests.unit.campaign_fakes import CODE_A, CODE_B, posting_event, recommended, replied
from tests.unit.notify_fakes import FakeClock

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
DAY = (T0 + timedelta(days=8)).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test's thread, not the process, owns it
        pass


class Served:
    """Campaign on a free port, its event loop in a thread; events are published into that loop."""

    def __init__(self) -> None:
        self.bus, self.clock, ring = MemoryBus(), FakeClock(T0), KeyRing()
        self.keys = {
            "enshi": ring.issue("official-enshi", Role.official, ["4228"]),
            "employer_a": ring.issue("employer-a", Role.employer, [CODE_A]),
        }
        app = create_app(
            CampaignSettings(outbox_interval_s=0.05, session_secret="s" * 40),
            bus=self.bus,
            store=MemoryStore(),
            clock=self.clock,
            keyring=ring,
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = _Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.server.serve(),))

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "campaign did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def publish(self, topic: str, event: Event) -> None:
        publish = self.bus.publisher("test").publish(topic, event.key, event.to_bytes())
        asyncio.run_coroutine_threadsafe(publish, self.loop).result(timeout=10)

    def api(self, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, headers=headers(self.keys[who]), timeout=10, **kw)

    def until(self, path: str, predicate: Any) -> Any:
        deadline, body = time.monotonic() + 20, None
        while time.monotonic() < deadline:
            r = self.api("enshi", "GET", path)
            body = r.json() if r.status_code == 200 else r.text
            if r.status_code == 200 and predicate(body):
                return body
            time.sleep(0.05)
        raise AssertionError(f"{path}: not reached, last {body}")


@pytest.fixture(scope="module")
def campaign() -> Iterator[Served]:
    """Enshi: one key-enterprise posting of 50, three seekers recommended, two interested (one
    of them answered after opening her inbox), one declined, one interviewed and hired; the day
    read is 8 days after the hire, so its 7-day check-in is overdue. Jiujiang: another posting
    with one recommendation, outside the official's scope."""
    with Served() as c:
        c.publish(TOPIC_POSTINGS, posting_event("j1", code=CODE_A, adcode="422801", headcount=50))
        c.publish(TOPIC_POSTINGS, posting_event("j2", code=CODE_B, adcode="360402", headcount=30))
        for pid, posting in (("p1", "j1"), ("p2", "j1"), ("p3", "j1"), ("p4", "j2")):
            c.publish(TOPIC_MATCHES, recommended(pid, posting, at=T0))
        viewed = FunnelStep(profile_id="p1", posting_id="j1", step="viewed", at=T0, by="p1", role="seeker")
        c.publish(TOPIC_FUNNEL, funnel_event(viewed, producer="notify"))
        c.publish(TOPIC_FEEDBACK, replied("p1", "j1", True, T0 + timedelta(minutes=5)))
        c.publish(TOPIC_FEEDBACK, replied("p2", "j1", True, T0 + timedelta(minutes=6)))
        c.publish(TOPIC_FEEDBACK, replied("p3", "j1", False, T0 + timedelta(minutes=7)))
        c.until("/v1/funnel/p2/j1", lambda b: b["current"] == "interested")
        assert c.api("employer_a", "POST", "/v1/funnel/p1/j1/interview").status_code == 200
        assert c.api("employer_a", "POST", "/v1/funnel/p1/j1/hire").status_code == 200
        c.clock.advance(days=8)
        c.until(f"/v1/circulars/daily?date={DAY}", lambda b: b["total"]["hired"] == 1)
        yield c


def test_the_official_reads_the_driven_figures_on_a_phone_in_a_real_browser(campaign: Served) -> None:
    expected = campaign.api("enshi", "GET", "/v1/circulars/daily", params={"date": DAY}).json()["total"]
    # What was driven, within the official's county: the Jiujiang posting is not counted.
    driven = {"target": 50, "recommended": 3, "viewed": 1, "interested": 2, "interviewed": 1, "hired": 1}
    assert {k: expected[k] for k in driven} == driven
    page = read_dashboard(
        campaign.url, campaign.keys["enshi"], day=DAY, save=ROOT / "var" / "test" / "dashboard-browser.png"
    )
    assert page.figures == {step: str(expected[step]) for step in page.figures}
    assert "恩施示例电子有限公司" in page.enterprises and "任务 50 人" in page.enterprises
    assert "7天回访" in page.followups and "逾期" in page.followups and "p1" in page.followups
    assert "恩施市" in page.circular and "九江" not in page.circular and "浔阳" not in page.circular
    assert page.chart_width > 0, "the funnel chart did not load"
    assert page.overflow_px <= 0, f"the page is {page.overflow_px}px wider than the phone"
    assert page.screenshot.startswith(b"\x89PNG") and not blank(page.screenshot)


def test_a_wrong_key_stays_on_the_login_page_in_the_browser(campaign: Served) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.dashboard import chromium

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(campaign.url + "/")
            assert page.url.endswith("/login")  # redirected: no session yet
            page.fill("#key", "cf_not-a-key")
            page.click("#login-submit")
            assert "API密钥无效" in page.inner_text("#login-error")
            cookies = page.context.cookies()
            assert not [c for c in cookies if c["name"] == "chunfeng_session" and c["value"]]
        finally:
            browser.close()
