"""Every county the seeds name resolves; codes created since cpca's data are filled in."""

from __future__ import annotations

import pytest

from shared import places

SEED_COUNTIES = {
    "360481": "瑞昌",
    "360402": "濂溪",
    "360429": "湖口",
    "360483": "庐山",
    "360426": "德安",
    "361104": "广信",
    "361103": "广丰",
    "361130": "婺源",
    "361128": "鄱阳",
    "361126": "弋阳",
    "361123": "玉山",
    "361129": "万年",
    "361125": "横峰",
    "361181": "德兴",
    "361102": "信州",
    "422801": "恩施",
    "422802": "利川",
    "422822": "建始",
    "422823": "巴东",
    "422825": "宣恩",
    "422826": "咸丰",
    "422827": "来凤",
    "422828": "鹤峰",
    "511025": "资中",
    "331082": "临海",
    "331083": "玉环",
    "330702": "婺城",
    "330782": "义乌",
}


@pytest.mark.parametrize(("code", "name"), sorted(SEED_COUNTIES.items()))
def test_seed_counties_resolve(code: str, name: str) -> None:
    place = places.resolve(code)
    assert place is not None
    assert place.name.startswith(name)
    assert 97 < place.lon < 123 and 21 < place.lat < 36


def test_new_codes_take_the_replaced_county_coordinates() -> None:
    new, old = places.resolve("361104"), places.resolve("361121")
    assert new is not None and old is not None
    assert new.name == "广信区" and (new.lon, new.lat) == (old.lon, old.lat)
    for code in places.RENAMED:
        assert places.resolve(code) is not None, code


def test_town_code_resolves_to_its_county() -> None:
    town = places.resolve("422801001")
    assert town is not None and town.adcode == "422801"


@pytest.mark.parametrize("code", ["999999", "36110", "abcdef", "", "3611040"])
def test_unknown_or_malformed_code_is_none(code: str) -> None:
    assert places.resolve(code) is None


def test_distance_and_label() -> None:
    enshi, hefeng = places.resolve("422801"), places.resolve("422828")
    assert enshi is not None and hefeng is not None
    assert 60 < places.distance_km(enshi, hefeng) < 80
    assert places.distance_km(enshi, enshi) == 0
    assert places.label("361104") == "上饶市广信区"
    assert places.label("000000") == ""
