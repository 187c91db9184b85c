import numpy as np

from evaluation.baselines import KeywordOnly, NearestFeasible, RandomFeasible
from evaluation.constraints import feasible, violations
from evaluation.generator import CAMPAIGN_YEAR, generate_campaign
from evaluation.matcher import PairwiseMatcher
from evaluation.simulation import World, simulate


def test_constraints_flag_what_they_should() -> None:
    c = generate_campaign(400, 80, seed=11)
    p, q = c.profile_arrays, c.posting_arrays
    open_left = (q.headcount - q.filled).astype(np.int64)
    open_left[0] = 0
    for i in range(len(p)):
        bad = violations(p, i, q, open_left, CAMPAIGN_YEAR)
        assert bad["closed"][0]
        ok = feasible(p, i, q, open_left, CAMPAIGN_YEAR)
        for j in np.flatnonzero(ok):
            post, prof = c.postings[j], c.profiles[i]
            assert set(post.requirements.certificates) <= set(prof.certificates)
            assert post.requirements.min_age <= CAMPAIGN_YEAR - prof.birth_year <= post.requirements.max_age
            if prof.availability == "weekdays_only":
                assert post.shift == "weekday_day"


def test_tiny_simulation_matcher_has_no_violations() -> None:
    c = generate_campaign(300, 40, seed=3)
    world = World.build(c, seed=3)
    matcher = PairwiseMatcher(c)
    result = simulate(world, matcher, rounds=2, seed=3)
    assert result.recommendations > 0 and result.hires > 0
    assert result.violations == 0, result.violations_by_reason
    assert result.max_congestion <= matcher.policy.capacity_multiple + 1e-9
    for cls in (RandomFeasible, NearestFeasible, KeywordOnly):
        r = simulate(world, cls(c, top_k=5, year=CAMPAIGN_YEAR, seed=3), rounds=2, seed=3)
        assert 0 <= r.ndcg5 <= 1 and 0 <= r.coverage <= 1
        if cls is not KeywordOnly:
            assert r.violations == 0


def test_declines_reach_the_engine_matcher_and_are_never_offered_again() -> None:
    from evaluation.matcher import EngineMatcher

    c = generate_campaign(300, 40, seed=3)
    world = World.build(c, seed=3)
    matcher = EngineMatcher(c)
    told: list[list[tuple[int, int]]] = []  # per round, the pairs declined after it
    shown: list[dict[int, list[int]]] = []  # per round, what was recommended
    inner_decline, inner_recommend = matcher.declined, matcher.recommend

    def declined(pairs: list[tuple[int, int]]) -> None:
        told.append(list(pairs))
        inner_decline(pairs)

    def recommend(active: list[int], open_left: np.ndarray) -> dict[int, list[int]]:
        shown.append(recs := inner_recommend(active, open_left))
        return recs

    matcher.declined, matcher.recommend = declined, recommend  # type: ignore[method-assign,assignment]
    result = simulate(world, matcher, rounds=3, seed=3)
    assert len(told) == 3 and told[0] and result.violations == 0
    for r, pairs in enumerate(told):
        for i, j in pairs:
            assert j in shown[r][i]  # a seeker declines only what they were shown
            assert not (world.lawful[i, j] and world.utilities[i, j] > 0)  # and would not take
        later = {(i, j) for recs in shown[r + 1 :] for i, js in recs.items() for j in js}
        assert not later & set(pairs)
    assert result.hires_by_round[1] > 0  # round 2 offers the next best, and some take it
