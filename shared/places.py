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


# New county-level codes since cpca's data was cut: new code -> (name, code it replaced).
RENAMED: dict[str, tuple[str, str]] = {
    "361104": ("广信区", "361121"),  # 上饶县 became 广信区 (2019)
    "360113": ("红谷滩区", "360111"),  # carved out of 青山湖区 (2019)
    "360404": ("柴桑区", "360421"),  # 九江县 became 柴桑区 (2017)
    "421088": ("监利市", "421023"),  # 监利县 became a city (2020)
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
