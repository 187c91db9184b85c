"""The funnel's state machine: every illegal step has a reason, every repeat changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.campaign.funnel import STEPS, current, decide

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def steps(*names: str) -> dict[str, datetime]:
    return dict.fromkeys(names, T0)


@pytest.mark.parametrize(
    ("taken", "step", "reason"),
    [
        ((), "hired", "尚未向该求职者推荐此岗位"),
        ((), "interviewed", "尚未向该求职者推荐此岗位"),
        ((), "interested", "尚未向该求职者推荐此岗位"),
        (("recommended",), "interviewed", "求职者尚未表示有意向，不能安排面试"),
        (("recommended",), "hired", "求职者尚未表示有意向，不能登记入职"),
        (("recommended", "interested"), "hired", "尚未面试，不能登记入职"),
        (("recommended", "declined"), "interviewed", "求职者尚未表示有意向，不能安排面试"),
        (("recommended", "interested"), "stable_30d", "尚未入职，不能登记稳岗"),
        (("recommended", "interested", "interviewed"), "left", "尚未入职，不能登记离职"),
        (
            ("recommended", "interested", "interviewed", "hired"),
            "stable_90d",
            "尚未登记30天稳岗，不能登记90天稳岗",
        ),
        (("recommended", "interested", "interviewed"), "declined", "已面试，求职者的意向不能再更改"),
        (
            ("recommended", "interested", "interviewed", "hired", "left"),
            "stable_30d",
            "求职者已离职，此记录已结束",
        ),
        ((), "promoted", "未知的环节：promoted"),
    ],
)
def test_every_illegal_step_is_refused_with_its_reason(
    taken: tuple[str, ...], step: str, reason: str
) -> None:
    decision = decide(steps(*taken), step, T0)
    assert (decision.outcome, decision.reason) == ("illegal", reason)


def test_stable_marks_wait_for_their_days() -> None:
    hired = {"recommended": T0, "interested": T0, "interviewed": T0, "hired": T0}
    assert decide(hired, "stable_30d", T0 + timedelta(days=29)).reason == "入职未满30天，不能登记30天稳岗"
    assert decide(hired, "stable_30d", T0 + timedelta(days=30)).outcome == "accept"
    both = {**hired, "stable_30d": T0 + timedelta(days=30)}
    assert decide(both, "stable_90d", T0 + timedelta(days=89)).outcome == "illegal"
    assert decide(both, "stable_90d", T0 + timedelta(days=90)).outcome == "accept"


def test_the_happy_path_is_accepted_and_every_repeat_is_a_repeat() -> None:
    path = ["recommended", "viewed", "interested", "interviewed", "hired", "stable_30d", "stable_90d", "left"]
    taken: dict[str, datetime] = {}
    at = T0
    for step in path:
        at += timedelta(days=45)
        assert decide(taken, step, at).outcome == "accept", step
        taken[step] = at
        assert decide(taken, step, at).outcome == "repeat"
        assert current(taken) == step or (step == "viewed" and current(taken) == "viewed")
    assert set(path) <= set(STEPS)


def test_a_seeker_may_change_their_answer_before_the_interview() -> None:
    taken = {"recommended": T0, "declined": T0 + timedelta(hours=1)}
    assert current(taken) == "declined"
    assert decide(taken, "interested", T0 + timedelta(hours=2)).outcome == "accept"
    taken["interested"] = T0 + timedelta(hours=2)
    assert current(taken) == "interested"
    assert decide(taken, "interviewed", T0 + timedelta(hours=3)).outcome == "accept"
