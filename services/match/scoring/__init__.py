"""Pair-by-pair scoring of a seeker against a posting: the reference path.

``score_pair`` is what every other path (the vectorised index, the benchmark's baseline) must
agree with. It takes the event views, checks the hard constraints, then weighs the soft
factors from ``policy.toml`` and explains the result in one Chinese sentence. The formulas it
runs (``constraints``, ``factors``) are the very ones the index runs on its columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.events import FactorScore, PostingView, ProfileMatchView

from . import benefits, distance, explain, factors, priority, shift, skills, wage
from .constraints import entity_violation, pair_violation, same_province
from .features import (
    PostingFeatures,
    ProfileFeatures,
    posting_features,
    profile_features,
)
from .features import distance as pair_distance
from .policy import FACTORS, Policy, load_policy
from .text import cosine

__all__ = [
    "PairScore",
    "Policy",
    "load_policy",
    "score_features",
    "score_pair",
]


@dataclass(frozen=True, slots=True)
class PairScore:
    score: float
    factors: list[FactorScore]
    reason: str
    distance_km: float


def score_features(
    profile: ProfileFeatures, posting: PostingFeatures, policy: Policy, *, year: int | None = None
) -> PairScore | None:
    """``score_pair`` on already derived features (lets callers derive a view once)."""
    year = year or date.today().year
    dist = pair_distance(profile, posting, policy)
    if entity_violation(profile, posting, dist) is not None or dist is None:
        return None
    rows = profile.row, posting.row
    if pair_violation(*rows, dist, same_province(profile, posting), year) is not None:
        return None
    same_county = (
        profile.place is not None
        and posting.place is not None
        and (profile.place.adcode == posting.place.adcode)
    )
    needs = benefits.needed(profile.needs, dist, policy)
    both_have_words = bool(profile.vector) and bool(posting.vector)
    dot = cosine(profile.vector, posting.vector) if both_have_words else 0.0
    values = [float(s) for s in factors.scores(*rows, dist, dot, policy)]
    details = (
        distance.detail(dist, same_county),
        wage.detail(posting.wage_min, posting.wage_max, profile.desired_wage, posting.piece_rate),
        skills.detail(profile.vector, posting.vector, values[FACTORS.index("skills")]),
        shift.detail(posting.shift),
        benefits.detail(needs, posting.benefits),
        priority.detail(profile.groups, posting.key_enterprise, policy),
    )
    breakdown = [
        FactorScore(factor=name, score=value, weight=weight, detail=text)
        for name, value, weight, text in zip(FACTORS, values, factors.weights(policy), details, strict=True)
    ]
    total = float(factors.total(values, policy))
    return PairScore(score=total, factors=breakdown, reason=explain.sentence(breakdown), distance_km=dist)


def score_pair(
    profile: ProfileMatchView, posting: PostingView, policy: Policy, *, year: int | None = None
) -> PairScore | None:
    """The score of one pair, or None when a hard constraint fails."""
    return score_features(
        profile_features(profile, policy), posting_features(posting, policy), policy, year=year
    )
