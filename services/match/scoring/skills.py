"""Skill and occupation similarity: cosine of the two weighted token bags (see ``text``).

A side with no words at all is neither a match nor a mismatch: it scores ``neutral``.
"""

from __future__ import annotations

from typing import Any

from .arrays import Num, minimum, where
from .policy import Policy
from .text import cosine


def scores(dot: Num, both_have_words: Any, policy: Policy) -> Num:
    """``dot`` is the cosine of the two bags (the index computes it from float32 weights)."""
    return where(both_have_words, minimum(1.0, policy.skills.gain * dot), policy.skills.neutral)


def score(profile_vec: dict[str, float], posting_vec: dict[str, float], policy: Policy) -> float:
    both = bool(profile_vec) and bool(posting_vec)
    return float(scores(cosine(profile_vec, posting_vec) if both else 0.0, both, policy))


def best(has_words: bool, policy: Policy) -> float:
    """The most any partner can score against one side: a partner without words scores neutral."""
    return 1.0 if has_words else policy.skills.neutral


def detail(profile_vec: dict[str, float], posting_vec: dict[str, float], value: float) -> str:
    if not profile_vec or not posting_vec:
        return "技能信息不足"
    common = sorted(set(profile_vec) & set(posting_vec), key=lambda t: (-posting_vec[t], t))[:3]
    if common and value >= 0.5:
        return "技能对口：" + "、".join(common)
    if common:
        return "技能相关：" + "、".join(common)
    return "技能不完全对口"
