"""Skill and occupation similarity: cosine of the two weighted token bags (see ``text``)."""

from __future__ import annotations

from .policy import Policy
from .text import cosine


def score(profile_vec: dict[str, float], posting_vec: dict[str, float], policy: Policy) -> float:
    if not profile_vec or not posting_vec:
        return policy.skills.neutral
    return min(1.0, policy.skills.gain * cosine(profile_vec, posting_vec))


def detail(profile_vec: dict[str, float], posting_vec: dict[str, float], value: float) -> str:
    if not profile_vec or not posting_vec:
        return "技能信息不足"
    common = sorted(set(profile_vec) & set(posting_vec), key=lambda t: (-posting_vec[t], t))[:3]
    if common and value >= 0.5:
        return "技能对口：" + "、".join(common)
    if common:
        return "技能相关：" + "、".join(common)
    return "技能不完全对口"
