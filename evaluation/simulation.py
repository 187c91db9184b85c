"""Rounds of a campaign: recommend → seekers accept their best acceptable offer → re-recommend.

A seeker accepts the recommended posting with the highest hidden utility above zero (see
``preferences``) that an employer may lawfully hire them for and that still has an open
position; seekers answer in a random (seeded) order, so that a popular posting fills up and the
late-comers fall back to their next choice. Hires update the postings' filled counts and take
the seeker out of the pool; the recommender is told, and recommends again to those left. A
seeker left without a job answers "not interested" to every recommendation they would not take
(no positive utility, or not lawful), as they would in the inbox; a recommender that listens
(``declined``: the matcher) can then offer the next best, the others simply sample again.

What is measured, per recommender (see ``docs/quality.md``): hard-constraint violations over
all rounds (``constraints``), coverage, nDCG@5 and congestion of the first round (the ranking
shown to the full pool), and the hires, commutes and filled headcount after all rounds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from evaluation import metrics
from evaluation.constraints import REASONS, violations
from evaluation.generator import CAMPAIGN_YEAR, Campaign
from evaluation.preferences import Preferences, county_distances, lawful, utility

Recs = dict[int, list[int]]


class Recommender(Protocol):
    name: str

    def recommend(self, active: Sequence[int], open_left: NDArray[np.int64]) -> Recs: ...

    def hired(self, pairs: Sequence[tuple[int, int]], open_left: NDArray[np.int64]) -> None: ...


@dataclass(slots=True)
class Result:
    name: str
    violations: int
    violations_by_reason: dict[str, int]
    recommendations: int
    coverage: float  # share of seekers with a feasible posting who got ≥1 recommendation (round 1)
    mean_commute_km: float  # over accepted jobs
    hires: int
    headcount_filled: float  # hires / open positions at the start
    ndcg5: float  # round 1, mean over seekers with an acceptable lawful job
    max_congestion: float  # round 1: max over postings of recommendations / open positions
    gini: float  # round 1: Gini of recommendations per open posting
    hires_priority: int  # hires of seekers in any priority group
    hires_by_round: list[int] = field(default_factory=list)
    # coverage of what the recommender showed before wider offers (day 0), if it says
    coverage_before_wider: float | None = None


@dataclass(slots=True)
class World:
    """What the simulation knows and the recommenders do not: every seeker's utilities."""

    campaign: Campaign
    utilities: NDArray[np.float64]  # seekers × postings
    lawful: NDArray[np.bool_]  # seekers × postings

    @classmethod
    def build(cls, campaign: Campaign, seed: int) -> World:
        p, q = campaign.profile_arrays, campaign.posting_arrays
        prefs = Preferences.draw(p, seed)
        util = np.stack([utility(prefs, p, i, q) for i in range(len(p))]) if len(p) else np.zeros((0, len(q)))
        law = (
            np.stack([lawful(p, i, q, CAMPAIGN_YEAR) for i in range(len(p))])
            if len(p)
            else np.zeros((0, len(q)), dtype=bool)
        )
        return cls(campaign, util, law)


def simulate(world: World, recommender: Recommender, *, rounds: int = 3, seed: int = 0) -> Result:
    c = world.campaign
    p, q = c.profile_arrays, c.posting_arrays
    rng = np.random.default_rng([seed, 2])
    open_left = (q.headcount - q.filled).astype(np.int64)
    start_open = int(open_left.sum())
    active = list(range(len(p)))
    by_reason: Counter[str] = Counter()
    n_recs = 0
    hires: list[tuple[int, int]] = []
    hires_by_round: list[int] = []
    first: dict[str, float] = {}

    for r in range(rounds):
        if not active:
            hires_by_round.append(0)
            continue
        recs = recommender.recommend(active, open_left.copy())
        n_recs += sum(len(v) for v in recs.values())
        for i, js in recs.items():
            if not js:
                continue
            bad = violations(p, i, q, open_left, CAMPAIGN_YEAR)
            for reason in REASONS:
                by_reason[reason] += int(bad[reason][js].sum())
        if r == 0:
            first = _first_round(world, recs, active, open_left)
            before = getattr(recommender, "before_wider", None)  # optional: the day-0 lists
            if before is not None:
                first["coverage_before_wider"] = _first_round(world, before, active, open_left)["coverage"]

        this_round: list[tuple[int, int]] = []
        for i in rng.permutation(active):
            best, best_u = -1, 0.0
            for j in recs.get(int(i), []):
                u = world.utilities[i, j]
                if open_left[j] > 0 and world.lawful[i, j] and u > best_u:
                    best, best_u = j, u
            if best >= 0:
                open_left[best] -= 1
                this_round.append((int(i), best))
        hired_now = {i for i, _ in this_round}
        active = [i for i in active if i not in hired_now]
        hires.extend(this_round)
        hires_by_round.append(len(this_round))
        recommender.hired(this_round, open_left.copy())
        declined = getattr(recommender, "declined", None)  # optional: (seeker, posting) pairs
        if callable(declined):
            declined(
                [
                    (i, j)
                    for i in active
                    for j in recs.get(i, [])
                    if not (world.lawful[i, j] and world.utilities[i, j] > 0)
                ]
            )

    km = county_distances()
    commutes = [km[p.county[i], q.county[j]] for i, j in hires]
    violation_total = sum(by_reason.values())
    return Result(
        name=recommender.name,
        violations=violation_total,
        violations_by_reason={k: by_reason[k] for k in REASONS},
        recommendations=n_recs,
        coverage=first["coverage"],
        mean_commute_km=float(np.mean(commutes)) if commutes else 0.0,
        hires=len(hires),
        headcount_filled=len(hires) / start_open if start_open else 0.0,
        ndcg5=first["ndcg5"],
        max_congestion=first["max_congestion"],
        gini=first["gini"],
        hires_priority=sum(1 for i, _ in hires if p.groups[i] != 0),
        hires_by_round=hires_by_round,
        coverage_before_wider=first.get("coverage_before_wider"),
    )


def _first_round(
    world: World, recs: Recs, active: Sequence[int], open_left: NDArray[np.int64]
) -> dict[str, float]:
    c = world.campaign
    p, q = c.profile_arrays, c.posting_arrays
    with_feasible = 0
    covered = 0
    ndcgs: list[float] = []
    per_posting = np.zeros(len(q), dtype=np.int64)
    for i in active:
        js = recs.get(i, [])
        for j in js:
            per_posting[j] += 1
        ok = np.ones(len(q), dtype=bool)
        for mask in violations(p, i, q, open_left, CAMPAIGN_YEAR).values():
            ok &= ~mask
        if ok.any():
            with_feasible += 1
            covered += bool(js)
        gains = np.where(world.lawful[i] & (open_left > 0), np.maximum(world.utilities[i], 0.0), 0.0)
        score = metrics.ndcg_at_k([float(gains[j]) for j in js], gains.tolist(), 5)
        if score is not None:
            ndcgs.append(score)
    open_idx = np.flatnonzero(open_left > 0)
    return {
        "coverage": covered / with_feasible if with_feasible else 0.0,
        "ndcg5": float(np.mean(ndcgs)) if ndcgs else 0.0,
        "max_congestion": metrics.max_congestion(
            per_posting[open_idx].tolist(), open_left[open_idx].tolist()
        ),
        "gini": metrics.gini(per_posting[open_idx].tolist()),
    }


def as_dict(result: Result) -> dict[str, object]:
    return asdict(result)
