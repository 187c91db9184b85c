"""Notify's outbox: undeliverable messages and seekers' replies, published by the shared relay.

All are marks on documents notify already keeps, written in the same update as the state they
announce: a delivery that failed for good is ``dead`` with ``dead_letter_pending``; a reply sets
``feedback_pending`` and bumps ``feedback_seq``; a seeker opening their inbox sets ``viewed_at``
once per recommendation with ``viewed_pending``, published as the funnel's ``funnel.viewed``
(the seeker's own step: campaign records it on the pair and counts it, and only notify sees it
happen). The relay (``shared.outbox``) publishes them and clears the mark — a reply's only if no
newer reply came meanwhile (``where feedback_seq``), so the newest answer is always the last one
published. An outage of the bus delays, never loses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notify import documents as d
from shared.bus.base import Publisher
from shared.events import (
    DeadLetter,
    DeliveryDead,
    Event,
    Feedback,
    FeedbackReplied,
    FunnelStep,
    derived_event_id,
    feedback_event_id,
    funnel_event,
)
from shared.outbox import OutboxRelay, OutboxSource
from shared.store.base import Doc, Store, Where

DEAD_LETTERS = "dead_letters"
FEEDBACK = "feedback"
VIEWED = "viewed"


def dead_letter_events(delivery: Doc) -> list[Event]:
    letter = DeadLetter(
        delivery_id=delivery["_id"],
        profile_id=delivery["profile_id"],
        posting_id=delivery["posting_id"],
        channel=delivery["channel"],
        attempts=int(delivery.get("attempts", 0)),
        last_error=str(delivery.get("last_error") or ""),
    )
    return [
        DeliveryDead(
            key=letter.profile_id,
            payload=letter,
            producer="notify",
            event_id=derived_event_id("notify.dead_letter", letter.delivery_id),
        )
    ]


def feedback_events(rec: Doc, *, fallback_at: datetime) -> list[Event]:
    reply = rec.get("reply")
    if not reply:  # cannot happen through the API; clear it rather than retry it for ever
        return []
    feedback = Feedback(
        profile_id=rec["profile_id"],
        posting_id=rec["posting_id"],
        interested=bool(reply["interested"]),
        at=d.as_utc(reply["at"]) or fallback_at,
    )
    return [
        FeedbackReplied(
            key=feedback.profile_id,
            payload=feedback,
            producer="notify",
            event_id=feedback_event_id(feedback.profile_id, feedback.posting_id, feedback.interested),
        )
    ]


def viewed_events(rec: Doc, *, fallback_at: datetime) -> list[Event]:
    """``funnel.viewed`` of one recommendation; its id is the funnel's (pair and step), so the
    step is one event however often it is republished. The county and the key-enterprise mark
    are the posting's, which the circular takes from the postings topic."""
    posting = rec.get("posting") or {}
    step = FunnelStep(
        profile_id=rec["profile_id"],
        posting_id=rec["posting_id"],
        step="viewed",
        at=d.as_utc(rec.get("viewed_at")) or fallback_at,
        by=rec["profile_id"],
        role="seeker",
        employer_code=posting.get("employer_code"),
        employer_name=posting.get("employer"),
    )
    return [funnel_event(step, producer="notify")]


def _dead_letter_cleared(_doc: Doc) -> tuple[dict[str, Any], Where | None]:
    return {"dead_letter_pending": False}, None


def _feedback_cleared(rec: Doc) -> tuple[dict[str, Any], Where | None]:
    return {"feedback_pending": False}, {"feedback_pending": True, "feedback_seq": rec.get("feedback_seq", 0)}


def _viewed_cleared(_rec: Doc) -> tuple[dict[str, Any], Where | None]:
    return {"viewed_pending": False}, None


def notify_relay(store: Store, publisher: Publisher, *, now: Any, batch: int = 50) -> OutboxRelay:
    """``now`` is the service's clock, for a reply stored without its time (never, in practice)."""
    sources = {
        DEAD_LETTERS: OutboxSource(
            store.collection(d.DELIVERIES),
            {"status": d.DEAD, "dead_letter_pending": True},
            dead_letter_events,
            _dead_letter_cleared,
            order=(("dead_at", 1),),
        ),
        FEEDBACK: OutboxSource(
            store.collection(d.RECOMMENDATIONS),
            {"feedback_pending": True},
            lambda rec: feedback_events(rec, fallback_at=now()),
            _feedback_cleared,
            order=(("_id", 1),),
        ),
        VIEWED: OutboxSource(
            store.collection(d.RECOMMENDATIONS),
            {"viewed_pending": True},
            lambda rec: viewed_events(rec, fallback_at=now()),
            _viewed_cleared,
            order=(("_id", 1),),
        ),
    }
    return OutboxRelay(sources, publisher, producer="notify", batch=batch)
