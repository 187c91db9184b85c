"""Event models: the only contract between the services, typed, versioned and defined once.

Every event travels as a JSON envelope: an explicit ``event_id`` (consumers deduplicate on it),
``schema_version`` (bumped with the topic's ``v`` suffix on a breaking change), a ``type`` that
is the discriminator, the partitioning ``key`` (the entity id, so that one entity's events stay
in order) and a typed ``payload``. Each event is one class below; ``REGISTRY`` maps
(topic, type, schema_version) to it, so that

* a producer can only publish what is registered (``to_record`` refuses anything else), and
* a consumer turns bytes into exactly one class or a ``RejectedRecord`` reason (``parse``),
  which the consumer loop sends to the dead-letter topic instead of retrying it for ever.

Payloads carry the least personal data each consumer needs: the match view of a profile has no
name, phone, ID number, gender, ethnicity or street address; only ``contact.upserted`` carries a phone
number: notify reads it to deliver, and campaign keeps of it only the masked phone and the masked
name, which bus manifests print. ``python -m shared.schemas`` writes the JSON Schema of every
topic to ``docs/events/`` from these classes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.models import Availability, Benefit, Channel, Employer, Group, Location, Requirements, Shift, Wage
from shared.settings import CommonSettings

SCHEMA_VERSION = 1

# An optional namespace, so that several environments (or test sessions) can share one cluster.
TOPIC_PREFIX = CommonSettings().topic_prefix


def topic_name(base: str) -> str:
    return f"{TOPIC_PREFIX}chunfeng.{base}.v{SCHEMA_VERSION}"


TOPIC_POSTINGS = topic_name("postings")
TOPIC_PROFILES = topic_name("profiles")
TOPIC_CONTACTS = topic_name("contacts")
TOPIC_MATCHES = topic_name("matches")
TOPIC_FEEDBACK = topic_name("feedback")
TOPIC_FUNNEL = topic_name("funnel")  # a seeker's way from recommendation to a stable job
TOPIC_RECRUITMENT = topic_name("recruitment")  # job fairs and their invitations (精准推送)
TOPIC_TRANSPORT = topic_name("transport")  # 点对点接送: each seeker's seat on a planned bus
TOPIC_DEAD_LETTER = topic_name("notify.deadletter")  # deliveries that failed for good
TOPIC_REJECTED = topic_name("deadletter")  # records a consumer could not accept
# match's own input in one order (one partition), read whole by every match instance (scale-out)
TOPIC_MATCH_INPUT = topic_name("match-input")

# Topics whose key is one seeker and whose latest record is her current state, so Kafka may keep
# only that (log compaction): a tombstone (null value) after the deletion events makes the broker
# forget every record of a deleted seeker. Not the matches, feedback or funnel: they hold many
# pairs under one seeker's key, and the funnel's history is what the circular is computed from.
COMPACTED_TOPICS = frozenset({TOPIC_PROFILES, TOPIC_CONTACTS})


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_event_id() -> str:
    return uuid.uuid4().hex


def derived_event_id(*parts: str) -> str:
    """A deterministic id, so that re-processing the same input re-emits the same event ids."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- payloads ----------------------------------------------------------------------------------


class PostingView(_Frozen):
    """A posting as match and notify see it (a posting holds no personal data)."""

    id: str
    version: int
    status: Literal["open", "closed", "deleted"]
    employer: Employer
    title: str
    occupation: str | None = None
    headcount: int
    filled: int = 0
    wage: Wage
    benefits: list[Benefit] = []
    shift: Shift
    location: Location
    requirements: Requirements = Requirements()
    skills: list[str] = []
    start_date: date | None = None
    recruitment_event: str | None = None
    description: str = ""
    gig_days: float | None = None  # 零工: a short job of this many days


class HomeArea(_Frozen):
    """Where a seeker lives, to the town: no street address leaves ingest."""

    adcode: str
    town: str | None = None


