"""Policy boosts: priority groups (脱贫人口, 零就业家庭 …) and the county's key enterprises.

Groups are a boost, never a filter, and never a protected trait: they are programmes a person
is enrolled in, which the law asks bureaus to serve first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from shared.vocabulary import GROUP_LABELS

from .arrays import Num, minimum, where
from .features import GROUP_BITS
from .policy import Policy, derived


def group_boost(groups: Iterable[str], policy: Policy) -> float:
    return sum(policy.priority.groups.get(g, 0.0) for g in sorted(groups))


@derived
def boost_table(policy: Policy) -> npt.NDArray[np.float64]:
    """``group_boost`` of every groups bitmask, so that a column of masks is one lookup."""
    masks = range(1 << len(GROUP_BITS))
    return np.array([group_boost([g for g, bit in GROUP_BITS.items() if m & bit], policy) for m in masks])


def scores(boost: Num, key_enterprise: Any, policy: Policy) -> Num:
    return minimum(1.0, boost + where(key_enterprise, policy.priority.key_enterprise, 0.0))


def score(groups: Iterable[str], key_enterprise: bool, policy: Policy) -> float:
    return float(scores(group_boost(groups, policy), key_enterprise, policy))


def detail(groups: Iterable[str], key_enterprise: bool, policy: Policy) -> str:
    parts = [
        GROUP_LABELS.get(g, g) + "优先" for g in sorted(groups) if policy.priority.groups.get(g, 0.0) > 0
    ]
    if key_enterprise:
        parts.append("重点企业")
    return "、".join(parts) if parts else "无政策加分"
