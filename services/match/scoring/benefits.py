"""Benefits the seeker needs that the posting gives.

Room and board (包吃住) counts as needed for anyone beyond ``far_km`` from home, asked or not:
the seeds' out-of-county workers ask about it first. A dormitory alone half-satisfies it.
Seekers who need nothing in particular still prefer a posting paying 五险一金.

The formulas read benefit sets as bitmasks (``features.BENEFIT_BITS``), so that one pair and an
index's columns go through the same text.
"""

from __future__ import annotations

import numpy as np

from shared.vocabulary import BENEFIT_LABELS

from .arrays import Int, Num, maximum, where
from .features import BENEFIT_BITS, BENEFITS, mask
from .policy import Policy

# what seekers ask about first comes first
ORDER = ("room_and_board", "social_insurance", "dormitory", "shuttle_bus")

RB = BENEFIT_BITS["room_and_board"]
SI = BENEFIT_BITS["social_insurance"]
DORM = BENEFIT_BITS["dormitory"]
POPCOUNT = np.array([bin(i).count("1") for i in range(1 << len(BENEFITS))], dtype=np.int64)


def needed_masks(needs: Int, distance_km: Num, policy: Policy) -> Int:
    return where(distance_km > policy.distance.far_km, needs | RB, needs)


def scores(needs: Int, given: Int, policy: Policy) -> Num:
    """The share of needed benefits given (bitmasks), or the no-need score when none is needed."""
    half = ((needs & RB) != 0) & ((given & RB) == 0) & ((given & DORM) != 0)
    met = POPCOUNT[needs & given] + 0.5 * half
    count = POPCOUNT[needs]
    bonus = where((given & SI) != 0, policy.benefits.social_insurance_bonus, 0.0)
    return where(count > 0, met / maximum(count, 1), policy.benefits.no_need + bonus)


def best(policy: Policy) -> float:
    """The most any posting can score, whatever the seeker needs."""
    return max(1.0, policy.benefits.no_need + policy.benefits.social_insurance_bonus)


def needed(needs: frozenset[str], distance_km: float, policy: Policy) -> frozenset[str]:
    bits = int(needed_masks(mask(needs, BENEFIT_BITS), distance_km, policy))
    return frozenset(b for b, bit in BENEFIT_BITS.items() if bits & bit)


def score(needs: frozenset[str], given: frozenset[str], policy: Policy) -> float:
    return float(scores(mask(needs, BENEFIT_BITS), mask(given, BENEFIT_BITS), policy))


def names(given: frozenset[str]) -> str:
    return "、".join(BENEFIT_LABELS[b] for b in ORDER if b in given)


def detail(needs: frozenset[str], given: frozenset[str]) -> str:
    parts = [names(given)] if given else ["未注明福利"]
    missing = [BENEFIT_LABELS[b] for b in ORDER if b in needs and b not in given]
    if missing:
        parts.append("不含" + "、".join(missing))
    return "，".join(parts)
