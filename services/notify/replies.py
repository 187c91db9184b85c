"""A seeker's answer to a recommendation, and their first look at it: the writes behind the
inbox reply, the SMS keyword reply and the inbox read, kept in one place so that every way of
answering is the same write and emits the same events (``feedback.replied`` to match and
campaign; ``funnel.viewed`` to campaign), through notify's outbox relay.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.notify import documents as d
from services.notify.invitations import INVITATION
from services.notify.transport import TRANSPORT
from shared.store.base import Doc, Store


class NoRecommendation(LookupError):
    """There is no such recommendation (a 404 in the inbox)."""


class Withdrawn(RuntimeError):
    """The recommendation was withdrawn: an answer no longer applies (a 409 in the inbox)."""


async def record_reply(store: Store, profile_id: str, posting_id: str, interested: bool, at: datetime) -> Doc:
    """Store the answer and mark it for publishing, in one update; the updated recommendation."""
    recs = store.collection(d.RECOMMENDATIONS)
    rec_id = d.recommendation_id(profile_id, posting_id)
    if not await recs.update(
        rec_id,
        set={"reply": {"interested": interested, "at": at}, "feedback_pending": True},
        inc={"feedback_seq": 1},  # the worker clears the mark only if no newer reply came since
        where={"status": "active"},
    ):
        if await recs.get(rec_id) is None:
            raise NoRecommendation(rec_id)
        raise Withdrawn(rec_id)
    doc = await recs.get(rec_id)
    assert doc is not None
    return doc


async def mark_viewed(store: Store, items: Iterable[dict[str, Any]], at: datetime) -> int:
    """The seeker has seen these recommendations: each one's first view is stored and marked for
    ``funnel.viewed``; a later look changes nothing (guarded on ``viewed_at`` still unset)."""
    recs = store.collection(d.RECOMMENDATIONS)
    marked = 0
    for item in items:
        if item.get("kind") in (INVITATION, TRANSPORT):
            continue  # a fair's invitation or a bus seat is no funnel pair
        if item.get("viewed_at") is None and item.get("status") == "active":
            if await recs.update(
                item["_id"], set={"viewed_at": at, "viewed_pending": True}, where={"viewed_at": None}
            ):
                item["viewed_at"] = at
                marked += 1
    return marked
