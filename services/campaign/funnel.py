"""The hiring funnel of one (seeker, posting) pair as a plain state machine: no I/O.

A pair's state is the set of steps it has taken, each with its time. ``decide`` says whether a
new step is accepted, is a repeat (idempotent: nothing is written, nothing is published), or is
illegal — with the reason in Chinese, because an HR manager or an official reads it in a 409.

The order mirrors the seeds' funnel (推荐 → 意向 → 面试 → 入职 → 稳定在岗): an interview needs the
seeker's "interested", a hire needs an interview, the 30-day mark needs a hire at least 30 days
old, the 90-day mark the 30-day one. Leaving ends the pair: no step follows it. An answer may
change before the interview (a seeker who declined may call back interested, and the reverse);
after an interview only the employer's and the officials' steps move the pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from shared.events import FunnelStepName

STEPS: tuple[FunnelStepName, ...] = get_args(FunnelStepName)  # in funnel order, defined once

LABELS: dict[str, str] = {
    "recommended": "推荐",
    "viewed": "查看",
    "interested": "有意向",
    "declined": "不感兴趣",
    "interviewed": "面试",
    "hired": "入职",
    "stable_30d": "稳岗30天",
    "stable_90d": "稳岗90天",
    "left": "离职",
}

# What must have happened before a step, and the reason given when it has not.
_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "recommended": (),
    "viewed": (("recommended", "尚未向该求职者推荐此岗位"),),
    "interested": (("recommended", "尚未向该求职者推荐此岗位"),),
    "declined": (("recommended", "尚未向该求职者推荐此岗位"),),
    "interviewed": (
        ("recommended", "尚未向该求职者推荐此岗位"),
        ("interested", "求职者尚未表示有意向，不能安排面试"),
    ),
    "hired": (
        ("recommended", "尚未向该求职者推荐此岗位"),
        ("interested", "求职者尚未表示有意向，不能登记入职"),
        ("interviewed", "尚未面试，不能登记入职"),
    ),
    "stable_30d": (("hired", "尚未入职，不能登记稳岗"),),
    "stable_90d": (("hired", "尚未入职，不能登记稳岗"), ("stable_30d", "尚未登记30天稳岗，不能登记90天稳岗")),
    "left": (("hired", "尚未入职，不能登记离职"),),
}

STABLE_DAYS = {"stable_30d": 30, "stable_90d": 90}


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Literal["accept", "repeat", "illegal"]
    reason: str = ""


ACCEPT = Decision("accept")
REPEAT = Decision("repeat")


def illegal(reason: str) -> Decision:
    return Decision("illegal", reason)


def decide(taken: Mapping[str, datetime], step: str, at: datetime) -> Decision:
    """Whether ``step`` at ``at`` may follow the steps already ``taken`` (step -> when)."""
    if step not in _NEEDS:
        return illegal(f"未知的环节：{step}")
    if step in taken:  # each step once per pair: a repeat writes and publishes nothing
        return REPEAT
    if "left" in taken:
        return illegal("求职者已离职，此记录已结束")
    for needed, reason in _NEEDS[step]:
        if needed not in taken:
            return illegal(reason)
    if step in ("interested", "declined") and "interviewed" in taken:
        return illegal("已面试，求职者的意向不能再更改")
    if step == "interviewed" and _latest_answer(taken) == "declined":
        return illegal("求职者已表示不感兴趣，不能安排面试")
    if step in STABLE_DAYS:
        days = STABLE_DAYS[step]
        if at < taken["hired"] + timedelta(days=days):
            return illegal(f"入职未满{days}天，不能登记{days}天稳岗")
    return ACCEPT


def _latest_answer(taken: Mapping[str, datetime]) -> str | None:
    answers = [(taken[s], s) for s in ("interested", "declined") if s in taken]
    return max(answers)[1] if answers else None


def current(taken: Mapping[str, datetime]) -> str | None:
    """The furthest step of the pair, as shown in lists ("left" and the latest answer included)."""
    if "left" in taken:
        return "left"
    for step in ("stable_90d", "stable_30d", "hired", "interviewed"):
        if step in taken:
            return step
    answer = _latest_answer(taken)
    if answer:
        return answer
    for step in ("viewed", "recommended"):
        if step in taken:
            return step
    return None
