"""Which step an order may take next, and why not: pure, so every rule is tested without a server.

filed ──dispatch──▶ dispatched ──accept──▶ accepted ──report…──▶ fulfilled
                       │  ▲                   (filled reaches the headcount)
                   decline│dispatch (another agency)
                       ▼  │
                     declined
filed / dispatched / declined / accepted ──cancel──▶ cancelled
"""

from __future__ import annotations

from typing import Literal

Status = Literal["filed", "dispatched", "accepted", "declined", "fulfilled", "cancelled"]
Step = Literal["dispatch", "accept", "decline", "report", "cancel"]

ALLOWED: dict[Step, tuple[Status, ...]] = {
    "dispatch": ("filed", "declined"),
    "accept": ("dispatched",),
    "decline": ("dispatched",),
    "report": ("accepted",),
    "cancel": ("filed", "dispatched", "declined", "accepted"),
}
WHY_NOT: dict[Status, str] = {
    "filed": "订单尚未派给机构",
    "dispatched": "订单已派给机构，等待机构回复",
    "accepted": "机构已接单",
    "declined": "机构已拒单，请重新派单",
    "fulfilled": "订单已完成",
    "cancelled": "订单已取消",
}


def refusal(status: Status, step: Step) -> str | None:
    """None when ``step`` may follow ``status``; else the reason, in Chinese, for the 409."""
    if status in ALLOWED[step]:
        return None
    return WHY_NOT[status]


def after(status: Status, step: Step, *, filled: int = 0, headcount: int = 0) -> Status:
    """The status a legal step leads to (a report fulfils the order once filled reaches headcount)."""
    if step == "report":
        return "fulfilled" if filled >= headcount else "accepted"
    return {"dispatch": "dispatched", "accept": "accepted", "decline": "declined", "cancel": "cancelled"}[
        step
    ]  # type: ignore[return-value]
