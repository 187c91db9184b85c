"""The stored shapes of notify's three collections, built by pure functions.

* ``recommendations``: ``_id = "<profile_id>:<posting_id>"``, inserted once ever; the inbox.
* ``deliveries``: ``_id = "<profile_id>:<posting_id>:<channel>"``, inserted once ever; a push.
* ``contacts``: ``_id = profile_id``; how to reach a seeker, replaced only by a newer version.
* ``delivery_claims``: ``_id = "<delivery_id>#<n>"``, the n-th claim of a delivery by a worker.
* ``cap_slots``: ``_id = "<profile_id>:<local day>:<n>"``, the n-th push of that seeker's day.

The last two exist because FerretDB 1.x applies a conditional update as read, modify, write
back: two notify processes could both "win" ``pending -> sending``, or both count two pushes
today and both send a third. An insert of an existing ``_id`` fails on the database's unique
index whatever the number of processes, so whoever inserts a claim or a slot owns it.

Ids are the idempotency: a replayed event tries the same insert and is told it already exists.
Times are stored as aware UTC datetimes; ``as_utc`` repairs the naive ones MongoDB hands back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.events import ContactView, MatchView

RECOMMENDATIONS = "recommendations"
DELIVERIES = "deliveries"
CONTACTS = "contacts"
CLAIMS = "delivery_claims"
CAP_SLOTS = "cap_slots"

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
CANCELLED = "cancelled"
DEAD = "dead"


def recommendation_id(profile_id: str, posting_id: str) -> str:
    return f"{profile_id}:{posting_id}"


def delivery_id(profile_id: str, posting_id: str, channel: str) -> str:
    return f"{profile_id}:{posting_id}:{channel}"


def as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise TypeError(f"not a datetime: {value!r}")


def match_content(match: MatchView) -> dict[str, Any]:
    """The parts of a match that a later ``match.updated`` may refresh."""
    return {
        "score": match.score,
        "rank": match.rank,
        "reason": match.reason,
        "factors": [f.model_dump(mode="json") for f in match.factors],
        "posting": match.posting.model_dump(mode="json"),
        "distance_km": match.distance_km,
    }


def recommendation_doc(match: MatchView, *, now: datetime, event_at: datetime) -> dict[str, Any]:
    return {
        "_id": recommendation_id(match.profile_id, match.posting_id),
        "profile_id": match.profile_id,
        "posting_id": match.posting_id,
        **match_content(match),
        "status": "active",
        "created_at": now,
        "event_at": event_at,
        "withdrawn_at": None,
        "withdrawn_reason": None,
        "reply": None,
        "feedback_pending": False,  # a reply not yet published to match
        "feedback_seq": 0,  # bumped by every reply: guards clearing the mark
        "viewed_at": None,  # when the seeker first opened it (funnel.viewed, once)
        "viewed_pending": False,  # funnel.viewed not yet published
        "deliveries_scheduled": False,
        "scheduled_by": None,  # the event that created it already marked (notify.consumer)
    }


def contact_doc(contact: ContactView, *, now: datetime, deleted: bool = False) -> dict[str, Any]:
    data = contact.model_dump(mode="json")
    if deleted:
        data.update(phone=None, wechat_openid=None, webhook_url=None, active=False, channels=["inbox"])
    return {"_id": contact.profile_id, **data, "deleted": deleted, "updated_at": now}


def contact_usable(contact: dict[str, Any] | None) -> bool:
    if not contact:
        return False
    return bool(contact.get("consent")) and bool(contact.get("active")) and not contact.get("deleted")


def push_channels(contact: dict[str, Any], available: set[str]) -> list[str]:
    """The push channels this seeker chose and we can actually use (an address is present)."""
    address = {
        "sms": contact.get("phone"),
        "wechat": contact.get("wechat_openid"),
        "webhook": contact.get("webhook_url"),
    }
    chosen = [c for c in ("sms", "wechat", "webhook") if c in contact.get("channels", [])]
    return [c for c in chosen if c in available and address.get(c)]


def recipient(contact: dict[str, Any], channel: str) -> str:
    field = {"sms": "phone", "wechat": "wechat_openid", "webhook": "webhook_url"}.get(channel)
    return str(contact.get(field) or "") if field else ""


def delivery_doc(profile_id: str, posting_id: str, channel: str, *, now: datetime) -> dict[str, Any]:
    return {
        "_id": delivery_id(profile_id, posting_id, channel),
        "recommendation_id": recommendation_id(profile_id, posting_id),
        "profile_id": profile_id,
        "posting_id": posting_id,
        "channel": channel,
        "status": PENDING,
        "due_at": now,
        "attempts": 0,
        "last_error": None,
        "deferred_reason": None,
        "created_at": now,
        "sent_at": None,
        "lease_until": None,
        "provider_id": None,
        "dead_letter_pending": False,
    }


def claim_doc(delivery_id: str, n: int, *, now: datetime) -> dict[str, Any]:
    """The n-th claim of a delivery. Never deleted: a worker that read the delivery before an
    earlier claim finished must find that claim's id taken, not free again."""
    return {"_id": f"{delivery_id}#{n}", "delivery_id": delivery_id, "at": now}


def cap_slot_doc(profile_id: str, day: str, n: int, posting_id: str, *, now: datetime) -> dict[str, Any]:
    """Push number n (from 0) of a seeker's local day, taken by one recommendation (all of its
    channels: the SMS and the WeChat copy of one recommendation count once)."""
    return {
        "_id": f"{profile_id}:{day}:{n}",
        "profile_id": profile_id,
        "day": day,
        "n": n,
        "posting_id": posting_id,
        "at": now,
    }
