"""Wage fit: a posting paying at least the desired wage scores high; below it, the score decays.

A range that only reaches the desired wage at its top scores less than one whose floor does,
because seekers learn that the top of an advertised range is for the few.
"""

from __future__ import annotations

from shared.vocabulary import wage_text

from .arrays import Num, maximum, where
from .policy import Policy


def scores(wage_min: Num, wage_max: Num, desired: Num, policy: Policy) -> Num:
    """The fit of each wage range to each desired wage; a desired wage of 0 means none given."""
    wanted = desired > 0
    inside = 0.7 + 0.3 * (wage_max - desired) / maximum(wage_max - wage_min, 1.0)
    gap = (desired - wage_max) / where(wanted, desired, 1.0)
    below = 0.6 * maximum(0.0, 1.0 - gap / policy.wage.tolerance)
    fit = where(wage_min >= desired, 1.0, where(wage_max >= desired, inside, below))
    return where(wanted, fit, policy.wage.no_desire)


def score(wage_min: int, wage_max: int, desired: int | None, policy: Policy) -> float:
    return float(scores(wage_min, wage_max, desired or 0, policy))


def best(desired: int | None, policy: Policy) -> float:
    """The most any wage can score for this desired wage (``None``: not known yet)."""
    if desired is None:
        return max(1.0, policy.wage.no_desire)
    return 1.0 if desired else policy.wage.no_desire


def detail(wage_min: int, wage_max: int, desired: int | None, piece_rate: bool = False) -> str:
    base = wage_text(wage_min, wage_max, piece_rate)
    if not desired:
        return base
    if wage_min > desired:
        return f"{base}，高于期望"
    if wage_min == desired or wage_max >= desired:
        return f"{base}，符合期望"
    return f"{base}，低于期望{desired}元"
