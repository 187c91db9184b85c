"""Wage fit: a posting paying at least the desired wage scores high; below it, the score decays.

A range that only reaches the desired wage at its top scores less than one whose floor does,
because seekers learn that the top of an advertised range is for the few.
"""

from __future__ import annotations

from .policy import Policy


def score(wage_min: int, wage_max: int, desired: int | None, policy: Policy) -> float:
    if not desired:
        return policy.wage.no_desire
    if wage_min >= desired:
        return 1.0
    if wage_max >= desired:
        return 0.7 + 0.3 * (wage_max - desired) / max(wage_max - wage_min, 1)
    gap = (desired - wage_max) / desired
    return 0.6 * max(0.0, 1.0 - gap / policy.wage.tolerance)


def wage_text(wage_min: int, wage_max: int, piece_rate: bool = False) -> str:
    amount = f"{wage_min}元" if wage_min == wage_max else f"{wage_min}–{wage_max}元"
    return f"月薪{amount}" + ("（计件）" if piece_rate else "")


def detail(wage_min: int, wage_max: int, desired: int | None, piece_rate: bool = False) -> str:
    base = wage_text(wage_min, wage_max, piece_rate)
    if not desired:
        return base
    if wage_min > desired:
        return f"{base}，高于期望"
    if wage_min == desired or wage_max >= desired:
        return f"{base}，符合期望"
    return f"{base}，低于期望{desired}元"
