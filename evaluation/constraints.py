"""The hard constraints, checked independently of the matcher so that its violations can be counted.

Written from the domain rules (``../shared/docs/domain.md``, ``shared/models.py``), not from
the scoring code: a recommendation violates a hard constraint when

- ``closed``: the posting has no open position left;
- ``age``: the seeker's age (in the campaign year) is outside the posting's lawful age range;
- ``certificate``: the posting requires a certificate (电工证, 叉车证…) the seeker lacks;
- ``reach``: the workplace is farther than the seeker's stated maximum commute, unless it is in
  the home province and the seeker accepts the whole province or would relocate, or it is in
  another province and the seeker said so (``out_of_province``). Willing to relocate does not
  mean willing to leave the province: that is what ``out_of_province`` says;
- ``availability``: the shift contradicts the seeker's stated availability (weekdays only: the
  宝妈班 alone; day only: no night or rotating shifts).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from evaluation.catalogue import COUNTIES, SHIFTS
from evaluation.generator import PostingArrays, ProfileArrays
from evaluation.preferences import county_distances, kind_certificates

Bools = NDArray[np.bool_]
REASONS = ("closed", "age", "certificate", "reach", "availability")


@lru_cache(maxsize=1)
def _allowed_shifts() -> NDArray[np.bool_]:
    allowed = {
        "any": set(SHIFTS),
        "day_only": {"day", "weekday_day"},
        "weekdays_only": {"weekday_day"},
    }
    return np.array([[s in allowed[a] for s in SHIFTS] for a in ("any", "day_only", "weekdays_only")])


@lru_cache(maxsize=1)
def _province() -> NDArray[np.str_]:
    return np.array([c.adcode[:2] for c in COUNTIES])


def violations(
    profiles: ProfileArrays, i: int, postings: PostingArrays, open_left: NDArray[np.int64], year: int
) -> dict[str, Bools]:
    """Per reason, which postings seeker i may not be recommended."""
    age = year - int(profiles.birth_year[i])
    km = county_distances()[int(profiles.county[i])][postings.county]
    same_province = _province()[postings.county] == _province()[int(profiles.county[i])]
    reachable = (
        (km <= profiles.max_commute_km[i])
        | (same_province & bool(profiles.whole_province[i] or profiles.relocate[i]))
        | (~same_province & bool(profiles.out_of_province[i]))
    )
    return {
        "closed": open_left <= 0,
        "age": (postings.min_age > age) | (postings.max_age < age),
        "certificate": (kind_certificates()[postings.kind] & ~np.uint8(profiles.certificates[i])) != 0,
        "reach": ~reachable,
        "availability": ~_allowed_shifts()[int(profiles.availability[i])][postings.shift],
    }


def feasible(
    profiles: ProfileArrays, i: int, postings: PostingArrays, open_left: NDArray[np.int64], year: int
) -> Bools:
    bad = np.zeros(len(postings), dtype=bool)
    for mask in violations(profiles, i, postings, open_left, year).values():
        bad |= mask
    return ~bad
