"""Pair-by-pair scoring of a seeker against a posting: the reference path.

``score_pair`` is what every other path (the vectorised index, the benchmark's baseline) must
agree with. It takes the event views, checks the hard constraints, then weighs the soft
factors from ``policy.toml`` and explains the result in one Chinese sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.events import FactorScore, PostingView, ProfileMatchView

from . import benefits, distance, explain, priority, shift, skills, wage
from .constraints import violation
from .features import PostingFeatures, ProfileFeatures, posting_features, profile_features
from .features import distance as pair_distance
from .policy import Policy, load_policy

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
    if violation(profile, posting, dist, year) is not None or dist is None:
        return None
    same_county = (
        profile.place is not None
        and posting.place is not None
        and (profile.place.adcode == posting.place.adcode)
    )
    w = policy.weights
    needs = benefits.needed(profile.needs, dist, policy)
    d_score = distance.score(dist, policy)
    wage_score = wage.score(posting.wage_min, posting.wage_max, profile.desired_wage, policy)
    skill_score = skills.score(profile.vector, posting.vector, policy)
    shift_score = shift.score(profile.availability, profile.care, posting.shift, policy)
    benefit_score = benefits.score(needs, posting.benefits, policy)
    priority_score = priority.score(profile.groups, posting.key_enterprise, policy)
    factors = [
        FactorScore(
            factor="distance",
            score=d_score,
            weight=w.normalised("distance"),
            detail=distance.detail(dist, same_county),
        ),
        FactorScore(
            factor="wage",
            score=wage_score,
            weight=w.normalised("wage"),
            detail=wage.detail(posting.wage_min, posting.wage_max, profile.desired_wage, posting.piece_rate),
        ),
        FactorScore(
            factor="skills",
            score=skill_score,
            weight=w.normalised("skills"),
            detail=skills.detail(profile.vector, posting.vector, skill_score),
        ),
        FactorScore(
            factor="shift",
            score=shift_score,
            weight=w.normalised("shift"),
            detail=shift.detail(posting.shift),
        ),
        FactorScore(
            factor="benefits",
            score=benefit_score,
            weight=w.normalised("benefits"),
            detail=benefits.detail(needs, posting.benefits),
        ),
        FactorScore(
            factor="priority",
            score=priority_score,
            weight=w.normalised("priority"),
            detail=priority.detail(profile.groups, posting.key_enterprise, policy),
        ),
    ]
    total = sum(f.score * f.weight for f in factors)
    return PairScore(score=total, factors=factors, reason=explain.sentence(factors), distance_km=dist)


def score_pair(
    profile: ProfileMatchView, posting: PostingView, policy: Policy, *, year: int | None = None
) -> PairScore | None:
    """The score of one pair, or None when a hard constraint fails."""
    return score_features(
        profile_features(profile, policy), posting_features(posting, policy), policy, year=year
    )
