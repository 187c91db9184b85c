"""The six soft factors composed: the one routine behind ``score_pair`` and both index searches.

Given the two sides as rows (numbers for one pair, columns for candidate rows; see
``features.profile_row``), it returns each factor's score in ``policy.FACTORS`` order, so that
the pair-by-pair reference and the index cannot weigh a pair differently.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import benefits, distance, priority, shift, skills, wage
from .arrays import Num
from .features import F_CARE, F_VEC, Row
from .policy import FACTORS, Policy, derived


@derived
def weights(policy: Policy) -> tuple[float, ...]:
    """The normalised weights in ``FACTORS`` order."""
    return tuple(policy.weights.normalised(name) for name in FACTORS)


def scores(profile: Row, posting: Row, distance_km: Num, skill_dot: Num, policy: Policy) -> list[Num]:
    """Each factor's score; ``skill_dot`` is the cosine of the two skill bags."""
    flags = profile["flags"]
    return [
        distance.scores(distance_km, policy),
        wage.scores(posting["wage_min"], posting["wage_max"], profile["desired"], policy),
        skills.scores(skill_dot, ((flags & F_VEC) != 0) & posting["has_vec"], policy),
        shift.scores(profile["availability"], (flags & F_CARE) != 0, posting["shift"], policy),
        benefits.scores(
            benefits.needed_masks(profile["needs"], distance_km, policy), posting["benefits"], policy
        ),
        priority.scores(priority.boost_table(policy)[profile["groups"]], posting["key"], policy),
    ]


def total(factor_scores: Sequence[Num], policy: Policy) -> Num:
    return sum(s * w for s, w in zip(factor_scores, weights(policy), strict=True))
