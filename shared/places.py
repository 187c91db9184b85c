"""China's county-level administrative codes (adcodes) resolved to names and coordinates.

The coordinates come from the ``cpca`` package's ``adcodes.csv`` (about 3,500 counties with
longitude/latitude). Its names stop around 2017, so codes created since then are filled in from
``RENAMED`` with the coordinates of the county they replaced. A town code (9 digits) resolves to
its county. An unknown code resolves to ``None``: callers turn that into a 422, never a silent
zero distance.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Place:
    adcode: str  # 6-digit county-level code
    name: str
    lon: float
    lat: float

    @property
    def province(self) -> str:
        return self.adcode[:2]

    @property
    def city(self) -> str:
        return self.adcode[:4]


# New county-level codes since cpca's data was cut: new code -> (name, code it replaced). A new
# county inherits the coordinates of the one it replaced (or was carved from): county seats rarely
# move far, and a few kilometres do not change a commute ranking.
RENAMED: dict[str, tuple[str, str]] = {
    # Jiangxi (the seeds' 九江 and 上饶)
    "361104": ("广信区", "361121"),  # 上饶县 became 广信区 (2019)
    "360113": ("红谷滩区", "360111"),  # carved out of 青山湖区 (2019)
    "360404": ("柴桑区", "360421"),  # 九江县 became 柴桑区 (2017)
    "361003": ("东乡区", "361029"),  # 东乡县 (2017)
    "360704": ("赣县区", "360721"),  # 赣县 (2016)
    # Hubei
    "421088": ("监利市", "421023"),  # 监利县 became a city (2020)
    "420882": ("京山市", "420821"),  # 京山县 (2018)
    # Sichuan (the seeds' 内江)
    "511083": ("隆昌市", "511028"),  # 隆昌县 (2017)
    "510981": ("射洪市", "510922"),  # 射洪县 (2019)
    "511504": ("叙州区", "511521"),  # 宜宾县 (2018)
    "513402": ("会理市", "513425"),  # 会理县 (2021)
    # Zhejiang (destinations of labour export: 台州, 金华, 杭州)
    "331083": ("玉环市", "331021"),  # 玉环县 (2017)
    "330383": ("龙港市", "330327"),  # carved out of 苍南县 (2019)
    "330113": ("临平区", "330110"),  # carved out of 余杭区 (2021)
    "330114": ("钱塘区", "330104"),  # 江干区 area (2021)
    # Elsewhere
    "130284": ("滦州市", "130223"),  # 滦县 (2018)
    "130881": ("平泉市", "130823"),  # 平泉县 (2017)
    "140681": ("怀仁市", "140624"),  # 怀仁县 (2018)
    "220184": ("公主岭市", "220381"),  # moved under 长春 (2020)
    "340281": ("无为市", "340225"),  # 无为县 (2019)
    "340882": ("潜山市", "340824"),  # 潜山县 (2018)
    "341882": ("广德市", "341822"),  # 广德县 (2019)
    "350112": ("长乐区", "350182"),  # 长乐市 (2017)
    "370116": ("莱芜区", "371202"),  # 莱芜 merged into 济南 (2019)
    "370117": ("钢城区", "371203"),
    "370614": ("蓬莱区", "370684"),  # 蓬莱市 (2020)
    "410783": ("长垣市", "410728"),  # 长垣县 (2019)
    "430182": ("宁乡市", "430124"),  # 宁乡县 (2017)
    "430582": ("邵东市", "430521"),  # 邵东县 (2019)
    "450381": ("荔浦市", "450331"),  # 荔浦县 (2018)
    "451082": ("平果市", "451023"),  # 平果县 (2019)
    "522302": ("兴仁市", "522322"),  # 兴仁县 (2018)
    "530481": ("澄江市", "530422"),  # 澄江县 (2019)
    "530681": ("水富市", "530630"),  # 水富县 (2018)
    "610482": ("彬州市", "610427"),  # 彬县 (2018)
    "610681": ("子长市", "610623"),  # 子长县 (2019)
    "610881": ("神木市", "610821"),  # 神木县 (2017)
    "620881": ("华亭市", "620824"),  # 华亭县 (2018)
    "632301": ("同仁市", "632321"),  # 同仁县 (2020)
}


@lru_cache(maxsize=1)
def _table() -> dict[str, Place]:
    raw = resources.files("cpca").joinpath("resources/adcodes.csv").read_text(encoding="utf-8")
    table: dict[str, Place] = {}
    for row in csv.DictReader(io.StringIO(raw)):
        code = row["adcode"][:6]
        if not row["longitude"] or not row["latitude"]:
            continue  # 市辖区 placeholders carry no coordinates
        table[code] = Place(code, row["name"], float(row["longitude"]), float(row["latitude"]))
    for new, (name, old) in RENAMED.items():
        if new not in table and old in table:
            p = table[old]
            table[new] = Place(new, name, p.lon, p.lat)
    return table


def resolve(adcode: str) -> Place | None:
    """The county-level place of a 6-digit (county) or 9/12-digit (town) code, or None."""
    code = str(adcode).strip()
    if len(code) not in (6, 9, 12) or not code.isdigit():
        return None
    return _table().get(code[:6])


def all_places() -> list[Place]:
    return list(_table().values())


EARTH_RADIUS_KM = 6371.0088


def distance_km(a: Place, b: Place) -> float:
    """Great-circle distance; roads are longer, but it ranks the same way and needs no map data."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def label(adcode: str) -> str:
    """A human place name for cards and SMS: "恩施州恩施市" style, city then county, or ""."""
    place = resolve(adcode)
    if place is None:
        return ""
    city = _table().get(place.adcode[:4] + "00")
    if (
        city is None
        or city.adcode == place.adcode
        or city.name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
        or place.name.startswith(city.name[:2])
    ):
        return place.name
    return city.name + place.name
