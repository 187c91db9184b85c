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

**Batches** (``batch_routes``: the consumer loop hands ``on_entities`` each run of posting and
profile events of a poll). Handled one by one, every event cost a read of the held version, a
publish and two writes, each a round trip to FerretDB or Kafka, while the engine's own work is
a fraction of a millisecond: the stage timings on ``/metrics`` showed match waiting on those.
A batch does the same steps in the same order, once for all: one read of the held versions per
collection, the engine (and the wider offers) over the events in order, one publish of all
changes, one bulk write of the matches, the waiting marks, then one bulk write of the entity
snapshots; the loop commits after. Order per key is kept (events are applied and published in
poll order), and so is idempotency: every event's changes stay in ``_unsent`` under its id until
the writes are done, so a retried batch re-sends exactly them, and a batch split into single
events (after a bad record) re-sends them too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from services.match.engine import MatchChange, MatchEngine
from services.match.wider import WiderOffers
from shared.bus.base import Publisher
from shared.consume import BatchRoutes, EventRouter, Routes
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
from shared.metrics import STAGE_SECONDS
from shared.store.base import Doc, Store, get_many

log = get_logger("match.consumer")

ACTIVE_POSTING = ("open",)
ACTIVE_PROFILE = ("looking",)
ENTITY_EVENTS = (PostingUpserted, PostingClosed, PostingDeleted, ProfileUpserted, ProfileDeleted)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time one stage of handling into ``chunfeng_stage_seconds{group="match"}``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels("match", name).observe(time.perf_counter() - started)


def entity_doc(view: PostingView | ProfileMatchView) -> Doc:
    """The snapshot match keeps of a posting or profile (``rebuild`` reads ``view``)."""
    return {
        "_id": view.id,
        "version": view.version,
        "status": view.status,
        "view": view.model_dump(mode="json"),
        "updated_at": utcnow(),
    }


def view_of(event: PostingEvent | ProfileEvent) -> PostingView | ProfileMatchView:
    view = event.payload
    if isinstance(event, PostingDeleted | ProfileDeleted) and view.status != "deleted":
        view = view.model_copy(update={"status": "deleted"})
    return view


def match_records(done: Sequence[tuple[str, list[MatchChange]]]) -> list[tuple[str, str, bytes | None]]:
    """The match events of these source events' changes, in order; each id is derived from the
    source event's, so a replay (or another instance applying the same input) publishes the same ids."""
    return [
        to_record(
            MATCH_EVENTS[change.kind](
                key=change.match.profile_id,
                payload=change.match,
                producer="match",
                event_id=derived_event_id(source_event_id, change.kind, change.match.match_id),
            )
        )
        for source_event_id, changes in done
        for change in changes
    ]


