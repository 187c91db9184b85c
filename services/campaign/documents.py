"""Campaign's stored shapes: one document per (seeker, posting) pair, postings it has heard of,
and the facts of the circular. Pure functions, no I/O.

A pair document holds its steps (step -> when, who), its follow-up tasks and the funnel events
not yet published (``outbox``), so that a step, its follow-ups and its announcement are one
single-document write (FerretDB 1.x has no multi-document transactions). Times are stored as
fixed-width UTC strings, so string order is time order in every store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import Event, FunnelStep, PostingView, revive
from shared.store.base import Doc

PAIRS = "pairs"
POSTINGS = "postings"
FACTS = "facts"

FOLLOWUP_DAYS = (7, 30, 90)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def pair_id(profile_id: str, posting_id: str) -> str:
    return f"{profile_id}:{posting_id}"


def taken(doc: Doc | None) -> dict[str, datetime]:
    """The steps a stored pair has taken, with their times (what ``funnel.decide`` needs)."""
    if not doc:
        return {}
    return {step: from_iso(s["at"]) for step, s in (doc.get("steps") or {}).items()}


def new_pair(profile_id: str, posting_id: str, *, now: datetime) -> Doc:
    return {
        "_id": pair_id(profile_id, posting_id),
        "profile_id": profile_id,
        "posting_id": posting_id,
        "employer_code": None,
        "employer_name": None,
        "county": None,
        "key_enterprise": False,
        "steps": {},
        "followups": {},
        "withdrawn_reason": None,
        "version": 0,
        "outbox": [],
        "outbox_pending": False,
        "created_at": iso(now),
        "updated_at": iso(now),
    }


def posting_doc(view: PostingView, *, deleted: bool = False) -> Doc:
    """What campaign keeps of a posting: whose it is, where, and how many it needs."""
    return {
        "_id": view.id,
        "version": view.version,
        "status": "deleted" if deleted else view.status,
        "title": view.title,
        "employer_code": view.employer.credit_code,
        "employer_name": view.employer.name,
        "key_enterprise": view.employer.key_enterprise,
        "county": view.location.adcode,
        "headcount": view.headcount,
        "filled": view.filled,
    }


def outbox_entry(event: Event) -> dict[str, Any]:
    return {"topic": event.topic, **event.model_dump(mode="json")}


def entry_event(entry: dict[str, Any]) -> Event:
    return revive(str(entry["topic"]), entry)


def followups_for(hired_at: datetime) -> dict[str, Any]:
    """The 驻厂稳岗 check-ins a hire creates: a call at 7, 30 and 90 days."""
    return {
        str(days): {"days": days, "due_at": iso(hired_at + timedelta(days=days)), "outcome": None}
        for days in FOLLOWUP_DAYS
    }


def fact_doc(event_id: str, step: FunnelStep) -> Doc:
    """One funnel event as the circular counts it; its id is the event's, so a replay adds nothing."""
    return {"_id": event_id, **step.model_dump(mode="json"), "at": iso(step.at)}
