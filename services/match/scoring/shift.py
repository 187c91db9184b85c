"""How well a shift suits a seeker's availability and the care duties their own words imply.

A seeker who can work any time but mentions children or elders is scored with the
``any_with_care`` row: the weekday day shift (宝妈班) suits them best, nights worst.
"""

from __future__ import annotations

from .policy import Policy

NAMES = {
    "day": "白班",
    "weekday_day": "周一至周五白班，周末休息",
    "rotating": "两班倒",
    "night": "夜班",
}


def row(availability: str, care: bool) -> str:
    if availability == "any" and care:
        return "any_with_care"
    return availability if availability in ("any", "day_only", "weekdays_only") else "any"


def score(availability: str, care: bool, shift: str, policy: Policy) -> float:
    return float(policy.shift[row(availability, care)].get(shift, 0.0))


def detail(shift: str) -> str:
    return NAMES.get(shift, shift)
