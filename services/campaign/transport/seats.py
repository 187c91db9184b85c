"""Who sits in which bus, where she boards and when: pure, so each rule is tested without a server.

The planner (``planner.py``) decides how many riders each bus picks up at each county and in
which order; this module puts named seekers into those seats and gives every stop a time.

* Seats: a county's seekers, sorted by town and then by id (neighbours from one town ride
  together, and the same input seats the same people), fill that county's stops bus by bus.
* Times: each bus leaves its first pick-up point at the departure time; from there, the next
  stop is reached after the dwell at this one plus the great-circle distance at the stated
  speed. Great-circle kilometres are shorter than roads, so the default speed (45 km/h) is a
  road speed of about 60 km/h over a road 1.3 times the straight line: a plan a dispatcher can
  keep, which he tightens by giving the speed he knows for his roads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.campaign.transport.planner import Plan
from shared import places


@dataclass(frozen=True, slots=True)
class Seeker:
    profile_id: str
    county: str  # 6-digit adcode of her home county
    town: str = ""


@dataclass(frozen=True, slots=True)
class Boarding:
    adcode: str
    point: str
    at: datetime
    km: float  # from the previous stop (0 at the first)
    seekers: list[str]


@dataclass(frozen=True, slots=True)
class Seating:
    bus: int  # 1-based
    stops: list[Boarding]
    arrives_at: datetime
    km: float  # first pick-up to the destination

    @property
    def riders(self) -> int:
        return sum(len(s.seekers) for s in self.stops)


def travel(km: float, speed_kmh: float) -> timedelta:
    """Whole minutes, rounded up: a notice never tells anyone to be there later than the bus."""
    minutes = -(-km * 60 // speed_kmh)
    return timedelta(minutes=int(minutes))


def point_name(adcode: str, names: Mapping[str, str]) -> str:
    """The official's name for the county's meeting point, else its county seat."""
    return names.get(adcode) or f"{places.label(adcode) or adcode}（县城集合点）"


def seat(
    plan: Plan,
    seekers: Sequence[Seeker],
    *,
    departs_at: datetime,
    speed_kmh: float,
    stop_minutes: int,
    point_names: Mapping[str, str] | None = None,
) -> list[Seating]:
    """The planner's buses with named seekers and times; every seeker seated exactly once."""
    names = point_names or {}
    queues: dict[str, list[str]] = {}
    for s in sorted(seekers, key=lambda s: (s.county, s.town, s.profile_id)):
        queues.setdefault(s.county, []).append(s.profile_id)
    dest = places.resolve(plan.destination)
    assert dest is not None  # the planner resolved it
    out: list[Seating] = []
    for number, bus in enumerate(plan.buses, start=1):
        at, total, prev = departs_at, 0.0, None
        stops: list[Boarding] = []
        for stop in bus.stops:
            here = places.resolve(stop.adcode)
            assert here is not None
            km = places.distance_km(prev, here) if prev is not None and prev.adcode != here.adcode else 0.0
            if prev is not None:
                at = at + timedelta(minutes=stop_minutes) + travel(km, speed_kmh)
            queue = queues.get(stop.adcode, [])
            riders, queues[stop.adcode] = queue[: stop.riders], queue[stop.riders :]
            stops.append(Boarding(stop.adcode, point_name(stop.adcode, names), at, round(km, 1), riders))
            total += km
            prev = here
        assert prev is not None
        last = places.distance_km(prev, dest) if prev.adcode != dest.adcode else 0.0
        arrives = at + timedelta(minutes=stop_minutes) + travel(last, speed_kmh)
        out.append(Seating(number, stops, arrives, round(total + last, 1)))
    left = [p for q in queues.values() for p in q]
    if left:  # the planner carries every rider it was given: this would be a bug, not bad input
        raise RuntimeError(f"{len(left)} seekers without a seat")
    return out


def fingerprint(request: Mapping[str, Any]) -> str:
    """The same request (same seekers, date, time, seats, speed) is the same plan: no re-plan,
    no new notices, however often an official submits it."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:24]
