"""The chaos load's data: cells of one posting and its seekers, each seeker fitting exactly it.

Why cells: the accounting must know, before anything runs, which (seeker, posting) pairs must be
delivered, so that "nothing lost" means every one of those pairs arrived, not merely that
something did. A cell is one county far from every other cell's county: its posting is there,
its seekers live there and commute at most ``COMMUTE_KM``, so the hard reach constraint rules out
every other cell's posting and each seeker has exactly one feasible posting, its cell's, which
scores far above the threshold (same county, wage above the desire, skills that match). The
posting's headcount keeps its capacity (``capacity_multiple`` × headcount) far above the cell's
seekers, so no later seeker displaces an earlier one, and one posting per employer name keeps
the per-employer cap out of play. The cap scenario uses cells of several postings instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from shared.places import Place, all_places, distance_km

COMMUTE_KM = 5.0
MIN_APART_KM = 40.0  # between two cells' counties: far beyond any seeker's commute


@lru_cache(maxsize=1)
def cell_counties(limit: int = 300) -> tuple[str, ...]:
    """County-level places pairwise at least ``MIN_APART_KM`` apart, in a fixed order."""
    chosen: list[Place] = []
    for place in sorted(all_places(), key=lambda p: p.adcode):
        if place.adcode.endswith("00") or place.adcode[4:6] == "01":  # cities and 市辖区
            continue
        if all(distance_km(place, other) >= MIN_APART_KM for other in chosen):
            chosen.append(place)
            if len(chosen) == limit:
                break
    return tuple(p.adcode for p in chosen)


def posting_json(run: str, cell: int, county: str, n: int = 0) -> dict[str, Any]:
    return {
        "employer": {"name": f"混沌测试{run}厂{cell}-{n}"},
        "title": "流水线普工",
        "headcount": 200,
        "wage": {"min": 5000 + 100 * n, "max": 6500 + 100 * n},
        "location": {"adcode": county, "address": "工业园"},
        "shift": "day",
        "benefits": ["social_insurance", "room_and_board"],
        "description": "长白班，包吃住，普工，电子装配。",
    }


def profile_json(run_no: int, i: int, county: str) -> dict[str, Any]:
    """Seeker i of a run; ``run_no`` keeps phones apart between runs."""
    return {
        "name": f"混沌{i}",
        "phone": f"15{run_no % 100:02d}{i % 10_000_000:07d}",
        "birth_year": 1985 + i % 15,
        "home": {"adcode": county},
        "desired_wage": 4000,
        "max_commute_km": COMMUTE_KM,
        "availability": "any",
        "skills": ["普工", "电子装配"],
        "channels": ["inbox", "sms"],
        "contact_consent": True,
    }


@dataclass
class Cell:
    county: str
    postings: list[str] = field(default_factory=list)  # ids of the accepted postings
    profiles: list[str] = field(default_factory=list)  # ids of the accepted profiles
