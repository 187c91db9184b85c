"""The officials' dashboard in-process: signing in with a key sets a signed HttpOnly SameSite
cookie holding no key, pages show the circular's figures within the official's counties only,
the JSON API still wants the header, and the funnel chart is a real, non-blank PNG."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta

import httpx
import numpy as np
import pytest
from matplotlib import image
from pydantic import ValidationError

from services.campaign.app import create_app
from services.campaign.chart import cjk_font, funnel_png
from services.campaign.circular import Circular, daily_circular
from services.campaign.session import COOKIE
from services.campaign.settings import CampaignSettings
from shared.auth import KeyRing, Role
from shared.bus.memory import MemoryBus
from shared.events import TOPIC_FUNNEL, FunnelStep, funnel_event
from shared.store.memory import MemoryStore
from tests.unit import test_campaign_api
from tests.unit.campaign_fakes import CODE_A
from tests.unit.test_campaign_api import T0, TZ, Campaign

campaign = test_campaign_api.campaign  # the same fixture: one posting, one seeker interested


async def login(c: Campaign, who: str) -> httpx.Response:
    return await c.http.post("/login", data={"key": c.keys[who]})


def figure(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, f"no #{element_id} in the page"
    return found.group(1)


def png_pixels(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels: np.ndarray = image.imread(io.BytesIO(png), format="png")
    return pixels


async def test_pages_want_a_login_and_a_key_signs_in_with_a_cookie_that_holds_no_key(
    campaign: Campaign,
) -> None:
    r = await campaign.http.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = await campaign.http.get("/login")
    assert page.status_code == 200 and 'name="key"' in page.text and "width=device-width" in page.text
    r = await campaign.http.post("/login", data={"key": "cf_not-a-key"})
    assert r.status_code == 401 and "API密钥无效" in r.text and COOKIE not in r.headers.get("set-cookie", "")
    r = await login(campaign, "employer_a")
    assert r.status_code == 403 and "无权登录" in r.text
    r = await campaign.http.post(
        "/login", data={"key": campaign.keys["enshi"]}, headers={"origin": "http://evil"}
    )
    assert r.status_code == 403 and COOKIE not in r.headers.get("set-cookie", "")  # a cross-site login
    r = await login(campaign, "enshi")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith(COOKIE) and "httponly" in cookie and "samesite=strict" in cookie
    assert campaign.keys["enshi"].lower() not in cookie  # the key's hash, signed; never the key
    page = await campaign.http.get("/", params={"date": "2026-03-10"})
    assert page.status_code == 200 and "official-enshi" in page.text and "恩施" in page.text
    r = await campaign.http.post("/logout")
    assert r.status_code == 303
    assert (await campaign.http.get("/")).status_code == 303


async def test_the_page_shows_the_circulars_figures_key_enterprises_and_due_check_ins(
    campaign: Campaign,
) -> None:
    await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/interview")
    await campaign.call("employer_a", "POST", "/v1/funnel/p1/j1/hire")
    campaign.clock.advance(days=7)  # the 7-day check-in is due today
    day = (T0 + timedelta(days=7)).astimezone(TZ).date().isoformat()
    await campaign.until(f"/v1/circulars/daily?date={day}", lambda b: b["total"]["hired"] == 1)
    expected = (await campaign.call("enshi", "GET", "/v1/circulars/daily", params={"date": day})).json()
    await login(campaign, "enshi")
    html = (await campaign.http.get("/", params={"date": day})).text
    total = expected["total"]
    for step in ("target", "recommended", "interested", "interviewed", "hired", "left"):
        assert figure(html, f"total-{step}") == str(total[step]), step
    assert (total["target"], total["hired"]) == (50, 1)
    assert figure(html, "total-rate") == "2.0%"
    enterprise = html.split('id="enterprises"')[1].split("</section>")[0]
    if expected["enterprises"]:
        assert expected["enterprises"][0]["name"] in enterprise
    followups = html.split('id="followups"')[1].split("</section>")[0]
    assert "7天回访" in followups and "今日到期" in followups and "p1" in followups
    assert f'src="/dashboard/circular.png?date={day}"' in html
    chart = await campaign.http.get("/dashboard/circular.png", params={"date": day})
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    xlsx = await campaign.http.get("/dashboard/circular.xlsx", params={"date": day})
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")


async def test_an_official_sees_only_its_counties_and_the_api_ignores_the_cookie(campaign: Campaign) -> None:
    await login(campaign, "jiujiang")
    html = (await campaign.http.get("/", params={"date": "2026-03-10"})).text
    assert figure(html, "total-target") == "0" and figure(html, "total-recommended") == "0"
    assert "恩施" not in html.split('id="circular"')[1]
    assert (await campaign.http.get("/", params={"county": "4228"})).status_code == 403
    assert (await campaign.http.get("/dashboard/circular.png", params={"county": "4228"})).status_code == 403
    # The session is for pages: the JSON API and its PNG still want the Authorization header.
    assert (await campaign.http.get("/v1/circulars/daily")).status_code == 401
    assert (await campaign.http.get("/v1/circulars/daily.png")).status_code == 401
    r = await campaign.http.get("/", params={"date": "not-a-date"})
    assert r.status_code == 422 and "date" in r.text


async def test_the_png_api_draws_the_funnel_of_the_callers_counties(campaign: Campaign) -> None:
    r = await campaign.call("enshi", "GET", "/v1/circulars/daily.png", params={"date": "2026-03-10"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    pixels = png_pixels(r.content)
    assert pixels.shape[0] > 200 and pixels.shape[1] == 800
    assert float(pixels[..., :3].std()) > 0.05  # bars, labels and axes on white, not a blank image
    r = await campaign.call("jiujiang", "GET", "/v1/circulars/daily.png", params={"county": "4228"})
    assert r.status_code == 403
    assert (await campaign.call("employer_a", "GET", "/v1/circulars/daily.png")).status_code == 403


def test_the_chart_differs_with_the_figures_and_labels_in_chinese_when_a_font_exists() -> None:
    def circular(hired: int) -> Circular:
        facts = [
            {"profile_id": f"p{i}", "posting_id": "j1", "step": step, "at": "2026-03-10T02:00:00.000000Z"}
            for i in range(hired)
            for step in ("recommended", "interested", "interviewed", "hired")
        ]
        postings = [{"_id": "j1", "county": "422801", "headcount": 10, "employer_code": CODE_A}]
        return daily_circular(facts, postings, T0.astimezone(TZ).date(), tz=TZ)

    one, three = funnel_png(circular(1)), funnel_png(circular(3))
    assert one != three and png_pixels(one).shape == png_pixels(three).shape
    # Debian's fonts-wqy-zenhei (scripts/chromium.sh) is a CJK font matplotlib finds; without
    # one the chart says so in English rather than drawing empty boxes.
    assert cjk_font() is None or "WenQuanYi" in cjk_font() or "CJK" in (cjk_font() or "")


async def test_viewed_from_notify_is_recorded_on_the_pair_counted_and_not_announced_again(
    campaign: Campaign,
) -> None:
    viewed = FunnelStep(
        profile_id="p1", posting_id="j1", step="viewed", at=T0 + timedelta(minutes=1), by="p1", role="seeker"
    )
    await campaign.publish(TOPIC_FUNNEL, funnel_event(viewed, producer="notify"))
    pair = await campaign.until("/v1/funnel/p1/j1", lambda b: "viewed" in b["steps"])
    assert pair["steps"]["viewed"]["by"] == "p1" and pair["steps"]["viewed"]["role"] == "seeker"
    circular = await campaign.until(
        "/v1/circulars/daily?date=2026-03-10", lambda b: b["total"]["viewed"] == 1
    )
    assert circular["counties"][0]["viewed"] == 1  # the county comes from the posting
    await asyncio.sleep(0.2)
    producers = [(e.type, e.producer) for e in campaign.funnel() if e.type == "funnel.viewed"]
    assert producers == [("funnel.viewed", "notify")]  # only notify's: campaign did not repeat it


async def test_a_session_ends_with_its_key_and_is_worthless_under_another_secret() -> None:
    async def signed_in_cookie(ring: KeyRing, key: str, secret: str) -> httpx.Cookies:
        app = create_app(
            CampaignSettings(session_secret=secret), bus=MemoryBus(), store=MemoryStore(), keyring=ring
        )
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c") as http:
                assert (await http.post("/login", data={"key": key})).status_code == 303
                assert (await http.get("/")).status_code == 200
                return http.cookies

    async def status_with(cookies: httpx.Cookies, ring: KeyRing, secret: str) -> int:
        app = create_app(
            CampaignSettings(session_secret=secret), bus=MemoryBus(), store=MemoryStore(), keyring=ring
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://c", cookies=cookies) as http:
                return (await http.get("/")).status_code

    secret = "a" * 40
    ring = KeyRing()
    key = ring.issue("official-enshi", Role.official, ["4228"])
    cookies = await signed_in_cookie(ring, key, secret)
    assert await status_with(cookies, ring, secret) == 200  # a restart with the same secret and keys
    assert await status_with(cookies, KeyRing(), secret) == 303  # the key was removed: back to login
    assert await status_with(cookies, ring, "b" * 40) == 303  # another secret: the signature fails


def test_session_and_clock_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="session_secret"):
        CampaignSettings(session_secret="too-short")
    with pytest.raises(ValidationError, match="clock_offset_days"):
        CampaignSettings(clock_offset_days=-1)