def match_doc(change: MatchChange, now: datetime) -> Doc:
    """The stored document of a match after this change (``rebuild`` and the API read ``view``)."""
    return {
        "_id": change.match.match_id,
        "profile_id": change.match.profile_id,
        "posting_id": change.match.posting_id,
        "status": "withdrawn" if change.kind == "withdrawn" else "active",
        "score": change.match.score,
        "view": change.match.model_dump(mode="json"),
        "updated_at": now,
    }


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
        # stored documents, not views: the engine encodes those that fit its compact form directly
        docs = [d["view"] for d in await self.matches.find({"status": "active"})]
        active = [v for v in docs if not v.get("wider")]
        declined = [(d["profile_id"], d["posting_id"]) for d in await self.declines.find({})]
        self.engine.load(postings, profiles, active, declined=declined)
        if self.wider is not None:
            waiting = [(d["_id"], d["since"]) for d in await self.waiting.find({}) if d.get("since")]
            self.wider.load(waiting, [MatchView.model_validate(v) for v in docs if v.get("wider")])
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

    def batch_routes(self) -> BatchRoutes:
        return {cls: self.on_entities for cls in ENTITY_EVENTS}

    async def on_entities(self, events: Sequence[PostingEvent | ProfileEvent]) -> None:
        """A run of posting and profile events in one pass (see the module's docstring)."""
        views = [(event, view_of(event)) for event in events]
        with stage("read"):
            held = await self._held_versions([view for _, view in views])
        done: list[tuple[str, list[MatchChange]]] = []
        snapshots: dict[str, dict[str, Doc]] = {"postings": {}, "profiles": {}}
        with stage("compute"):
            for event, view in views:
                kind = "postings" if isinstance(view, PostingView) else "profiles"
                if held.get((kind, view.id), -1) > view.version:
                    continue  # an older snapshot replayed or overtaken: the newer one already counts
                held[(kind, view.id)] = view.version
                changes = self._unsent.get(event.event_id)
                if changes is None:
                    changes = self._unsent[event.event_id] = self._compute(view, event.occurred_at)
                done.append((event.event_id, changes))
                snapshots[kind][view.id] = entity_doc(view)
        with stage("publish"):
            await self._publish_all(done)
        with stage("persist"):
            await self._persist([change for _, changes in done for change in changes])
            await self.persist_waiting()
            await self.postings.replace_many(list(snapshots["postings"].values()))
            await self.profiles.replace_many(list(snapshots["profiles"].values()))
        for _, view in views:
            if isinstance(view, ProfileMatchView) and view.status == "deleted":
                await self._forget(view)
        for event_id, _ in done:
            self._unsent.pop(event_id, None)
        changed = sum(len(changes) for _, changes in done)
        if changed:
            log.info("matches changed", events=len(events), changes=changed)

    async def _held_versions(
        self, views: Sequence[PostingView | ProfileMatchView]
    ) -> dict[tuple[str, str], int]:
        held: dict[tuple[str, str], int] = {}
        for kind, coll, cls in (
            ("postings", self.postings, PostingView),
            ("profiles", self.profiles, ProfileMatchView),
        ):
            ids = sorted({v.id for v in views if isinstance(v, cls)})
            if ids:
                for doc in await get_many(coll, ids):
                    held[(kind, doc["_id"])] = int(doc["version"])
        return held

    def _compute(self, view: PostingView | ProfileMatchView, at: datetime) -> list[MatchChange]:
        if isinstance(view, PostingView):
            return self._widen(self.engine.apply_posting(view), at, postings=[view.id])
        return self._widen(self.engine.apply_profile(view), at, profiles=[view.id])

    async def on_posting(self, event: PostingEvent) -> None:
        await self._apply(event, self.postings, view_of(event))

    async def on_profile(self, event: ProfileEvent) -> None:
        view = view_of(event)
        await self._apply(event, self.profiles, view)
        if isinstance(view, ProfileMatchView) and view.status == "deleted":
            await self._forget(view)

    async def _forget(self, view: ProfileMatchView) -> None:
        """A deleted seeker, once her withdrawals are published: nothing of her stays but her id
        and last version (so a replayed older upsert cannot bring her back) — no view, no
        matches, no declines, in the store or in memory. Idempotent, so a replay after a crash
        in between finishes the job."""
        await self.profiles.replace(
            {"_id": view.id, "version": view.version, "status": "deleted", "updated_at": utcnow()}
        )
        await self.matches.delete_many({"profile_id": view.id})
        await self.declines.delete_many({"profile_id": view.id})
        self.engine.forget_profile(view.id)

    async def _apply(self, event: Event, coll: Any, view: PostingView | ProfileMatchView) -> None:
        held = await coll.get(view.id)
        if held is not None and held["version"] > view.version:
            return  # an older snapshot replayed or overtaken: the newer one already counts
        changes = await self._emit(event.event_id, lambda: self._compute(view, event.occurred_at))
        await coll.replace(entity_doc(view))
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
        await self._publish_all([(source_event_id, changes)])

    async def _publish_all(self, done: Sequence[tuple[str, list[MatchChange]]]) -> None:
        """Every change of these source events, in their order, in one publish."""
        records = match_records(done)
        if records:
            await self.publisher.publish_many(records)

    async def _persist(self, changes: list[MatchChange]) -> None:
        """All of an event's (or a batch's) match documents in one bulk write: a posting's change
        can touch hundreds. In order, so a match changed twice ends as its last change."""
        if not changes:
            return
        now = utcnow()
        await self.matches.replace_many([match_doc(change, now) for change in changes])
