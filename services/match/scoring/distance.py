"""Near-home preference (家门口就业): the score halves every ``half_km`` kilometres.

A smooth decay rather than steps, so that 28 km and 32 km rank close together, and a job
next door always beats one across the county. Being monotone, the same formula at a county's
distance bounds every score beyond it, which is what lets the index stop searching early.
"""

from __future__ import annotations

from .arrays import Num
from .policy import Policy


def scores(distance_km: Num, policy: Policy) -> Num:
    return 0.5 ** (distance_km / policy.distance.half_km)


def score(distance_km: float, policy: Policy) -> float:
    return float(scores(distance_km, policy))


def detail(distance_km: float, same_county: bool) -> str:
    km = max(1, round(distance_km))
    return f"距家约{km}公里（本县区）" if same_county else f"距家约{km}公里"
