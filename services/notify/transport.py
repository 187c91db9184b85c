"""Transport notices (点对点接送) in the inbox, pushed like fair invitations.

Campaign's ``transport.assigned`` (one seeker's seat on a planned bus) becomes one inbox item,
``_id = "<profile>:transport:<plan>"``, with ``kind: "transport"``. As for invitations, the
ordinary machinery schedules its deliveries once ever and the worker sends them under the
same rules (consent, quiet hours, the daily cap, retries): a plan re-published, or re-planned,
never pushes a seeker twice. A seat that moved (another bus, point or time) updates the item,
so the inbox always shows the current seat, but sends no second SMS: the one push a seeker
gets per plan is a rule officials can explain, and a late change is phoned through by the
bureau from its manifest, which it reprints anyway. A seeker left out of a later version
(``transport.released``) has the item withdrawn and any push not yet sent cancelled. A notice is
no posting: notify refuses a reply to it, and opening it is no ``funnel.viewed``.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from services.notify import documents as d
from services.notify.consumer import NotifyHandler
from services.notify.invitations import SEP, notice_view, when_text
from services.notify.render import PREFIX, fit_notice
from shared.consume import EventRouter, Routes
from shared.events import (
    MatchView,
    PostingSummary,
    TransportAssigned,
    TransportNotice,
    TransportReleased,
)
from shared.models import Shift

TRANSPORT = "transport"
TRANSPORT_PREFIX = "transport:"
RELEASED = "乘车安排已取消"


def transport_posting_id(plan_id: str) -> str:
    """The inbox item's "posting" slot: one item per plan, never confused with a posting id."""
    return f"{TRANSPORT_PREFIX}{plan_id}"


def as_match(notice: TransportNotice, tz: ZoneInfo) -> MatchView:
    """The notice in the shape the inbox and the worker read: when · where · which bus · whither."""
    reason = SEP.join(
        (when_text(notice.pickup_at, tz), notice.point, f"{notice.bus}号车", f"前往{notice.destination}")
    )
    return notice_view(
        notice.profile_id,
        transport_posting_id(notice.plan_id),
        reason,
        title=notice.title,
        employer=notice.destination,
        place=notice.point,
    )


def render_transport(display_name: str, rec: dict[str, Any], *, max_chars: int = 120) -> str:
    """The pushed text: when and where to board which bus, and whither; no personal data."""
    posting = rec.get("posting") or {}
    head = f"{PREFIX}{display_name or '求职者'}您好，{posting.get('title', '就业直通车')}乘车通知："
    # dropped first when too long: the destination, then the bus; the time and place must fit
    return fit_notice(head, str(rec.get("reason", "")), "，请提前10分钟到达。", max_chars=max_chars)


class TransportInbox(EventRouter):
    def __init__(self, handler: NotifyHandler, tz: ZoneInfo) -> None:
        self.handler = handler
        self.tz = tz

    def routes(self) -> Routes:
        return {TransportAssigned: self.on_assigned, TransportReleased: self.on_released}

    async def on_assigned(self, event: TransportAssigned) -> None:
        notice = event.payload
        match = as_match(notice, self.tz)
        doc = d.recommendation_doc(match, now=self.handler.now(), event_at=event.occurred_at)
        extra = {"kind": TRANSPORT, "plan_id": notice.plan_id}
        # Marked a transport notice before anything can push it; on_match then schedules its
        # deliveries once (or refreshes the text of the item known already).
        await self.handler.recommendations.insert(doc | extra)
        await self.handler.on_match(match, event.occurred_at)

    async def on_released(self, event: TransportReleased) -> None:
        """Her seat is gone (the plan was made again without her): the item is withdrawn and a
        push not yet sent is cancelled; seated again later, the item comes back, unpushed."""
        gone = event.payload
        match = MatchView(
            match_id=d.recommendation_id(gone.profile_id, transport_posting_id(gone.plan_id)),
            profile_id=gone.profile_id,
            posting_id=transport_posting_id(gone.plan_id),
            score=0.0,
            rank=0,
            factors=[],
            reason="",
            posting=PostingSummary(title="", employer="", wage_min=0, wage_max=0, shift=Shift.day),
            withdrawn_reason=RELEASED,
        )
        await self.handler.on_withdrawn(match, event.occurred_at)
