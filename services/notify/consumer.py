"""Turns match and contact events into inbox items and scheduled deliveries.

Every step is idempotent without an event-id table: recommendations and deliveries are created
with ``insert`` on deterministic ids, contacts are replaced only by a newer version, and a
recommendation remembers whether its deliveries were scheduled, so that a crash between the two
writes is repaired by the replay instead of being lost. A recommendation whose seeker's contact is
already known is created already marked (``deliveries_scheduled``) and remembers the event that
created it (``scheduled_by``), then its deliveries are inserted: no second write of the
recommendation (on FerretDB each written document costs milliseconds), and a replay of that same
event — the only way to see a crash between the two inserts — inserts the deliveries again, which
their deterministic ids make a no-op when they exist.

Runs of ``match.created``/``match.updated`` events (the commonest by far: a seeker's matches
come together) are handled as one batch (``on_matches``): the same steps, each once for the
batch instead of once per event — one read of the seekers' contacts, one insert of all
recommendations (marked when the contact is usable), one insert of their deliveries. The events
that were not new (a known pair updated, or a replay) take the per-event path, in order. One at a
time, a match event cost four sequential round trips to FerretDB, which bounded notify at a
few dozen events per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from services.notify import documents as d
from shared.bus.base import Bus
from shared.consume import BatchRoutes, ConsumerLoop, EventRouter, Routes
from shared.events import (
    ContactDeleted,
    ContactUpserted,
    ContactView,
    MatchCreated,
    MatchUpdated,
    MatchView,
    MatchWithdrawn,
)
from shared.logging import get_logger
from shared.metrics import STAGE_SECONDS
from shared.store.base import Store, gather_writes, get_many

log = get_logger("notify.consumer")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class NotifyHandler(EventRouter):
    def __init__(self, store: Store, *, push_channels: Iterable[str], clock: Clock = utc_now) -> None:
        self.recommendations = store.collection(d.RECOMMENDATIONS)
        self.deliveries = store.collection(d.DELIVERIES)
        self.contacts = store.collection(d.CONTACTS)
        self._available = set(push_channels)
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def routes(self) -> Routes:
        return {
            MatchCreated: self._on_match_event,
            MatchUpdated: self._on_match_event,
            MatchWithdrawn: self._on_withdrawn_event,
            ContactUpserted: self._on_contact_upserted,
            ContactDeleted: self._on_contact_deleted,
        }

    def batch_routes(self) -> BatchRoutes:
        return {
            MatchCreated: self.on_matches,
            MatchUpdated: self.on_matches,
            ContactUpserted: self.on_contacts,
        }

    async def on_contacts(self, events: Sequence[ContactUpserted]) -> None:
        """A run of contact upserts: the seekers new to notify inserted at once, their waiting
        recommendations found with one query; a contact notify already holds takes the per-event
        path (version check, update). A run naming one seeker twice is handled event by event,
        so that the later event sees the earlier one's write, as it would one at a time."""
        ids = [e.payload.profile_id for e in events]
        if len(set(ids)) < len(ids):
            for event in events:
                await self._on_contact_upserted(event)
            return
        now = self._clock()
        started = time.perf_counter()
        docs = [d.contact_doc(e.payload, now=now) for e in events]
        created = await self.contacts.insert_many(docs)
        for event, new in zip(events, created, strict=True):
            if not new:
                await self._on_contact_upserted(event)
        fresh = [doc for doc, new in zip(docs, created, strict=True) if new]
        usable = {doc["_id"]: doc for doc in fresh if d.contact_usable(doc)}
        if usable:
            # One equality query per seeker, not one ``$in``: FerretDB pushes only equality
            # filters down to PostgreSQL (and its index), so an ``$in`` decodes every
            # recommendation stored — the slowest stage of notify once thousands were stored.
            waiting = await gather_writes(
                self.recommendations.find(
                    {"profile_id": pid, "status": "active", "deliveries_scheduled": False}
                )
                for pid in sorted(usable)
            )
            for rec in (rec for recs in waiting for rec in recs):
                await self._schedule(rec, usable[rec["profile_id"]], now)
        unusable = sorted(doc["_id"] for doc in fresh if doc["_id"] not in usable)
        if unusable:
            await self._cancel_pending({"profile_id": {"$in": unusable}}, reason="contact_inactive", now=now)
        STAGE_SECONDS.labels("notify", "contacts").observe(time.perf_counter() - started)

    async def on_matches(self, events: Sequence[MatchCreated | MatchUpdated]) -> None:
        """A run of match events in one pass (see the module's docstring); order per pair kept."""
        now = self._clock()
        started = time.perf_counter()
        ids = sorted({e.payload.profile_id for e in events})
        contacts = {c["_id"]: c for c in await get_many(self.contacts, ids)}
        STAGE_SECONDS.labels("notify", "read_contacts").observe(time.perf_counter() - started)
        # A match from before a seeker's deletion (another topic, so it may come later) gives
        # her no inbox again, as in ``on_match``.
        live = [e for e in events if not (contacts.get(e.payload.profile_id) or {}).get("deleted")]
        started = time.perf_counter()
        docs = [
            self._new_recommendation(
                e.payload, e.occurred_at, now, contacts.get(e.payload.profile_id), e.event_id
            )
            for e in live
        ]
        created = await self.recommendations.insert_many(docs)
        STAGE_SECONDS.labels("notify", "insert_recommendations").observe(time.perf_counter() - started)
        for event, new in zip(live, created, strict=True):
            if not new:  # a known pair (or a replay): refreshed and, if need be, scheduled one by one
                await self.on_match(event.payload, event.occurred_at, event_id=event.event_id)
        fresh = [doc for doc, new in zip(docs, created, strict=True) if new and doc["deliveries_scheduled"]]
        if not fresh:
            return
        started = time.perf_counter()
        await self.deliveries.insert_many(
            [
                d.delivery_doc(rec["profile_id"], rec["posting_id"], channel, now=now)
                for rec in fresh
                for channel in d.push_channels(contacts[rec["profile_id"]], self._available)
            ]
        )
        STAGE_SECONDS.labels("notify", "schedule").observe(time.perf_counter() - started)
        log.info("recommendations", created=len(docs), scheduled=len(fresh))

    def _new_recommendation(
        self,
        match: MatchView,
        event_at: datetime,
        now: datetime,
        contact: dict[str, Any] | None,
        event_id: str | None,
    ) -> dict[str, Any]:
        """The recommendation as first stored: marked scheduled by ``event_id`` when the contact
        is usable (its deliveries are inserted right after), unmarked otherwise (the contact's
        arrival schedules it). Without an event id (no replay to recognise) it stays unmarked
        and is scheduled the old way, insert then mark."""
        doc = d.recommendation_doc(match, now=now, event_at=event_at)
        if event_id is not None and d.contact_usable(contact):
            doc |= {"deliveries_scheduled": True, "scheduled_by": event_id}
        return doc

    async def _on_match_event(self, event: MatchCreated | MatchUpdated) -> None:
        await self.on_match(event.payload, event.occurred_at, event_id=event.event_id)

    async def _on_withdrawn_event(self, event: MatchWithdrawn) -> None:
        await self.on_withdrawn(event.payload, event.occurred_at)

    async def _on_contact_upserted(self, event: ContactUpserted) -> None:
        await self.on_contact(event.payload, deleted=False)

    async def _on_contact_deleted(self, event: ContactDeleted) -> None:
        removed = event.payload
        version = FINAL_VERSION if removed.version is None else removed.version
        tombstone = ContactView(
            profile_id=removed.profile_id, version=version, display_name="", consent=False, active=False
        )
        await self.on_contact(tombstone, deleted=True)
        await self.forget(removed.profile_id)

    async def forget(self, profile_id: str) -> None:
        """A deleted seeker: her inbox and her delivery records go too (the items say where she
        lives and what she was offered; the records, what was pushed to her and when). What
        was sent stays counted, without her, in ``chunfeng_deliveries_total``; the daily cap
        has no one left to count for. The contact is already a tombstone without phone, name
        or addresses. Idempotent. A delivery the worker is sending at this moment finds its
        record gone and writes nothing back (updates do not create)."""
        await self.recommendations.delete_many({"profile_id": profile_id})
        await self.deliveries.delete_many({"profile_id": profile_id})

    # --- matches -------------------------------------------------------------------------------

    async def on_match(self, match: MatchView, event_at: datetime, *, event_id: str | None = None) -> None:
        now = self._clock()
        contact = await self.contacts.get(match.profile_id)
        if contact is not None and contact.get("deleted"):
            # The seeker was deleted; a match from before that (another topic, so it may come
            # later) must not give her an inbox again.
            log.info("match for a deleted seeker ignored", profile_id=match.profile_id)
            return
        rec_id = d.recommendation_id(match.profile_id, match.posting_id)
        doc = self._new_recommendation(match, event_at, now, contact, event_id)
        created = await self.recommendations.insert(doc)
        if created:
            # What was just inserted is what is stored: reading it back would cost a round trip per
            # match (the commonest event) for nothing. Later events of this seeker, a withdrawal
            # among them, come through this same partition after this one.
            rec: dict[str, Any] | None = doc
        else:
            await self._refresh(rec_id, match, event_at, now)
            rec = await self.recommendations.get(rec_id)
        if rec is not None and rec["status"] == "active" and d.contact_usable(contact):
            assert contact is not None
            if not rec.get("deliveries_scheduled"):
                await self._schedule(rec, contact, now)
            elif created or (event_id is not None and rec.get("scheduled_by") == event_id):
                # created marked just now, or the replay of the event that did (a crash may
                # have come before the deliveries): insert them, a no-op for those that exist
                await self._insert_deliveries(rec, contact, now)
        log.info("recommendation", id=rec_id, created=created)

    async def _refresh(self, rec_id: str, match: MatchView, event_at: datetime, now: datetime) -> None:
        """A later event for a known pair updates what the inbox shows; it never pushes again.

        A pair withdrawn and matched again becomes visible in the inbox once more, but it stays
        the same recommendation: its deliveries were created once and are not created again.
        """
        await self.recommendations.update(
            rec_id,
            set={
                **d.match_content(match),
                "event_at": event_at,
                "status": "active",
                "withdrawn_reason": None,
            },
            where={"event_at": {"$lte": event_at}},
        )

    async def _insert_deliveries(self, rec: dict[str, Any], contact: dict[str, Any], now: datetime) -> None:
        await self.deliveries.insert_many(
            [
                d.delivery_doc(rec["profile_id"], rec["posting_id"], channel, now=now)
                for channel in d.push_channels(contact, self._available)
            ]
        )

    async def _schedule(self, rec: dict[str, Any], contact: dict[str, Any], now: datetime) -> None:
        await self._insert_deliveries(rec, contact, now)
        await self.recommendations.update(rec["_id"], set={"deliveries_scheduled": True})

    async def on_withdrawn(self, match: MatchView, event_at: datetime) -> None:
        """Hide the inbox item and stop its pushes; a replayed older match cannot revive it."""
        now = self._clock()
        rec_id = d.recommendation_id(match.profile_id, match.posting_id)
        await self.recommendations.update(
            rec_id,
            set={
                "status": "withdrawn",
                "withdrawn_at": now,
                "withdrawn_reason": match.withdrawn_reason,
                "event_at": event_at,
            },
            where={"status": "active", "event_at": {"$lte": event_at}},
        )
        await self._cancel_pending({"recommendation_id": rec_id}, reason="withdrawn", now=now)

    async def _cancel_pending(self, where: dict[str, Any], *, reason: str, now: datetime) -> int:
        cancelled = 0
        for delivery in await self.deliveries.find({**where, "status": d.PENDING}):
            cancelled += await self.deliveries.update(
                delivery["_id"],
                set={"status": d.CANCELLED, "last_error": reason, "cancelled_at": now},
                where={"status": d.PENDING},
            )
        return cancelled

    # --- contacts ------------------------------------------------------------------------------

    async def on_contact(self, contact: ContactView, *, deleted: bool) -> None:
        now = self._clock()
        doc = d.contact_doc(contact, now=now, deleted=deleted)
        if not await self.contacts.insert(doc):
            stored = await self.contacts.get(contact.profile_id)
            if stored is not None and int(stored.get("version", 0)) >= contact.version:
                log.info("stale contact ignored", profile_id=contact.profile_id, version=contact.version)
                return
            body = {k: v for k, v in doc.items() if k != "_id"}
            if not await self.contacts.update(
                contact.profile_id, set=body, where={"version": {"$lt": contact.version}}
            ):
                return  # a newer version won the race
        if d.contact_usable(doc):
            for rec in await self.recommendations.find(
                {"profile_id": contact.profile_id, "status": "active", "deliveries_scheduled": False}
            ):
                await self._schedule(rec, doc, now)
        else:
            # Consent withdrawn, contact deactivated or deleted: nothing more is pushed.
            await self._cancel_pending({"profile_id": contact.profile_id}, reason="contact_inactive", now=now)


# A deletion that does not say which version it ends is final: no older upsert may revive it.
FINAL_VERSION = 2**62


def make_consumer_loop(
    bus: Bus, handler: NotifyHandler, group_id: str = "notify", *, extra: Routes | None = None
) -> ConsumerLoop:
    """``extra``: routes of notify's other parts (the fairs' invitations)."""
    return ConsumerLoop(
        bus,
        group_id=group_id,
        routes={**handler.routes(), **(extra or {})},
        batch_routes=handler.batch_routes(),
        client_id="notify-consumer",
    )