class ProfileMatchView(_Frozen):
    """What matching may know about a seeker. Protected traits are absent by construction."""

    id: str
    version: int
    status: Literal["looking", "hired", "paused", "deleted"]
    birth_year: int
    home: HomeArea
    desired_wage: int | None = None
    max_commute_km: float = 50
    whole_province: bool = False
    out_of_province: bool = False
    relocate: bool = False
    skills: list[str] = []
    experience: str = ""
    certificates: list[str] = []
    availability: Availability = Availability.any
    needs_benefits: list[Benefit] = []
    groups: list[Group] = []
    intention: str = ""
    takes_short_jobs: bool = False  # 零工: offered gig jobs nearby


class ContactView(_Frozen):
    """How to reach a seeker; notify delivers with it, campaign keeps only ``mask_text(phone)``."""

    profile_id: str
    version: int
    display_name: str  # first character and "**": a finder of a lost phone learns no name
    phone: str | None = None
    wechat_openid: str | None = None
    webhook_url: str | None = None
    channels: list[Channel] = [Channel.inbox]
    consent: bool = True
    active: bool = True
    home_adcode: str | None = None  # the seeker's county: whose officials may read the inbox


class ContactRemoved(_Frozen):
    """A seeker's contact is gone: ids only, so the deletion itself spreads no personal data."""

    profile_id: str
    version: int | None = None  # None: final, no older upsert may revive it


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
    shift: Shift
    benefits: list[Benefit] = []
    place: str = ""
    address: str | None = None
    open_positions: int = 0
    employer_code: str | None = None  # unified social credit code: whose candidates these are


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
    # 放宽推荐: offered to a seeker nothing above the threshold reached for days (match's wider.py)
    wider: bool = False


class DeadLetter(_Frozen):
    delivery_id: str
    profile_id: str
    posting_id: str
    channel: Channel
    attempts: int
    last_error: str


class Feedback(_Frozen):
    """A seeker's answer to one recommendation (ids only: no name, no phone)."""

    profile_id: str
    posting_id: str
    interested: bool
    at: datetime


FunnelStepName = Literal[
    "recommended",
    "viewed",
    "interested",
    "declined",
    "interviewed",
    "hired",
    "stable_30d",
    "stable_90d",
    "left",
]


class FunnelStep(_Frozen):
    """One accepted step of one (seeker, posting) pair: ids, the step, when, who — never a name or phone.

    ``employer_code``/``employer_name``, ``county`` (the workplace's adcode) and ``key_enterprise``
    are copied from the posting when the step is taken, so a circular can be computed from these
    events alone, by county and enterprise, without a lookup that a replay could not repeat.
    """

    profile_id: str
    posting_id: str
    step: FunnelStepName
    at: datetime
    by: str  # principal id, or the service that derived the step from another event
    role: str  # admin, official, employer, seeker, or "system"
    employer_code: str | None = None
    employer_name: str | None = None
    county: str | None = None
    key_enterprise: bool = False
    reason: str | None = None  # why they left (or another remark an official recorded)


FairKind = Literal["job_fair", "park_fair", "village_fair", "night_market", "online", "livestream"]


class FairView(_Frozen):
    """A recruitment event as announced: when, where (or the link), whose postings, for whom.

    ``reach_km``: seekers whose home county lies within this distance of the venue's county are
    within reach (an online fair or a live stream has a venue too: the organising county).
    """

    id: str
    version: int
    status: Literal["announced", "cancelled"]
    kind: FairKind
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    adcode: str  # the venue's (or the organiser's) county or town
    address: str | None = None
    link: str | None = None  # online fairs and live streams
    reach_km: float
    capacity: int | None = None
    posting_ids: list[str] = []
    enterprises: list[str] = []  # employer names, for the invitation text and the figures


class FairInvitation(_Frozen):
    """One seeker invited to one fair, with the fair's postings that fit them (ids only, no name)."""

    fair_id: str
    profile_id: str
    posting_ids: list[str]
    postings: list[str] = []  # "title（employer）" of those postings, for the message
    title: str
    kind: FairKind
    starts_at: datetime
    place: str = ""
    address: str | None = None
    link: str | None = None


