"""The fairs' documents: each fair carries its own outbox (as the funnel's pairs do), so a change
and its ``fair.announced``/``fair.updated`` event are one single-document write."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.campaign.documents import entry_event, iso, outbox_entry
from services.campaign.fairs.models import FairIn, RecordKind
from shared.events import Event, FairAnnounced, FairInvitation, FairUpdated, FairView
from shared.logging import get_logger
from shared.outbox import OutboxSource, WriteHook, no_hook
from shared.store.base import Collection, Doc, Store, Where

log = get_logger("campaign.fairs")

FAIRS = "fairs"
INVITATIONS = "fair_invitations"
RECORDS = "fair_records"
POSTINGS = "postings"  # campaign's copy of the postings (employer, headcount), see documents.py


class UnknownPostings(ValueError):
    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"unknown posting ids: {', '.join(ids)}")
        self.ids = ids


class Conflict(RuntimeError):
    """Changed by someone else meanwhile: the caller retries on the newer version."""


def fair_view(doc: Doc) -> FairView:
    return FairView.model_validate({**doc["fair"], "id": doc["_id"], "version": doc["version"]})


def _fair_events(doc: Doc) -> list[Event]:
    return [entry_event(e) for e in doc.get("outbox") or []]


def _cleared(doc: Doc) -> tuple[dict[str, Any], Where | None]:
    return {"outbox": [], "outbox_pending": False}, {"version": doc["version"]}


def fairs_outbox(store: Store) -> OutboxSource:
    """The relay's source for the fairs' events (added to campaign's relay)."""
    return OutboxSource(store.collection(FAIRS), {"outbox_pending": True}, _fair_events, _cleared)


class FairRepository:
    def __init__(self, store: Store, on_write: WriteHook = no_hook) -> None:
        self.fairs: Collection = store.collection(FAIRS)
        self.invitations: Collection = store.collection(INVITATIONS)
        self.records: Collection = store.collection(RECORDS)
        self.postings: Collection = store.collection(POSTINGS)
        self._on_write = on_write

    async def ensure_indexes(self) -> None:
        await self.fairs.ensure_index([("outbox_pending", 1)])
        await self.invitations.ensure_index([("fair_id", 1)])
        await self.records.ensure_index([("fair_id", 1)])

    async def _content(self, body: FairIn, status: str) -> dict[str, Any]:
        known = {p["_id"]: p for p in await self.postings.find({"_id": {"$in": body.posting_ids}})}
        missing = [p for p in body.posting_ids if p not in known]
        if missing:
            raise UnknownPostings(missing)
        enterprises = sorted({str(p.get("employer_name") or "") for p in known.values()} - {""})
        return {
            "status": status,
            "kind": body.kind,
            "title": body.title,
            "starts_at": body.starts_at.isoformat(),
            "ends_at": body.ends_at.isoformat() if body.ends_at else None,
            "adcode": body.location.adcode,
            "address": body.location.address,
            "link": body.link,
            "reach_km": body.reach_km,
            "capacity": body.capacity,
            "posting_ids": body.posting_ids,
            "enterprises": enterprises,
        }

    async def create(self, body: FairIn, *, by: str, now: datetime) -> Doc:
        fair_id = "f" + uuid.uuid4().hex[:15]
        content = await self._content(body, "announced")
        doc: Doc = {"_id": fair_id, "version": 1, "fair": content, "created_by": by, "updated_at": iso(now)}
        event = FairAnnounced(key=fair_id, payload=fair_view(doc), producer="campaign")
        doc |= {"outbox": [outbox_entry(event)], "outbox_pending": True}
        await self.fairs.insert(doc)
        self._on_write(FAIRS, fair_id)
        return doc

    async def get(self, fair_id: str) -> Doc | None:
        return await self.fairs.get(fair_id)

    async def change(self, held: Doc, body: FairIn | None, *, status: str, now: datetime) -> Doc:
        """A new version: edited (``body``) or cancelled; ``Conflict`` if it moved meanwhile."""
        content = (
            await self._content(body, status) if body is not None else {**held["fair"], "status": status}
        )
        new: Doc = {**held, "version": held["version"] + 1, "fair": content, "updated_at": iso(now)}
        event = FairUpdated(key=held["_id"], payload=fair_view(new), producer="campaign")
        if not await self.fairs.update(
            held["_id"],
            set={"fair": content, "updated_at": iso(now), "outbox_pending": True},
            inc={"version": 1},
            push={"outbox": {"$each": [outbox_entry(event)]}},
            where={"version": held["version"]},
        ):
            raise Conflict(held["_id"])
        self._on_write(FAIRS, held["_id"])
        return new

    async def list(self) -> list[Doc]:
        return await self.fairs.find({}, sort=[("_id", 1)])

    async def invited(self, invitation: FairInvitation, *, at: datetime) -> bool:
        return await self.invitations.insert(
            {
                "_id": f"{invitation.fair_id}:{invitation.profile_id}",
                "fair_id": invitation.fair_id,
                "profile_id": invitation.profile_id,
                "posting_ids": invitation.posting_ids,
                "at": iso(at),
            }
        )

    async def record(
        self,
        fair_id: str,
        kind: RecordKind,
        profile_id: str,
        posting_id: str | None,
        *,
        by: str,
        now: datetime,
    ) -> bool:
        """One record per (fair, kind, seeker[, posting]): a repeat is not counted twice."""
        rid = ":".join(x for x in (fair_id, kind, profile_id, posting_id) if x)
        return await self.records.insert(
            {
                "_id": rid,
                "fair_id": fair_id,
                "kind": kind,
                "profile_id": profile_id,
                "posting_id": posting_id,
                "by": by,
                "at": iso(now),
            }
        )

    async def count(self, fair_id: str, kind: RecordKind) -> int:
        return await self.records.count({"fair_id": fair_id, "kind": kind})

    async def figures(self, doc: Doc) -> dict[str, Any]:
        fair = doc["fair"]
        postings = await self.postings.find({"_id": {"$in": fair["posting_ids"]}})
        positions = sum(
            max(0, int(p.get("headcount", 0)) - int(p.get("filled", 0)))
            for p in postings
            if p.get("status") == "open"
        )
        counts = {k: await self.count(doc["_id"], k) for k in ("registration", "visit", "intention", "hire")}
        return {
            "fair_id": doc["_id"],
            "enterprises": len(fair["enterprises"]),
            "positions": positions,
            "invited": await self.invitations.count({"fair_id": doc["_id"]}),
            "registered": counts["registration"],
            "visitors": counts["visit"],
            "intentions": counts["intention"],
            "hires": counts["hire"],
        }
