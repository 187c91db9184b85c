"""The seekers' hidden preferences: whether a simulated seeker accepts a recommended job.

The matcher never reads this module. It only sees what a seeker states (desired wage, maximum
commute, availability, needed benefits, skills); real people weigh those things with personal
weights the form does not capture, and have tastes nobody can see. The utility of job j for
seeker i, in "units of wanting" with 0 the value of staying home and waiting:

    U_ij = −0.5                                  the cost of changing (medical check, training,
                                                 leaving the present arrangement)
         + a_i · (mid-wage_j − r_i) / 1000       wage against a hidden reservation wage
         − travel_ij                             commute, or the cost of moving away
         + shift_ij                              fit of the shift with care duties
         + benefits_ij                           needed benefits present (+0.5) / absent (−0.8)
         + 0.6 if the job uses a skill the seeker has, else −0.4
         + 0.2 for a key enterprise (stability)
         + ε_ij,  ε ~ N(0, 0.7²)                 private taste, different for every pair

with hidden r_i = stated wage (or the county level if none) × LogNormal(0, 0.08),
a_i ~ U(0.6, 1.4); travel_ij = c_i · km/10 with c_i ~ U(0.5, 1.5) × (0.6 for mothers and other
care-bound seekers, 0.08 for those willing to leave the province, else 0.25), plus 1.5 beyond the
stated maximum commute; a seeker who would relocate pays min(that, m_i) with m_i ~ U(1, 2) when
the job houses its workers (dormitory or room and board); leaving the province needs
``out_of_province``. Shift: weekdays-only seekers +0.8 for the 宝妈班, −2.5 for anything else;
day-only seekers −1.5 for rotating, −2.5 for night; others −0.4 night, −0.2 rotating.

The constant was set once, before any matcher ran, from the reports' funnel (1,388 intentions
among 8,000 visitors of a fair with 8,786 positions; 326 intentions → 90 hires): about one
feasible recommendation in eight is acceptable. A seeker accepts the best offer with U > 0
among those an employer may lawfully hire them for (age, certificates) that still has an open
position.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from evaluation.catalogue import (
    BENEFITS,
    CERTIFICATES,
    COUNTIES,
    JOB_KINDS,
    PERSONAS,
    SHIFTS,
    SKILLS,
)
from evaluation.generator import PostingArrays, ProfileArrays
from shared import places

Floats = NDArray[np.float64]


@lru_cache(maxsize=1)
def county_distances() -> Floats:
    """Great-circle km between the catalogue's counties (the same distance the matcher uses)."""
    pl = [places.resolve(c.adcode) for c in COUNTIES]
    if any(p is None for p in pl):
        raise ValueError("a catalogue county does not resolve")
    return np.array([[places.distance_km(a, b) for b in pl] for a in pl])  # type: ignore[arg-type]


@dataclass(slots=True)
class Preferences:
    seed: int
    reservation: Floats
    wage_weight: Floats
    commute_cost: Floats
    move_cost: Floats

    @classmethod
    def draw(cls, profiles: ProfileArrays, seed: int) -> Preferences:
        rng = np.random.default_rng([seed, 0xC0FFEE])
        n = len(profiles)
        level = (
            np.array([c.wage for c in COUNTIES])[profiles.county]
            * np.array([p.wage for p in PERSONAS])[profiles.persona]
        )
        stated = np.where(profiles.desired_wage > 0, profiles.desired_wage, level)
        care_bound = np.isin(
            profiles.persona, [i for i, p in enumerate(PERSONAS) if p.name in ("宝妈", "就业困难人员")]
        ) | (profiles.availability == 2)
        base = np.where(care_bound, 0.6, np.where(profiles.out_of_province, 0.08, 0.25))
        return cls(
            seed=seed,
            reservation=stated * rng.lognormal(0.0, 0.08, n),
            wage_weight=rng.uniform(0.6, 1.4, n),
            commute_cost=base * rng.uniform(0.5, 1.5, n),
            move_cost=rng.uniform(1.0, 2.0, n),
        )


def lawful(profiles: ProfileArrays, i: int, postings: PostingArrays, year: int) -> NDArray[np.bool_]:
    """Which postings an employer may hire seeker i for: age within limits, certificates held."""
    age = year - int(profiles.birth_year[i])
    certs = kind_certificates()[postings.kind]
    return (
        (postings.min_age <= age)
        & (postings.max_age >= age)
        & ((certs & ~np.uint8(profiles.certificates[i])) == 0)
    )


def utility(prefs: Preferences, profiles: ProfileArrays, i: int, postings: PostingArrays) -> Floats:
    """U_i· over all postings (see the module docstring); deterministic per (seed, i)."""
    km = county_distances()[int(profiles.county[i])][postings.county]
    p_prov = np.array([c.adcode[:2] for c in COUNTIES])[postings.county]
    other_province = p_prov != COUNTIES[int(profiles.county[i])].adcode[:2]

    mid = (postings.wage_min + postings.wage_max) / 2.0
    u = -0.5 + prefs.wage_weight[i] * (mid - prefs.reservation[i]) / 1000.0

    travel = prefs.commute_cost[i] * km / 10.0 + np.where(km > profiles.max_commute_km[i], 1.5, 0.0)
    houses = (postings.benefits & (_bit("dormitory") | _bit("room_and_board"))) != 0
    movable = bool(profiles.relocate[i] or profiles.out_of_province[i])
    if movable:
        travel = np.where(houses, np.minimum(travel, prefs.move_cost[i]), travel)
    if not profiles.out_of_province[i]:
        travel = np.where(other_province, travel + 5.0, travel)
    u -= travel

    u += _shift_table()[int(profiles.availability[i])][postings.shift]

    need = int(profiles.needs_benefits[i])
    for b in range(len(BENEFITS)):
        if need >> b & 1:
            u += np.where(postings.benefits >> b & 1, 0.5, -0.8)
    if not need & _bit("social_insurance"):
        u += np.where(postings.benefits & _bit("social_insurance"), 0.15, 0.0)

    overlap = (_kind_skills()[postings.kind] & np.uint32(profiles.skills[i])) != 0
    u += np.where(overlap, 0.6, -0.4)
    u += np.where(postings.key >= 0, 0.2, 0.0)
    u += np.random.default_rng([prefs.seed, 0xBEEF, i]).normal(0.0, 0.7, len(postings))
    return np.asarray(u, dtype=np.float64)


# --- lookup tables ------------------------------------------------------------------------------


def _bit(benefit: str) -> int:
    return 1 << BENEFITS.index(benefit)


@lru_cache(maxsize=1)
def _shift_table() -> Floats:
    rows = {
        "any": {"night": -0.4, "rotating": -0.2},
        "day_only": {"rotating": -1.5, "night": -2.5},
        "weekdays_only": {"weekday_day": 0.8, "day": -2.5, "rotating": -2.5, "night": -2.5},
    }
    return np.array([[rows[a].get(s, 0.0) for s in SHIFTS] for a in ("any", "day_only", "weekdays_only")])


@lru_cache(maxsize=1)
def _kind_skills() -> NDArray[np.uint32]:
    return np.array([sum(1 << SKILLS.index(s) for s in k.skills) for k in JOB_KINDS], dtype=np.uint32)


@lru_cache(maxsize=1)
def kind_certificates() -> NDArray[np.uint8]:
    """Bitmask over CERTIFICATES of what each job kind legally requires."""
    return np.array(
        [sum(1 << CERTIFICATES.index(c) for c in k.certificates) for k in JOB_KINDS], dtype=np.uint8
    )
