"""Event models: the only contract between the services, versioned and defined once.

Every event travels as a JSON ``Envelope``: an explicit ``event_id`` (consumers deduplicate on
it), ``schema_version`` (bumped with the topic's ``v`` suffix on a breaking change), a ``type``,
the partitioning ``key`` (the entity id, so that one entity's events stay in order) and the
payload. Payloads carry the least personal data each consumer needs: the match view of a
profile has no name, phone, ID number, gender or ethnicity; only the contact topic, read by
notify alone, carries a phone number.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

# An optional namespace, so that several environments (or test sessions) can share one cluster.
TOPIC_PREFIX = os.environ.get("CHUNFENG_TOPIC_PREFIX", "")
TOPIC_POSTINGS = f"{TOPIC_PREFIX}chunfeng.postings.v1"
TOPIC_PROFILES = f"{TOPIC_PREFIX}chunfeng.profiles.v1"
TOPIC_CONTACTS = f"{TOPIC_PREFIX}chunfeng.contacts.v1"
TOPIC_MATCHES = f"{TOPIC_PREFIX}chunfeng.matches.v1"
TOPIC_DEAD_LETTER = f"{TOPIC_PREFIX}chunfeng.notify.deadletter.v1"
TOPIC_FEEDBACK = f"{TOPIC_PREFIX}chunfeng.feedback.v1"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_event_id() -> str:
    return uuid.uuid4().hex


def derived_event_id(*parts: str) -> str:
    """A deterministic id, so that re-processing the same input re-emits the same event ids."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(_Frozen):
    event_id: str
    schema_version: int = SCHEMA_VERSION
    type: str
    key: str
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str = ""
    payload: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)


# --- ingest -> match: postings -------------------------------------------------------------

PostingEventType = Literal["posting.upserted", "posting.closed", "posting.deleted"]


class PostingView(_Frozen):
    """A posting as match and notify see it (a posting holds no personal data)."""

    id: str
    version: int
    status: Literal["open", "closed", "deleted"]
    employer: dict[str, Any]
    title: str
    occupation: str | None = None
    headcount: int
    filled: int = 0
    wage: dict[str, Any]
    benefits: list[str] = []
    shift: str
    location: dict[str, Any]
    requirements: dict[str, Any] = {}
    skills: list[str] = []
    start_date: str | None = None
    recruitment_event: str | None = None
    description: str = ""


# --- ingest -> match: profiles (no personal identifiers) ------------------------------------

ProfileEventType = Literal["profile.upserted", "profile.deleted"]


class ProfileMatchView(_Frozen):
    """What matching may know about a seeker. Protected traits are absent by construction."""

    id: str
    version: int
    status: Literal["looking", "hired", "paused", "deleted"]
    birth_year: int
    home: dict[str, Any]  # adcode, town (no street address)
    desired_wage: int | None = None
    max_commute_km: float = 50
    whole_province: bool = False
    out_of_province: bool = False
    relocate: bool = False
    skills: list[str] = []
    experience: str = ""
    certificates: list[str] = []
    availability: str = "any"
    needs_benefits: list[str] = []
    groups: list[str] = []
    intention: str = ""


# --- ingest -> notify: contact details --------------------------------------------------------

ContactEventType = Literal["contact.upserted", "contact.deleted"]


class ContactView(_Frozen):
    """How to reach a seeker; read by notify only."""

    profile_id: str
    version: int
    display_name: str  # surname + 先生/女士-free form: first character and "**"
    phone: str | None = None
    wechat_openid: str | None = None
    webhook_url: str | None = None
    channels: list[str] = ["inbox"]
    consent: bool = True
    active: bool = True


# --- match -> notify: matches ------------------------------------------------------------------

MatchEventType = Literal["match.created", "match.updated", "match.withdrawn"]


class FactorScore(_Frozen):
    factor: str  # distance, wage, skills, shift, benefits, priority
    score: float  # 0..1
    weight: float
    detail: str  # plain Chinese, e.g. "距家约70公里"


class PostingSummary(_Frozen):
    """Enough of the posting for an inbox card or an SMS, so notify needs no second lookup."""

    title: str
    employer: str
    wage_min: int
    wage_max: int
    shift: str
    benefits: list[str] = []
    place: str = ""
    address: str | None = None
    open_positions: int = 0


class MatchView(_Frozen):
    match_id: str  # "<profile_id>:<posting_id>"
    profile_id: str
    posting_id: str
    score: float
    rank: int
    factors: list[FactorScore]
    reason: str  # one Chinese sentence: 距家约70公里 · 月薪3800–5200元，高于期望 · …
    posting: PostingSummary
    distance_km: float | None = None
    withdrawn_reason: str | None = None


class DeadLetter(_Frozen):
    delivery_id: str
    profile_id: str
    posting_id: str
    channel: str
    attempts: int
    last_error: str


# --- notify -> match: a seeker's reply to a recommendation -----------------------------------

FeedbackEventType = Literal["feedback.replied"]


class Feedback(_Frozen):
    """A seeker's answer to one recommendation (ids only: no name, no phone)."""

    profile_id: str
    posting_id: str
    interested: bool
    at: datetime


def feedback_event_id(profile_id: str, posting_id: str, interested: bool) -> str:
    """The same answer to the same recommendation is one event in effect, however often sent."""
    return derived_event_id(profile_id, posting_id, str(interested))


def envelope(
    *, type: str, key: str, payload: BaseModel | dict[str, Any], producer: str, event_id: str | None = None
) -> Envelope:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return Envelope(event_id=event_id or new_event_id(), type=type, key=key, producer=producer, payload=data)
