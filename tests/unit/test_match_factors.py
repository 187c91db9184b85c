"""Each soft factor on its own: direction and bounds."""

from __future__ import annotations

import numpy as np
import pytest

from services.match.scoring import benefits, distance, load_policy, priority, shift, skills, text, wage

POLICY = load_policy()


def test_distance_decays_smoothly_from_home() -> None:
    near, mid, far = (distance.score(d, POLICY) for d in (0, 30, 120))
    assert near == 1.0 and mid == pytest.approx(0.5) and 0 < far < mid < near
    assert distance.detail(69.7, False) == "距家约70公里"


def test_wage_above_desire_scores_high_and_below_decays() -> None:
    assert wage.score(4000, 5000, 3500, POLICY) == 1.0
    covers = wage.score(3000, 5000, 4000, POLICY)
    below = wage.score(3000, 3500, 4000, POLICY)
    far_below = wage.score(2000, 2500, 4000, POLICY)
    assert 1.0 > covers > below > far_below == 0.0
    assert wage.score(3000, 4000, None, POLICY) == POLICY.wage.no_desire
    assert wage.detail(3800, 5200, 3500) == "月薪3800–5200元，高于期望"
    assert "低于期望" in wage.detail(2500, 3000, 4000)


def test_skills_synonyms_meet() -> None:
    def vec(s: str) -> dict[str, float]:
        return text.skill_vector([(s, 1.0)], 16)

    forklift = skills.score(vec("会开叉车"), vec("叉车司机"), POLICY)
    unrelated = skills.score(vec("会开叉车"), vec("客服专员 话务"), POLICY)
    assert forklift == 1.0 and unrelated == 0.0
    assert skills.score({}, vec("电工"), POLICY) == POLICY.skills.neutral
    assert text.tokens("品检员") == text.tokens("质检") == ("质检",)
    assert text.tokens("操作工") == text.tokens("流水线") == ("普工",)
    assert text.certificate("低压电工证") == text.certificate("电工证") == "电工证"


def test_shift_suits_availability_and_care() -> None:
    assert shift.score("weekdays_only", False, "weekday_day", POLICY) == 1.0
    assert shift.score("any", True, "weekday_day", POLICY) > shift.score("any", True, "night", POLICY)
    assert shift.score("any", True, "night", POLICY) < shift.score("any", False, "night", POLICY)
    assert text.implies_care("方便照顾在恩施读书的孩子")


def test_benefits_needed_and_room_and_board_for_the_far() -> None:
    given = frozenset({"social_insurance", "room_and_board"})
    assert benefits.score(frozenset({"social_insurance"}), given, POLICY) == 1.0
    assert benefits.score(frozenset({"room_and_board"}), frozenset({"dormitory"}), POLICY) == 0.5
    assert benefits.score(frozenset(), given, POLICY) > benefits.score(frozenset(), frozenset(), POLICY)
    assert "room_and_board" in benefits.needed(frozenset(), 200, POLICY)
    assert "room_and_board" not in benefits.needed(frozenset(), 10, POLICY)


def test_priority_boosts_groups_and_key_enterprises() -> None:
    none = priority.score([], False, POLICY)
    assert none == 0.0
    assert priority.score(["poverty_alleviated"], False, POLICY) > none
    assert priority.score([], True, POLICY) > none
    assert priority.score(["poverty_alleviated", "zero_employment_family"], True, POLICY) == 1.0


def test_each_formula_gives_the_same_on_one_pair_and_on_columns() -> None:
    """The index runs ``scores`` on columns, ``score_pair`` on numbers: one text, same values."""
    rng = np.random.default_rng(3)
    n = 500
    wmin = rng.integers(0, 6000, n)
    wmax = wmin + rng.integers(0, 3000, n)
    desired = rng.choice([0, 2500, 4000, 6000], n)
    needs = rng.integers(0, 16, n)
    given = rng.integers(0, 16, n)
    dist = rng.uniform(0, 300, n)
    avail = rng.integers(0, 3, n)
    care = rng.random(n) < 0.5
    shifts = rng.integers(0, 4, n)
    columns = (
        wage.scores(wmin, wmax, desired, POLICY),
        benefits.scores(benefits.needed_masks(needs, dist, POLICY), given, POLICY),
        shift.scores(avail, care, shifts, POLICY),
        distance.scores(dist, POLICY),
    )
    for i in range(n):
        one = (
            wage.scores(int(wmin[i]), int(wmax[i]), int(desired[i]), POLICY),
            benefits.scores(
                benefits.needed_masks(int(needs[i]), float(dist[i]), POLICY), int(given[i]), POLICY
            ),
            shift.scores(int(avail[i]), bool(care[i]), int(shifts[i]), POLICY),
            distance.scores(float(dist[i]), POLICY),
        )
        for col, value in zip(columns, one, strict=True):
            assert float(col[i]) == pytest.approx(float(value), abs=1e-12)
