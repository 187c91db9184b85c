"""就业直通车: every rider carried, no bus above its seats, as few buses as the seats allow here,
and an official's plan over HTTP (the numbers checked by hand: 资中 to 台州 as in the seeds)."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from services.campaign.app import create_app
from services.campaign.settings import CampaignSettings
from services.campaign.transport.planner import NoPlan, Origin, UnknownPlace, lower_bound_buses, plan
from shared.auth import KeyRing, Role, headers
from shared.bus.memory import MemoryBus
from shared.store.memory import MemoryStore

ENSHI = "422801"  # the workplace: 恩施市 (立讯)
TOWNS = {"422802": 38, "422822": 20, "422828": 17, "422826": 60}  # 利川, 建始, 鹤峰, 咸丰


def _carried(p: object) -> Counter[str]:
    got: Counter[str] = Counter()
    for bus in p.buses:  # type: ignore[attr-defined]
        for stop in bus.stops:
            got[stop.adcode] += stop.riders
    return got


def test_every_rider_is_carried_within_the_seats_by_as_few_buses_as_the_loads_allow() -> None:
    origins = [Origin(a, n) for a, n in TOWNS.items()]
    p = plan(ENSHI, origins, seats=45)
    assert _carried(p) == Counter(TOWNS)
    assert all(0 < bus.riders <= 45 for bus in p.buses)
    assert p.riders == 135
    # 135 riders need 3 buses of 45 at least, but the busloads are 45 + 15 (咸丰's 60), 38, 20
    # and 17: the 45 fills a bus, the 38 leaves room for 7, and 20 + 17 + 15 = 52 > 45: so 4
    assert lower_bound_buses(135, 45) == 3
    assert len(p.buses) == 4
    assert p.km > 0 and all(b.km > 0 for b in p.buses)


def test_the_same_input_gives_the_same_plan_and_one_county_is_one_stop() -> None:
    origins = [Origin(a, n) for a, n in TOWNS.items()]
    assert plan(ENSHI, origins, seats=45) == plan(ENSHI, origins, seats=45)
    p = plan(ENSHI, [Origin("422802", 10), Origin("422802", 5)], seats=45)
    assert [[(s.adcode, s.riders) for s in b.stops] for b in p.buses] == [[("422802", 15)]]


def test_too_few_buses_and_unknown_places_are_refused() -> None:
    with pytest.raises(NoPlan):
        plan(ENSHI, [Origin("422802", 100)], seats=45, max_buses=2)
    with pytest.raises(UnknownPlace):
        plan(ENSHI, [Origin("999999", 3)], seats=45)


async def test_an_official_plans_the_buses_over_http() -> None:
    ring = KeyRing()
    official = ring.issue("official-zizhong", Role.official, ["5110"])
    seeker = ring.issue("seeker-1", Role.seeker, ["s1"])
    app = create_app(CampaignSettings(), bus=MemoryBus(), store=MemoryStore(), keyring=ring)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://campaign") as http:
            body = {"destination": "331083", "seats": 50, "origins": [{"adcode": "511025", "riders": 661}]}
            r = await http.post("/v1/transport/plan", json=body, headers=headers(official))
            assert r.status_code == 200, r.text
            got = r.json()
            # 资中 to 玉环: 661 riders in buses of 50 is 14 buses, all from one stop
            assert (got["riders"], len(got["buses"])) == (661, 14)
            assert {s["place"] for b in got["buses"] for s in b["stops"]} == {
                got["buses"][0]["stops"][0]["place"]
            }
            bad = await http.post(
                "/v1/transport/plan",
                json={**body, "origins": [{"adcode": "999999", "riders": 1}]},
                headers=headers(official),
            )
            assert bad.status_code == 422
            assert (
                await http.post("/v1/transport/plan", json=body, headers=headers(seeker))
            ).status_code == 403
            assert (await http.post("/v1/transport/plan", json=body)).status_code == 401
