"""The stored shape of postings and profiles, and the events each change appends to its outbox.

Pure functions, no I/O. A stored document is ``{_id, data, status, version, created_at,
updated_at, outbox, outbox_pending, identity, identity_id}``: ``data`` holds the validated input
fields, ``outbox`` the events not yet published. The entity and its events live in one document
because FerretDB 1.x has no multi-document transactions: one single-document write keeps
"changed" and "will be announced" from ever disagreeing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from shared.events import (
    ContactDeleted,
    ContactRemoved,
    ContactUpserted,
    Event,
    HomeArea,
    PostingClosed,
    PostingDeleted,
    PostingUpserted,
    ProfileDeleted,
    ProfileMatchView,
    ProfileUpserted,
    Tombstone,
    revive,
    tombstones,
)
from shared.models import PostingIn, ProfileIn
from shared.store.base import Doc
from shared.views import contact_view, posting_view, profile_match_view

PRODUCER = "ingest"
DELETED = "deleted"

KindName = Literal["posting", "profile"]


def now_iso() -> str:
    """Fixed-width UTC timestamps, so that string order is time order in every store."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    return uuid.uuid4().hex


def outbox_entry(event: Event | Tombstone) -> dict[str, Any]:
    """A serialized event plus the topic it goes to (events ignore the extra key)."""
    if isinstance(event, Tombstone):
        return {"topic": event.topic, "key": event.key, "tombstone": True}
    return {"topic": event.topic, **event.model_dump(mode="json")}


def entry_event(entry: dict[str, Any]) -> Event | Tombstone:
    if entry.get("tombstone"):
        return Tombstone(str(entry["topic"]), str(entry["key"]))
    return revive(str(entry["topic"]), entry)


@dataclass(frozen=True, slots=True)
class Kind:
    """What differs between postings and profiles: collection, model, statuses and events."""

    name: KindName
    collection: str
    model: type[BaseModel]
    initial_status: str
    statuses: tuple[str, ...]
    forget_on_delete: bool = False  # deleting erases the data (personal), not only marks it

    def parse(self, data: dict[str, Any]) -> BaseModel:
        return self.model.model_validate(data)

    def events(self, model: BaseModel, *, id: str, version: int, status: str) -> list[dict[str, Any]]:
        """The outbox entries announcing that entity ``id`` is now at ``version`` with ``status``."""
        if isinstance(model, PostingIn):
            view = posting_view(model, id=id, version=version, status=status)
            posting_event = {"closed": PostingClosed, DELETED: PostingDeleted}.get(status, PostingUpserted)
            return [outbox_entry(posting_event(key=id, payload=view, producer=PRODUCER))]
        assert isinstance(model, ProfileIn)
        if status == DELETED:
            # The least a consumer needs to drop the seeker: her id, the version that ends her,
            # and the fields the payload's schema requires (her town and free text stay behind).
            gone = ProfileMatchView(
                id=id,
                version=version,
                status="deleted",
                birth_year=model.birth_year,
                home=HomeArea(adcode=model.home.adcode),
            )
            removed = ContactRemoved(profile_id=id, version=version)
            return [
                outbox_entry(ProfileDeleted(key=id, payload=gone, producer=PRODUCER)),
                outbox_entry(ContactDeleted(key=id, payload=removed, producer=PRODUCER)),
                *(outbox_entry(t) for t in tombstones(id)),
            ]
        match = profile_match_view(model, id=id, version=version, status=status)
        contact = contact_view(model, id=id, version=version)
        return [
            outbox_entry(ProfileUpserted(key=id, payload=match, producer=PRODUCER)),
            outbox_entry(ContactUpserted(key=id, payload=contact, producer=PRODUCER)),
        ]

    def adcode_of(self, data: dict[str, Any]) -> str:
        """Where the entity is: a posting's workplace, a seeker's home (what officials are scoped by)."""
        place = data.get("location" if self.name == "posting" else "home") or {}
        return str(place.get("adcode") or "")

    def status_of(self, model: BaseModel, current: str | None) -> str:
        """A posting keeps its lifecycle status across edits; a profile's status is one of its fields."""
        if isinstance(model, ProfileIn):
            return str(model.status)
        return current or self.initial_status


POSTING = Kind("posting", "postings", PostingIn, "open", ("open", "closed"))
PROFILE = Kind(
    "profile", "profiles", ProfileIn, "looking", ("looking", "hired", "paused"), forget_on_delete=True
)


def data_of(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def area_of(adcode: str) -> list[str]:
    """Every prefix of the adcode, so "is it in an official's counties" is one ``$in`` query.

    The store has no prefix operator; an official scoped to "4228" (a prefecture) or "422801"
    (a county) finds the entity because that exact prefix is in this list.
    """
    return [adcode[:n] for n in range(2, len(adcode) + 1)]


def identity_key(model: BaseModel) -> str:
    """What a spreadsheet row is recognised by (a seeker by phone; a posting by employer, title
    and place), as one top-level string kept in the document's ``identity``.

    Why a field of its own: FerretDB 1.x never hands a filter on a nested field (``data.phone``)
    to its backend, so a lookup by the data's own fields decodes every document of the
    collection, once per imported row; a top-level equality becomes SQL that an index answers.
    """
    if isinstance(model, ProfileIn):
        return f"phone:{model.phone}"
    assert isinstance(model, PostingIn)
    key = [model.employer.name, model.title, model.location.adcode]
    return "posting:" + json.dumps(key, ensure_ascii=False)


def id_number_key(model: BaseModel) -> str | None:
    """A seeker's ID number as a second import identity (top-level, like ``identity``): the same
    person re-surveyed with a new phone is found by it. None for postings and seekers without one."""
    if isinstance(model, ProfileIn) and model.id_number:
        return f"id:{model.id_number}"
    return None


def new_document(kind: Kind, model: BaseModel, *, id: str | None = None, at: str | None = None) -> Doc:
    id = id or new_id()
    at = at or now_iso()
    status = kind.status_of(model, None)
    data = data_of(model)
    return {
        "_id": id,
        "data": data,
        "area": area_of(kind.adcode_of(data)),
        "identity": identity_key(model),
        "identity_id": id_number_key(model),
        "status": status,
        "version": 1,
        "created_at": at,
        "updated_at": at,
        "outbox": kind.events(model, id=id, version=1, status=status),
        "outbox_pending": True,
    }


def forgotten(*, at: str) -> dict[str, Any]:
    """The fields that turn a deleted seeker's document into a tombstone without personal data.

    What stays is what no one can be identified by: the id (which the audit trail and other
    services' anonymous counts refer to), the status, the version (so a replayed older event
    cannot bring her back) and the times. The document itself stays until its outbox — the
    deletion events and the Kafka tombstones — is published; it then holds nothing more.
    """
    return {
        "data": {},
        "area": [],
        "identity": None,
        "identity_id": None,
        "status": DELETED,
        "updated_at": at,
        "deleted_at": at,
    }


def public(doc: Doc) -> dict[str, Any]:
    """The API's view of a stored document: server fields first, then the validated fields."""
    head = {
        "id": doc["_id"],
        "status": doc["status"],
        "version": doc["version"],
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
    }
    return {**head, **{k: v for k, v in doc["data"].items() if k not in head}}
