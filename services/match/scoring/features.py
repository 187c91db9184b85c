"""What scoring needs of a posting or a seeker, derived once from the event views.

Both the pair-by-pair path and the vectorised index start from these, so that they cannot
disagree on how a view is read (which texts count as skills, how certificates are spelt).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared import places
from shared.events import PostingView, ProfileMatchView
from shared.models import Benefit, Employer, Group

from . import text
from .policy import Policy

# Bit positions follow the enums' order in shared/models.py.
GROUPS = tuple(g.value for g in Group)
BENEFITS = tuple(b.value for b in Benefit)
SHIFT_CODES = {"day": 0, "weekday_day": 1, "rotating": 2, "night": 3}
AVAILABILITY_CODES = {"any": 0, "day_only": 1, "weekdays_only": 2}
BENEFIT_BITS = {b: 1 << i for i, b in enumerate(BENEFITS)}
GROUP_BITS = {g: 1 << i for i, g in enumerate(GROUPS)}
# a seeker's yes/no answers, one bit each
F_WHOLE, F_OUT, F_RELOCATE, F_CARE, F_VEC, F_SHORT = 1, 2, 4, 8, 16, 32
NOT_GIG = math.inf  # a posting's gig radius when it is not a gig: no limit of its own

# A posting or a seeker as the factor and constraint formulas read it: numbers, codes and
# bitmasks, one value per field for one pair, or one column per field for the index's rows.
Row = Mapping[str, Any]


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
    gig_km: float = NOT_GIG  # 零工: only seekers who take short jobs, this close
    # what the formulas read of this posting against one seeker (derived once, see posting_row)
    row: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "row", posting_row(self, self.certificates))


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
    takes_short_jobs: bool = False
    # what the formulas read of this seeker against one posting (derived once, see profile_row)
    row: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "row", profile_row(self, self.certificates))


def employer_key(employer: Employer) -> str:
    """One employer across its postings: the credit code when given, else the name."""
    return employer.credit_code or employer.name


# Equal benefit and certificate sets share one object: match holds the features of every active
# posting, and 100k postings' own small sets cost ~50 bytes per seeker at 1M seekers. Bounded, so
# that odd sets cannot grow it without end (past the bound a set is simply not shared).
_SETS_SHARED = 4096
_sets: dict[frozenset[str], frozenset[str]] = {}


def _shared(items: frozenset[str]) -> frozenset[str]:
    found = _sets.get(items)
    if found is None:
        if len(_sets) >= _SETS_SHARED:
            return items
        found = _sets[items] = items
    return found


def posting_features(view: PostingView, policy: Policy) -> PostingFeatures:
    req = view.requirements
    certs = _shared(text.certificates(req.certificates))
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
    wage = view.wage
    open_positions = max(0, view.headcount - view.filled)
    return PostingFeatures(
        id=view.id,
        place=places.resolve(view.location.adcode),
        employer=employer_key(view.employer),
        key_enterprise=view.employer.key_enterprise,
        wage_min=wage.min,
        wage_max=wage.max,
        piece_rate=wage.piece_rate,
        shift=str(view.shift),
        benefits=_shared(frozenset(str(b) for b in view.benefits)),
        min_age=req.min_age,
        max_age=req.max_age,
        certificates=certs,
        open_positions=open_positions,
        is_open=view.status == "open",
        vector=vector,
        gig_km=NOT_GIG if view.gig_days is None else policy.gig.max_km,
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
        place=places.resolve(view.home.adcode),
        birth_year=view.birth_year,
        desired_wage=view.desired_wage or None,
        max_commute_km=view.max_commute_km,
        whole_province=view.whole_province,
        out_of_province=view.out_of_province,
        relocate=view.relocate,
        availability=str(view.availability),
        care=text.implies_care(view.intention + " " + view.experience),
        needs=frozenset(str(b) for b in view.needs_benefits),
        groups=frozenset(str(g) for g in view.groups),
        certificates=certs,
        looking=view.status == "looking",
        vector=vector,
        takes_short_jobs=view.takes_short_jobs,
    )


def mask(names: Iterable[str], bits: Mapping[str, int]) -> int:
    out = 0
    for name in names:
        out |= bits[name]
    return out


def profile_row(f: ProfileFeatures, certs: Any) -> dict[str, Any]:
    """The seeker's fields as the formulas read them; the index stores exactly these columns.

    ``certs`` is the set of certificate names for one pair, or the index's bitmask of them.
    """
    return {
        "birth_year": f.birth_year,
        "desired": f.desired_wage or 0,
        "commute": f.max_commute_km,
        "flags": (
            (F_WHOLE if f.whole_province else 0)
            | (F_OUT if f.out_of_province else 0)
            | (F_RELOCATE if f.relocate else 0)
            | (F_CARE if f.care else 0)
            | (F_VEC if f.vector else 0)
            | (F_SHORT if f.takes_short_jobs else 0)
        ),
        "availability": AVAILABILITY_CODES[f.availability],
        "needs": mask(f.needs, BENEFIT_BITS),
        "groups": mask(f.groups, GROUP_BITS),
        "certs": certs,
    }


def posting_row(f: PostingFeatures, certs: Any) -> dict[str, Any]:
    """The posting's fields as the formulas read them (see ``profile_row``)."""
    return {
        "wage_min": f.wage_min,
        "wage_max": f.wage_max,
        "shift": SHIFT_CODES[f.shift],
        "benefits": mask(f.benefits, BENEFIT_BITS),
        "key": f.key_enterprise,
        "min_age": f.min_age,
        "max_age": f.max_age,
        "certs": certs,
        "has_vec": bool(f.vector),
        "gig_km": f.gig_km,
    }


def distance(profile: ProfileFeatures, posting: PostingFeatures, policy: Policy) -> float | None:
    if profile.place is None or posting.place is None:
        return None
    if profile.place.adcode == posting.place.adcode:
        return policy.distance.same_county_km
    return places.distance_km(profile.place, posting.place)
