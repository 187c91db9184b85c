"""Benefits the seeker needs that the posting gives.

Room and board (包吃住) counts as needed for anyone beyond ``far_km`` from home, asked or not:
the seeds' out-of-county workers ask about it first. A dormitory alone half-satisfies it.
Seekers who need nothing in particular still prefer a posting paying 五险一金.
"""

from __future__ import annotations

from .policy import Policy

NAMES = {
    "room_and_board": "包吃住",
    "social_insurance": "五险一金",
    "dormitory": "提供宿舍",
    "shuttle_bus": "班车接送",
}
ORDER = ("room_and_board", "social_insurance", "dormitory", "shuttle_bus")


def needed(needs: frozenset[str], distance_km: float, policy: Policy) -> frozenset[str]:
    if distance_km > policy.distance.far_km:
        return needs | {"room_and_board"}
    return needs


def score(needs: frozenset[str], given: frozenset[str], policy: Policy) -> float:
    if not needs:
        bonus = policy.benefits.social_insurance_bonus
        return policy.benefits.no_need + (bonus if "social_insurance" in given else 0.0)
    met = 0.0
    for need in needs:
        if need in given:
            met += 1.0
        elif need == "room_and_board" and "dormitory" in given:
            met += 0.5
    return met / len(needs)


def names(given: frozenset[str]) -> str:
    return "、".join(NAMES[b] for b in ORDER if b in given)


def detail(needs: frozenset[str], given: frozenset[str]) -> str:
    parts = [names(given)] if given else ["未注明福利"]
    missing = [NAMES[b] for b in ORDER if b in needs and b not in given]
    if missing:
        parts.append("不含" + "、".join(missing))
    return "，".join(parts)
