"""Invitations to recruitment events (精准推送) in the inbox, pushed like recommendations.

An invitation (match's ``fair.invited``) becomes one inbox item, ``_id = "<profile>:fair:<fair>"``,
with ``kind: "invitation"``: the ordinary recommendation machinery then schedules its deliveries
once ever and the worker sends them under the same rules (consent, no SMS in quiet hours, the
daily cap, retries), so a seeker is never pushed more because a fair was announced. The first
invitation is inserted; later ones (the fair was edited) refresh the item's text and never push
again. Seekers register through the fair's link, not by replying: notify refuses a reply to an
invitation, so that no "interested" reaches match or the funnel for a posting that is not one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.notify import documents as d
from services.notify.consumer import NotifyHandler
from services.notify.render import PREFIX, fit_notice
from shared.consume import EventRouter, Routes
from shared.events import FairInvitation, FairInvited, MatchView, PostingSummary
from shared.models import Shift

INVITATION = "invitation"
FAIR_PREFIX = "fair:"
SEP = " · "
KIND_LABELS = {
    "job_fair": "招聘会",
    "park_fair": "园区专场招聘会",
    "village_fair": "送岗下乡招聘会",
    "night_market": "夜市招聘会",
    "online": "网络招聘会",
    "livestream": "直播带岗",
}


def fair_posting_id(fair_id: str) -> str:
    """The inbox item's "posting" slot: a fair is one item, never confused with a posting id."""
    return f"{FAIR_PREFIX}{fair_id}"


def when_text(at: datetime, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def as_match(invitation: FairInvitation, tz: ZoneInfo) -> MatchView:
    """The invitation in the shape the inbox and the worker read."""
    where = invitation.link or SEP.join(p for p in (invitation.place, invitation.address) if p)
    fits = "、".join(invitation.postings[:3]) + ("等" if len(invitation.postings) > 3 else "")
    reason = SEP.join(p for p in (when_text(invitation.starts_at, tz), where, f"适合您的岗位：{fits}") if p)
    return notice_view(
        invitation.profile_id,
        fair_posting_id(invitation.fair_id),
        reason,
        title=invitation.title,
        employer=KIND_LABELS.get(invitation.kind, "招聘会"),
        place=invitation.place,
        address=invitation.address,
    )


def notice_view(
    profile_id: str,
    item_id: str,
    reason: str,
    *,
    title: str,
    employer: str,
    place: str,
    address: str | None = None,
) -> MatchView:
    """A notice (fair invitation, bus seat) in the shape the inbox and the worker read: an item
    with no score, factors or wage, its text in ``reason``."""
    return MatchView(
        match_id=d.recommendation_id(profile_id, item_id),
        profile_id=profile_id,
        posting_id=item_id,
        score=0.0,
        rank=0,
        factors=[],
        reason=reason,
        posting=PostingSummary(
            title=title,
            employer=employer,
            wage_min=0,
            wage_max=0,
            shift=Shift.day,
            place=place,
            address=address,
        ),
    )


def render_invitation(display_name: str, rec: dict[str, Any], *, max_chars: int = 120) -> str:
    """The pushed text: who is invited to what, when, where, which postings fit; no personal data."""
    posting = rec.get("posting") or {}
    head = f"{PREFIX}{display_name or '求职者'}您好，邀请您参加{posting.get('title', '招聘会')}："
    return fit_notice(head, str(rec.get("reason", "")), "。报名请点收件箱中的邀请。", max_chars=max_chars)


class InvitationInbox(EventRouter):
    def __init__(self, handler: NotifyHandler, tz: ZoneInfo) -> None:
        self.handler = handler
        self.tz = tz  # the seekers' local time, for the date in the text

    def routes(self) -> Routes:
        return {FairInvited: self.on_invited}

    async def on_invited(self, event: FairInvited) -> None:
        invitation = event.payload
        match = as_match(invitation, self.tz)
        doc = d.recommendation_doc(match, now=self.handler.now(), event_at=event.occurred_at)
        doc |= {"kind": INVITATION, "fair_id": invitation.fair_id, "starts_at": invitation.starts_at}
        # Marked an invitation before anything can push it; on_match then schedules its
        # deliveries once (or refreshes the text of one known already).
        await self.handler.recommendations.insert(doc)
        await self.handler.on_match(match, event.occurred_at)