class TransportNotice(_Frozen):
    """One seeker's seat on a planned bus (点对点接送): where and when to board, nothing personal.

    No name and no phone: notify has the seeker's contact already, and the pick-up point is a
    public place (a county seat's meeting point), not her address.
    """

    plan_id: str
    plan_version: int
    profile_id: str
    bus: int  # 1-based, as painted on the windscreen
    point: str  # the pick-up point's name, e.g. "资中县人社局门口"
    adcode: str  # the pick-up point's county
    pickup_at: datetime
    destination: str  # where the bus goes: the enterprise's or the fair's place name
    title: str = "就业直通车"


class TransportRelease(_Frozen):
    """A seeker no longer has a seat on a plan (left out when it was planned again): ids only."""

    plan_id: str
    plan_version: int
    profile_id: str


class RejectedRecord(_Frozen):
    """A record a consumer could not accept, kept whole so an operator can inspect or replay it."""

    group: str  # the consumer group that rejected it
    topic: str
    partition: int
    offset: int
    key: str
    reason: str  # what was wrong, e.g. "invalid payload: payload.wage.max: Field required"
    original: str  # the record's bytes, as UTF-8 where they are, else hex with a "hex:" prefix


# --- events ------------------------------------------------------------------------------------


class Event(BaseModel):
    """The envelope every event shares; a subclass fixes ``type``, ``payload`` and its topic."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    topic: ClassVar[str]

    event_id: str = Field(default_factory=new_event_id)
    schema_version: int = SCHEMA_VERSION
    type: str
    key: str
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str = ""

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


REGISTRY: dict[tuple[str, str, int], type[Event]] = {}


def _register(cls: type[Event]) -> type[Event]:
    event_type = cls.model_fields["type"].default
    version = cls.model_fields["schema_version"].default
    REGISTRY[(cls.topic, event_type, version)] = cls
    return cls


@_register
class PostingUpserted(Event):
    topic = TOPIC_POSTINGS
    type: Literal["posting.upserted"] = "posting.upserted"
    payload: PostingView


@_register
class PostingClosed(Event):
    topic = TOPIC_POSTINGS
    type: Literal["posting.closed"] = "posting.closed"
    payload: PostingView


@_register
class PostingDeleted(Event):
    topic = TOPIC_POSTINGS
    type: Literal["posting.deleted"] = "posting.deleted"
    payload: PostingView


@_register
class ProfileUpserted(Event):
    topic = TOPIC_PROFILES
    type: Literal["profile.upserted"] = "profile.upserted"
    payload: ProfileMatchView


@_register
class ProfileDeleted(Event):
    topic = TOPIC_PROFILES
    type: Literal["profile.deleted"] = "profile.deleted"
    payload: ProfileMatchView


@_register
class ContactUpserted(Event):
    topic = TOPIC_CONTACTS
    type: Literal["contact.upserted"] = "contact.upserted"
    payload: ContactView


@_register
class ContactDeleted(Event):
    topic = TOPIC_CONTACTS
    type: Literal["contact.deleted"] = "contact.deleted"
    payload: ContactRemoved


@_register
class MatchCreated(Event):
    topic = TOPIC_MATCHES
    type: Literal["match.created"] = "match.created"
    payload: MatchView


@_register
class MatchUpdated(Event):
    topic = TOPIC_MATCHES
    type: Literal["match.updated"] = "match.updated"
    payload: MatchView


@_register
class MatchWithdrawn(Event):
    topic = TOPIC_MATCHES
    type: Literal["match.withdrawn"] = "match.withdrawn"
    payload: MatchView


@_register
class FeedbackReplied(Event):
    topic = TOPIC_FEEDBACK
    type: Literal["feedback.replied"] = "feedback.replied"
    payload: Feedback


@_register
class DeliveryDead(Event):
    topic = TOPIC_DEAD_LETTER
    type: Literal["notify.dead_letter"] = "notify.dead_letter"
    payload: DeadLetter


@_register
class RecordRejected(Event):
    topic = TOPIC_REJECTED
    type: Literal["record.rejected"] = "record.rejected"
    payload: RejectedRecord


class _Funnel(Event):
    topic = TOPIC_FUNNEL
    payload: FunnelStep


@_register
class FunnelRecommended(_Funnel):
    type: Literal["funnel.recommended"] = "funnel.recommended"


@_register
class FunnelViewed(_Funnel):
    type: Literal["funnel.viewed"] = "funnel.viewed"


@_register
class FunnelInterested(_Funnel):
    type: Literal["funnel.interested"] = "funnel.interested"


@_register
class FunnelDeclined(_Funnel):
    type: Literal["funnel.declined"] = "funnel.declined"


@_register
class FunnelInterviewed(_Funnel):
    type: Literal["funnel.interviewed"] = "funnel.interviewed"


@_register
class FunnelHired(_Funnel):
    type: Literal["funnel.hired"] = "funnel.hired"


@_register
class FunnelStable30(_Funnel):
    type: Literal["funnel.stable_30d"] = "funnel.stable_30d"


@_register
class FunnelStable90(_Funnel):
    type: Literal["funnel.stable_90d"] = "funnel.stable_90d"


@_register
class FunnelLeft(_Funnel):
    type: Literal["funnel.left"] = "funnel.left"


FUNNEL_EVENTS: dict[str, type[Event]] = {
    "recommended": FunnelRecommended,
    "viewed": FunnelViewed,
    "interested": FunnelInterested,
    "declined": FunnelDeclined,
    "interviewed": FunnelInterviewed,
    "hired": FunnelHired,
    "stable_30d": FunnelStable30,
    "stable_90d": FunnelStable90,
    "left": FunnelLeft,
}


def funnel_event(step: FunnelStep, *, producer: str = "campaign") -> Event:
    """The event of an accepted step. A pair takes each step at most once (the state machine's
    rule), so the id is derived from the pair and the step: a republished step is a duplicate."""
    cls = FUNNEL_EVENTS[step.step]
    event_id = derived_event_id("funnel", step.profile_id, step.posting_id, step.step)
    return cls(event_id=event_id, key=step.profile_id, payload=step, producer=producer)  # type: ignore[call-arg]


@_register
class FairAnnounced(Event):
    topic = TOPIC_RECRUITMENT
    type: Literal["fair.announced"] = "fair.announced"
    payload: FairView


@_register
class FairUpdated(Event):
    topic = TOPIC_RECRUITMENT
    type: Literal["fair.updated"] = "fair.updated"
    payload: FairView


@_register
class FairInvited(Event):
    """Keyed by the seeker (the fair's events are keyed by the fair): one seeker's messages in order."""

    topic = TOPIC_RECRUITMENT
    type: Literal["fair.invited"] = "fair.invited"
    payload: FairInvitation


def invitation_event_id(fair_id: str, profile_id: str) -> str:
    """One invitation per seeker and fair, however often the fair is edited or the event replayed."""
    return derived_event_id("fair-invitation", fair_id, profile_id)


@_register
class TransportAssigned(Event):
    """Keyed by the seeker, so one seeker's notices (seated, moved, released) stay in order."""

    topic = TOPIC_TRANSPORT
    type: Literal["transport.assigned"] = "transport.assigned"
    payload: TransportNotice


@_register
class TransportReleased(Event):
    topic = TOPIC_TRANSPORT
    type: Literal["transport.released"] = "transport.released"
    payload: TransportRelease


def transport_event_id(plan_id: str, profile_id: str, plan_version: int) -> str:
    """One notice per seeker and plan version, and a version notices only the seekers whose seat
    is new, moved or gone: a plan re-published (or its outbox replayed) repeats the same ids."""
    return derived_event_id("transport", plan_id, profile_id, str(plan_version))


class WiderSweepTick(_Frozen):
    """A sweep of wider offers at ``now``, put into match's input log so that every instance
    sweeps at the same place in the order and with the same time (not at its own clock's)."""

    type: Literal["wider.sweep"] = "wider.sweep"
    sweep_id: str
    now: datetime
    limit: int | None = None


SequencedInput = Annotated[
    PostingUpserted
    | PostingClosed
    | PostingDeleted
    | ProfileUpserted
    | ProfileDeleted
    | FeedbackReplied
    | WiderSweepTick,
    Field(discriminator="type"),
]


@_register
class MatchInput(Event):
    """One of match's inputs (unchanged, its envelope and ``event_id`` kept) at its place in the one
    order all match instances apply (``services/match/sequence.py``). Every record has the one
    key ``match-input`` and the topic one partition, so the order is total.
    """

    topic = TOPIC_MATCH_INPUT
    type: Literal["match.input"] = "match.input"
    payload: SequencedInput


PostingEvent = PostingUpserted | PostingClosed | PostingDeleted
FairEvent = FairAnnounced | FairUpdated
ProfileEvent = ProfileUpserted | ProfileDeleted
ContactEvent = ContactUpserted | ContactDeleted
MatchEvent = MatchCreated | MatchUpdated | MatchWithdrawn

MATCH_EVENTS: dict[str, type[MatchEvent]] = {
    "created": MatchCreated,
    "updated": MatchUpdated,
    "withdrawn": MatchWithdrawn,
}


def topics_of(classes: Iterable[type[Event]]) -> list[str]:
    """The topics these event classes travel on, each once, in the order first named."""
    return list(dict.fromkeys(cls.topic for cls in classes))


# --- producing and parsing ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tombstone:
    """Not an event: Kafka's "forget this key" (a null value) on a compacted topic.

    Published after the deletion events of the same key, so every consumer has handled the
    deletion before compaction removes what came before; consumers skip the tombstone itself.
    """

    topic: str
    key: str


def tombstones(key: str) -> list[Tombstone]:
    """The tombstones that make the compacted topics forget one seeker."""
    return [Tombstone(topic, key) for topic in sorted(COMPACTED_TOPICS)]


class UnregisteredEvent(TypeError):
    """A producer tried to publish an event class the registry does not know."""


def to_record(event: Event | Tombstone) -> tuple[str, str, bytes | None]:
    """(topic, key, value) for ``Publisher.publish_many``; only registered events pass, and
    tombstones only on compacted topics (elsewhere a null value is just a record nobody reads)."""
    if isinstance(event, Tombstone):
        if event.topic not in COMPACTED_TOPICS:
            raise UnregisteredEvent(f"no tombstones on {event.topic}: it is not compacted")
        return event.topic, event.key, None
    cls = type(event)
    if REGISTRY.get((cls.topic, event.type, event.schema_version)) is not cls:
        raise UnregisteredEvent(f"{cls.__name__} ({event.type} v{event.schema_version}) is not registered")
    return cls.topic, event.key, event.to_bytes()


class InvalidRecord(ValueError):
    """A record that no retry can make acceptable; ``reason`` says why, for the dead-letter topic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _errors(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:5]]
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse(topic: str, raw: bytes) -> Event:
    """The registered event these bytes are on ``topic``, or ``InvalidRecord`` with the reason."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRecord(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidRecord(f"not a JSON object but {type(data).__name__}")
    return revive(topic, data)


def revive(topic: str, data: dict[str, Any]) -> Event:
    """The registered event a decoded JSON object is on ``topic``, or ``InvalidRecord``."""
    event_type, version = data.get("type"), data.get("schema_version")
    known_key = isinstance(event_type, str) and isinstance(version, int)
    cls = REGISTRY.get((topic, event_type, version)) if known_key else None  # type: ignore[arg-type]
    if cls is None:
        known = sorted({t for (tp, t, _) in REGISTRY if tp == topic})
        if event_type in known:
            raise InvalidRecord(f"unsupported schema_version {version!r} for {event_type} on {topic}")
        raise InvalidRecord(f"unknown event type {event_type!r} on {topic} (known: {', '.join(known)})")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InvalidRecord(f"invalid {event_type}: {_errors(exc)}") from exc


def original_text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return "hex:" + raw.hex()


def feedback_event_id(profile_id: str, posting_id: str, interested: bool) -> str:
    """The same answer to the same recommendation is one event in effect, however often sent."""
    return derived_event_id(profile_id, posting_id, str(interested))
