"""What scoring needs of a posting or a seeker, derived once from the event views.

Both the pair-by-pair path and the vectorised index start from these, so that they cannot
disagree on how a view is read (which texts count as skills, how certificates are spelt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared import places
from shared.events import PostingView, ProfileMatchView
from shared.models import Benefit, Group

from . import text
from .policy import Policy

# Bit positions follow the enums' order in shared/models.py.
GROUPS = tuple(g.value for g in Group)
BENEFITS = tuple(b.value for b in Benefit)
SHIFT_CODES = {"day": 0, "weekday_day": 1, "rotating": 2, "night": 3}
AVAILABILITY_CODES = {"any": 0, "day_only": 1, "weekdays_only": 2}


@dataclass(frozen=True, slots=True)
class PostingFeatures:
    id: str
    place: places.Place | None
    employer: str
    key_enterprise: bool
    wage_min: int
    wage_max: int
    piece_rate: bool
    shift: str
    benefits: frozenset[str]
    min_age: int
    max_age: int
    certificates: frozenset[str]
    open_positions: int
    is_open: bool
    vector: dict[str, float]


@dataclass(frozen=True, slots=True)
class ProfileFeatures:
    id: str
    place: places.Place | None
    birth_year: int
    desired_wage: int | None
    max_commute_km: float
    whole_province: bool
    out_of_province: bool
    relocate: bool
    availability: str
    care: bool
    needs: frozenset[str]
    groups: frozenset[str]
    certificates: frozenset[str]
    looking: bool
    vector: dict[str, float]


def employer_key(employer: dict[str, Any]) -> str:
    """One employer across its postings: the credit code when given, else the name."""
    return str(employer.get("credit_code") or employer.get("name") or "")


def posting_features(view: PostingView, policy: Policy) -> PostingFeatures:
    req = view.requirements or {}
    certs = text.certificates(req.get("certificates") or [])
    vector = text.skill_vector(
        [
            (view.title, 2.0),
            (view.occupation or "", 2.0),
            (" ".join(view.skills), 2.0),
            (" ".join(sorted(certs)), 1.0),
            (view.description, 0.5),
        ],
        policy.skills.max_tokens,
    )
    wage = view.wage or {}
    open_positions = max(0, int(view.headcount) - int(view.filled))
    return PostingFeatures(
        id=view.id,
        place=places.resolve(str((view.location or {}).get("adcode", ""))),
        employer=employer_key(view.employer or {}),
        key_enterprise=bool((view.employer or {}).get("key_enterprise")),
        wage_min=int(wage.get("min") or 0),
        wage_max=int(wage.get("max") or wage.get("min") or 0),
        piece_rate=bool(wage.get("piece_rate")),
        shift=view.shift if view.shift in SHIFT_CODES else "day",
        benefits=frozenset(b for b in view.benefits if b in BENEFITS),
        min_age=int(req.get("min_age") or 16),
        max_age=int(req.get("max_age") or 60),
        certificates=certs,
        open_positions=open_positions,
        is_open=view.status == "open",
        vector=vector,
    )


def profile_features(view: ProfileMatchView, policy: Policy) -> ProfileFeatures:
    certs = text.certificates(view.certificates)
    vector = text.skill_vector(
        [
            (" ".join(view.skills), 2.0),
            (" ".join(view.certificates), 2.0),
            (view.experience, 1.0),
            (view.intention, 0.5),
        ],
        policy.skills.max_tokens,
    )
    return ProfileFeatures(
        id=view.id,
        place=places.resolve(str((view.home or {}).get("adcode", ""))),
        birth_year=int(view.birth_year),
        desired_wage=int(view.desired_wage) if view.desired_wage else None,
        max_commute_km=float(view.max_commute_km),
        whole_province=bool(view.whole_province),
        out_of_province=bool(view.out_of_province),
        relocate=bool(view.relocate),
        availability=view.availability if view.availability in AVAILABILITY_CODES else "any",
        care=text.implies_care(view.intention + " " + view.experience),
        needs=frozenset(b for b in view.needs_benefits if b in BENEFITS),
        groups=frozenset(g for g in view.groups if g in GROUPS),
        certificates=certs,
        looking=view.status == "looking",
        vector=vector,
    )


def distance(profile: ProfileFeatures, posting: PostingFeatures, policy: Policy) -> float | None:
    if profile.place is None or posting.place is None:
        return None
    if profile.place.adcode == posting.place.adcode:
        return policy.distance.same_county_km
    return places.distance_km(profile.place, posting.place)
