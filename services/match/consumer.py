"""The match service's consumer: entity events in, match events out, state persisted last.

Order per event: let the engine compute the changes → publish them (deterministic event ids) →
persist the matches and the entity snapshot → the loop commits the offset. A crash anywhere
replays the event against the state as persisted, which yields the same changes with the same
event ids, so notify sees each at most once in effect. If publishing fails, the engine has
already moved on, so the computed changes are kept and re-sent on the loop's retry rather than
recomputed (a recomputation would find nothing left to change and lose them).

A seeker's reply (``feedback.replied`` from notify) follows the same order: "not interested"
makes the engine withdraw the pair for good and offer the next best → publish → persist the
matches, then the decline itself (``declines``, ``_id = "<profile>:<posting>"``, loaded by
``rebuild``). "Interested" changes nothing in matching.

With wider offers (``wider.py``), each event's changes also pass through ``WiderOffers.reconcile``
in the same computation, so the wider offers it withdraws travel and persist with the engine's
changes; the seekers' waiting marks are persisted last (``waiting``, ``_id`` = profile id).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.match.engine import MatchChange, MatchEngine
from services.match.wider import WiderOffers
from shared.bus.base import Publisher
from shared.consume import EventRouter, Routes
from shared.events import (
    MATCH_EVENTS,
    Event,
    FeedbackReplied,
    MatchView,
    PostingClosed,
    PostingDeleted,
    PostingEvent,
    PostingUpserted,
    PostingView,
    ProfileDeleted,
    ProfileEvent,
    ProfileMatchView,
    ProfileUpserted,
    derived_event_id,
    to_record,
    utcnow,
)
from shared.logging import get_logger
from shared.store.base import Store

log = get_logger("match.consumer")

ACTIVE_POSTING = ("open",)
ACTIVE_PROFILE = ("looking",)


class MatchProcessor(EventRouter):
    def __init__(
        self, engine: MatchEngine, store: Store, publisher: Publisher, wider: WiderOffers | None = None
    ) -> None:
        self.engine = engine
        self.wider = wider
        self.waiting = store.collection("waiting")
        self.publisher = publisher
        self.postings = store.collection("postings")
        self.profiles = store.collection("profiles")
        self.matches = store.collection("matches")
        self.declines = store.collection("declines")
        self._unsent: dict[str, list[MatchChange]] = {}

    async def setup(self) -> None:
        await self.matches.ensure_index([("profile_id", 1)])
        await self.matches.ensure_index([("posting_id", 1)])
        await self.matches.ensure_index([("status", 1)])

    async def rebuild(self) -> None:
        """Rebuild the in-memory index from the database after a restart (emits nothing)."""
        postings = [
            PostingView.model_validate(d["view"]) for d in await self.postings.find({"status": "open"})
        ]
        profiles = [
            ProfileMatchView.model_validate(d["view"])
            for d in await self.profiles.find({"status": "looking"})
        ]
        views = [MatchView.model_validate(d["view"]) for d in await self.matches.find({"status": "active"})]
        active = [m for m in views if not m.wider]
        declined = [(d["profile_id"], d["posting_id"]) for d in await self.declines.find({})]
        self.engine.load(postings, profiles, active, declined=declined)
        if self.wider is not None:
            waiting = [(d["_id"], d["since"]) for d in await self.waiting.find({}) if d.get("since")]
            self.wider.load(waiting, [m for m in views if m.wider])
        log.info(
            "index rebuilt",
            postings=len(postings),
            profiles=len(profiles),
            matches=len(active),
            declines=len(declined),
        )

    def routes(self) -> Routes:
        return {
            PostingUpserted: self.on_posting,
            PostingClosed: self.on_posting,
            PostingDeleted: self.on_posting,
            ProfileUpserted: self.on_profile,
            ProfileDeleted: self.on_profile,
            FeedbackReplied: self.on_feedback,
        }

    async def on_posting(self, event: PostingEvent) -> None:
        view = event.payload
        if isinstance(event, PostingDeleted) and view.status != "deleted":
            view = view.model_copy(update={"status": "deleted"})
        await self._apply(event, self.postings, view)

    async def on_profile(self, event: ProfileEvent) -> None:
        view = event.payload
        if isinstance(event, ProfileDeleted) and view.status != "deleted":
            view = view.model_copy(update={"status": "deleted"})
        await self._apply(event, self.profiles, view)

    async def _apply(self, event: Event, coll: Any, view: PostingView | ProfileMatchView) -> None:
        held = await coll.get(view.id)
        if held is not None and held["version"] > view.version:
            return  # an older snapshot replayed or overtaken: the newer one already counts
        at = event.occurred_at
        if isinstance(view, PostingView):
            changes = await self._emit(
                event.event_id, lambda: self._widen(self.engine.apply_posting(view), at, postings=[view.id])
            )
        else:
            changes = await self._emit(
                event.event_id, lambda: self._widen(self.engine.apply_profile(view), at, profiles=[view.id])
            )
        await coll.replace(
            {
                "_id": view.id,
                "version": view.version,
                "status": view.status,
                "view": view.model_dump(mode="json"),
                "updated_at": utcnow(),
            }
        )
        self._unsent.pop(event.event_id, None)
        if changes:
            log.info("matches changed", source=event.type, entity=view.id, changes=len(changes))

    async def on_feedback(self, event: FeedbackReplied) -> None:
        reply = event.payload
        if reply.interested:
            log.info("seeker interested", profile_id=reply.profile_id, posting_id=reply.posting_id)
            return
        decline_id = f"{reply.profile_id}:{reply.posting_id}"
        # [] when replayed: the engine remembers the decline
        changes = await self._emit(
            event.event_id,
            lambda: self._widen(
                self.engine.decline(reply.profile_id, reply.posting_id),
                event.occurred_at,
                profiles=[reply.profile_id],
            ),
        )
        await self.declines.replace(
            {
                "_id": decline_id,
                "profile_id": reply.profile_id,
                "posting_id": reply.posting_id,
                "at": reply.at,
                "updated_at": utcnow(),
            }
        )
        self._unsent.pop(event.event_id, None)
        log.info(
            "seeker declined", profile_id=reply.profile_id, posting_id=reply.posting_id, changes=len(changes)
        )

    def _widen(self, changes: list[MatchChange], at: datetime, **about: list[str]) -> list[MatchChange]:
        """The engine's changes, then what they change in the wider offers (``wider.py``)."""
        if self.wider is None:
            return changes
        return changes + self.wider.reconcile(changes, at, **about)

    async def persist_waiting(self) -> None:
        """The seekers' waiting marks that changed (``since`` None: waiting no more), in one batch."""
        if self.wider is None:
            return
        marks = self.wider.take_dirty()
        if not marks:
            return
        try:
            await self.waiting.replace_many([{"_id": pid, "since": since} for pid, since in marks.items()])
        except Exception:
            self.wider.dirty.update(marks)  # written with the next change or the next sweep
            raise

    async def sweep_wider(self, sweep_id: str, now: datetime, limit: int | None = None) -> int:
        """One sweep of wider offers, published and persisted like an event's changes.

        ``sweep_id`` stands for the source event: keep it until the call succeeds, so that a retry
        re-sends the same changes with the same event ids. ``sweep.py`` is the timer.
        """
        wider = self.wider
        if wider is None:
            return 0
        changes = await self._emit(sweep_id, lambda: wider.sweep(now, limit=limit))
        self._unsent.pop(sweep_id, None)
        if changes:
            log.info("wider offers", changes=len(changes), waiting=len(wider.waiting))
        return len(changes)

    async def _emit(self, event_id: str, compute: Callable[[], list[MatchChange]]) -> list[MatchChange]:
        """Compute an event's changes once, publish them, persist the matches.

        The changes stay in ``_unsent`` until the caller's last write for the event, because the
        engine has already moved on: a retry after a failed publish or a failed write must
        re-send and re-persist these changes, not recompute (which would find nothing to change).
        """
        changes = self._unsent.get(event_id)
        if changes is None:
            changes = self._unsent[event_id] = compute()
        await self._publish(event_id, changes)
        await self._persist(changes)
        await self.persist_waiting()
        return changes

    async def _publish(self, source_event_id: str, changes: list[MatchChange]) -> None:
        if not changes:
            return
        records = [
            to_record(
                MATCH_EVENTS[change.kind](
                    key=change.match.profile_id,
                    payload=change.match,
                    producer="match",
                    event_id=derived_event_id(source_event_id, change.kind, change.match.match_id),
                )
            )
            for change in changes
        ]
        await self.publisher.publish_many(records)

    async def _persist(self, changes: list[MatchChange]) -> None:
        """All of an event's match documents in one batch: a posting's change can touch hundreds."""
        now = utcnow()
        await self.matches.replace_many(
            [
                {
                    "_id": change.match.match_id,
                    "profile_id": change.match.profile_id,
                    "posting_id": change.match.posting_id,
                    "status": "withdrawn" if change.kind == "withdrawn" else "active",
                    "score": change.match.score,
                    "view": change.match.model_dump(mode="json"),
                    "updated_at": now,
                }
                for change in changes
            ]
        )
