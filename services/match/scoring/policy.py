"""The matching policy: weights and limits that officials tune without touching code.

Loaded from ``services/match/policy.toml``, or from the file the caller names (the service
passes ``MatchSettings.policy_path``, i.e. ``MATCH_POLICY_PATH``; scoring itself reads no
environment, so what a test or the eval scores with is what it passed), and validated, so a
typo in a weight fails at start with the field named, not silently at the first match.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.models import Group

T = TypeVar("T")

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "policy.toml"

FACTORS = ("distance", "wage", "skills", "shift", "benefits", "priority")
SHIFTS = ("day", "weekday_day", "rotating", "night")
AVAILABILITIES = ("any", "day_only", "weekdays_only")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Strict):
    distance: float = Field(0.30, ge=0)
    wage: float = Field(0.20, ge=0)
    skills: float = Field(0.20, ge=0)
    shift: float = Field(0.10, ge=0)
    benefits: float = Field(0.10, ge=0)
    priority: float = Field(0.10, ge=0)

    @model_validator(mode="after")
    def _positive(self) -> Weights:
        if self.total <= 0:
            raise ValueError("at least one weight must be positive")
        return self

    @property
    def total(self) -> float:
        return sum(getattr(self, f) for f in FACTORS)

    def normalised(self, factor: str) -> float:
        return float(getattr(self, factor)) / self.total


class DistancePolicy(_Strict):
    half_km: float = Field(30.0, gt=0)
    far_km: float = Field(60.0, ge=0)
    same_county_km: float = Field(0.0, ge=0)


class WagePolicy(_Strict):
    tolerance: float = Field(0.30, gt=0, le=1)
    no_desire: float = Field(0.7, ge=0, le=1)


class SkillsPolicy(_Strict):
    gain: float = Field(2.5, gt=0)
    neutral: float = Field(0.35, ge=0, le=1)
    max_tokens: int = Field(16, ge=1, le=64)


ShiftRow = dict[str, float]


def _default_shift() -> dict[str, ShiftRow]:
    return {
        "any": {"day": 0.9, "weekday_day": 0.9, "rotating": 0.6, "night": 0.5},
        "any_with_care": {"day": 0.8, "weekday_day": 1.0, "rotating": 0.35, "night": 0.2},
        "day_only": {"day": 0.9, "weekday_day": 1.0, "rotating": 0.0, "night": 0.0},
        "weekdays_only": {"day": 0.0, "weekday_day": 1.0, "rotating": 0.0, "night": 0.0},
    }


class BenefitsPolicy(_Strict):
    no_need: float = Field(0.6, ge=0, le=1)
    social_insurance_bonus: float = Field(0.4, ge=0, le=1)


class PriorityPolicy(_Strict):
    key_enterprise: float = Field(0.5, ge=0, le=1)
    groups: dict[str, float] = Field(default_factory=dict)


class WiderPolicy(_Strict):
    """放宽推荐: a looking seeker left without any recommendation for ``after_days`` is offered
    the best postings the hard constraints allow, whatever the threshold or the regular capacity."""

    after_days: float = Field(7, ge=0)
    top_k: int = Field(3, ge=0, le=100)  # 0 switches wider offers off
    # wider offers one posting takes per open position, on top of its regular capacity
    capacity_multiple: float = Field(1.0, ge=0)

    def capacity(self, open_positions: int) -> int:
        return max(0, math.ceil(self.capacity_multiple * open_positions))


class FallbackPolicy(_Strict):
    """公益性岗位托底: who goes on the officials' list when no market posting fits."""

    after_days: float = Field(14, ge=0)
    groups: list[Group] = Field(default_factory=lambda: [Group.hard_to_employ, Group.zero_employment_family])
    nearest: int = Field(5, ge=1, le=100)  # postings examined to say what excluded them


class GigPolicy(_Strict):
    """零工: short jobs go only to seekers who take them, living at most ``max_km`` away."""

    max_km: float = Field(15, ge=0)


class Policy(_Strict):
    threshold: float = Field(0.45, ge=0, le=1)
    top_k: int = Field(5, ge=1, le=100)
    max_per_employer: int = Field(2, ge=1)
    capacity_multiple: float = Field(3, gt=0)
    update_epsilon: float = Field(0.01, ge=0)
    max_cascade: int = Field(200, ge=0)
    weights: Weights = Field(default_factory=Weights)  # type: ignore[arg-type]
    distance: DistancePolicy = Field(default_factory=DistancePolicy)  # type: ignore[arg-type]
    wage: WagePolicy = Field(default_factory=WagePolicy)  # type: ignore[arg-type]
    skills: SkillsPolicy = Field(default_factory=SkillsPolicy)  # type: ignore[arg-type]
    shift: dict[str, ShiftRow] = Field(default_factory=_default_shift)
    benefits: BenefitsPolicy = Field(default_factory=BenefitsPolicy)  # type: ignore[arg-type]
    priority: PriorityPolicy = Field(default_factory=PriorityPolicy)  # type: ignore[arg-type]
    wider: WiderPolicy = Field(default_factory=WiderPolicy)  # type: ignore[arg-type]
    fallback: FallbackPolicy = Field(default_factory=FallbackPolicy)  # type: ignore[arg-type]
    gig: GigPolicy = Field(default_factory=GigPolicy)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _shift_table(self) -> Policy:
        for row in (*AVAILABILITIES, "any_with_care"):
            if row not in self.shift:
                raise ValueError(f"shift.{row} is missing")
            for s in SHIFTS:
                value = self.shift[row].get(s)
                if value is None or not 0 <= value <= 1:
                    raise ValueError(f"shift.{row}.{s} must be a number between 0 and 1")
        return self

    def capacity(self, open_positions: int) -> int:
        """How many seekers one posting is recommended to."""
        return max(0, int(self.capacity_multiple * open_positions))


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate the policy file at ``path`` (default: the shipped ``policy.toml``)."""
    chosen = Path(path) if path else DEFAULT_PATH
    with chosen.open("rb") as fh:
        data = tomllib.load(fh)
    return Policy.model_validate(data)


def derived(build: Callable[[Policy], T]) -> Callable[[Policy], T]:
    """Cache what a formula derives from a policy (a lookup table), once per policy object.

    A policy is frozen, so its tables never go stale; but it holds dicts, so it cannot be a
    ``lru_cache`` key. Entries are kept by identity with the policy itself (so its id is not
    reused), and only the last few policies are kept: a process runs one, tests a handful.
    """
    cache: dict[int, tuple[Policy, T]] = {}

    def get(policy: Policy) -> T:
        hit = cache.get(id(policy))
        if hit is not None:
            return hit[1]
        value = build(policy)
        if len(cache) >= 8:
            del cache[next(iter(cache))]
        cache[id(policy)] = (policy, value)
        return value

    return get
