"""Scale-out of match: every instance applies one ordered log; each publishes and writes its own part.

Why this design. The engine's assignment is shared by all seekers: a posting is recommended to
at most ``capacity_multiple x open positions`` of them, and a better seeker bumps the weakest
holder, who is then offered their next best, a chain that may cross any partition. The engine
is also incremental and bounded (``max_cascade``, the index's candidate depths), so its outcome
may depend on the order in which the changes arrive. Splitting the seekers between instances
that each decide for their own would therefore either break the capacity (each holds its own
count) or need a cross-instance protocol (claims and bumps as messages) whose outcome equals one
instance's only if the assignment is order-independent, which this engine does not promise.

What the stage timings say (``chunfeng_stage_seconds``, README "Pipeline throughput"): match
spends most of its time in the store (the bulk writes of matches and snapshots) and the broker,
not in the engine (a fraction of a millisecond per event). So the scale-out keeps the decision
whole and splits the effects:

1. **Relay** (``InputRelay``): the instances share ``postings.v1``, ``profiles.v1`` and
   ``feedback.v1`` in one consumer group (``MATCH_CONSUMER_GROUP``), and append each input,
   unchanged (envelope and ``event_id`` kept), to ``chunfeng.match-input.v1`` as a
   ``MatchInput``. Every record has one key on a one-partition topic, so the order is total;
   it is kept forever (``TopicSpec.kept``), because it is the state's source.
2. **Apply** (``SequencedMatcher``): every instance reads the whole log from its start and runs the
   same deterministic engine (and wider offers) over it, so every instance holds the same
   assignment at every position: capacity, employer cap, bumping and declines are decided once
   per position, identically everywhere, and equal to what one instance applying the same log
   decides (one instance is the same code with ``MATCH_INSTANCES=1``).
3. **Effects by owner**: an instance publishes the match events and writes the match documents
   only of the seekers it owns (``owner``: crc32 of the profile id modulo ``MATCH_INSTANCES``),
   the snapshots of the postings and profiles it owns, and the declines and deletions of its
   seekers. Event ids are derived from the input's ``event_id`` as in the one-instance consumer.

Restarts. An instance rebuilds by replaying the log from the start (a fresh consumer group each
start); ``marks`` holds, per instance, the position up to which its effects are done (written
after them). Records before it are applied without effects; from it on, effects are (re)done:
publishing again sends the same event ids (notify deduplicates) and rewriting a document is
idempotent, so a crash between the effects and the mark loses nothing and doubles nothing. A
duplicate input in the log (a relay that crashed after publishing, before committing) changes
nothing: the engine ignores a version it holds, and a decline is idempotent.

Wider offers are swept at the same place in the log by every instance: the sweep's timer on
instance 0 appends a ``WiderSweepTick`` with its time instead of sweeping locally.

What this does not split: the engine's CPU and memory (every instance holds and computes all of
it), and start-up replays the whole log. While an instance is down, the others relay its
partitions (one consumer group) and go on; only its own seekers' effects wait for it. Fair
invitations are computed by the instance that receives the fair's event from the relay's group,
on its replica of the state.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.match.consumer import ENTITY_EVENTS, entity_doc, match_doc, match_records, view_of
from services.match.engine import MatchChange, MatchEngine
from services.match.wider import WiderOffers
from shared.bus.base import Publisher
from shared.consume import BatchRoutes, EventRouter, Routes
from shared.events import (
    FeedbackReplied,
    MatchInput,
    PostingView,
    ProfileMatchView,
    WiderSweepTick,
    to_record,
    utcnow,
)
from shared.logging import get_logger
from shared.store.base import Doc, Store

log = get_logger("match.sequence")

INPUTS = (*ENTITY_EVENTS, FeedbackReplied)
# Every record of the log under one key: one partition and one order even on a topic created
# with more partitions than the one ``shared.topics`` gives it.
LOG_KEY = "match-input"


def owner(key: str, instances: int) -> int:
    """The instance that publishes and writes for this seeker (or posting): fixed by the id and
    the number of instances, so every instance agrees without asking."""
    return zlib.crc32(key.encode()) % instances


class InputRelay(EventRouter):
    """Moves match's inputs, in the order of each partition, into the one-partition log."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    def routes(self) -> Routes:
        return {cls: self.on_input for cls in INPUTS}

    def batch_routes(self) -> BatchRoutes:
        return {cls: self.on_inputs for cls in INPUTS}

    async def on_input(self, event: MatchInput) -> None:
        await self.on_inputs([event])

    async def on_inputs(self, events: Sequence[object]) -> None:
        records = [to_record(MatchInput(key=LOG_KEY, payload=e, producer="match")) for e in events]  # type: ignore[arg-type]
        await self.publisher.publish_many(records)


class SweepTicks:
    """Stands in for the processor in ``WiderSweep``: instance 0 appends a tick to the log, which
    every instance then sweeps at (``SequencedMatcher``); the others do nothing."""

    def __init__(self, publisher: Publisher, *, instance: int) -> None:
        self.publisher = publisher
        self.instance = instance

    async def sweep_wider(self, sweep_id: str, now: datetime, limit: int | None = None) -> int:
        if self.instance == 0:
            tick = WiderSweepTick(sweep_id=sweep_id, now=now, limit=limit)
            record = to_record(MatchInput(key=LOG_KEY, payload=tick, producer="match"))
            await self.publisher.publish_many([record])
        return 0


@dataclass(slots=True)
class Outcome:
    """What applying one log record decided, kept until its effects are done."""

    source_id: str  # the input's event_id: match event ids are derived from it
    changes: list[MatchChange]
    snapshot: tuple[str, Doc] | None = None  # ("postings" | "profiles", document)
    decline: Doc | None = None
    forgotten: str | None = None  # a deleted seeker
    position: int = field(default=-1)


class SequencedMatcher(EventRouter):
    """Applies the log to the engine in order; does the effects this instance owns (module docstring)."""

    def __init__(
        self,
        engine: MatchEngine,
        store: Store,
        publisher: Publisher,
        wider: WiderOffers | None = None,
        *,
        instance: int = 0,
        instances: int = 1,
    ) -> None:
        if not 0 <= instance < instances:
            raise ValueError(f"instance {instance} is not one of 0..{instances - 1}")
        self.engine = engine
        self.wider = wider
        self.publisher = publisher
        self.instance = instance
        self.instances = instances
        self.postings = store.collection("postings")
        self.profiles = store.collection("profiles")
        self.matches = store.collection("matches")
        self.declines = store.collection("declines")
        self.marks = store.collection("marks")
        self.applied = 0  # log records applied to the engine so far
        self.effected = 0  # the position from which effects are not known to be done
        self._versions: dict[tuple[str, str], int] = {}
        self._unsent: dict[str, Outcome] = {}  # by the log record's event_id

    @property
    def mark_id(self) -> str:
        """Per instance and count: after a change of ``MATCH_INSTANCES`` the owners change, so
        each instance redoes its effects from the start (idempotent, see the module docstring)."""
        return f"{self.instance}-of-{self.instances}"

    def owns(self, key: str) -> bool:
        return owner(key, self.instances) == self.instance

    async def setup(self) -> None:
        await self.matches.ensure_index([("profile_id", 1)])
        await self.matches.ensure_index([("posting_id", 1)])
        await self.matches.ensure_index([("status", 1)])
        mark = await self.marks.get(self.mark_id)
        self.effected = int(mark["next"]) if mark else 0
        log.info(
            "replaying the input log", instance=self.instance, of=self.instances, effects_from=self.effected
        )

    def routes(self) -> Routes:
        return {MatchInput: self.on_record}

    def batch_routes(self) -> BatchRoutes:
        return {MatchInput: self.on_records}

    async def on_record(self, event: MatchInput) -> None:
        await self.on_records([event])

    async def on_records(self, events: Sequence[MatchInput]) -> None:
        """Apply each record once (a retried batch reuses what it decided), then the owned effects
        of the records from the mark on, then move the mark."""
        outcomes: list[tuple[str, Outcome]] = []
        for event in events:
            outcome = self._unsent.get(event.event_id)
            if outcome is None:
                outcome = self._apply(event.payload)
                outcome.position = self.applied
                self.applied += 1
                self._unsent[event.event_id] = outcome
            outcomes.append((event.event_id, outcome))
        due = [o for _, o in outcomes if o.position >= self.effected]
        if due:
            await self._effects(due)
            self.effected = due[-1].position + 1
        for event_id, _ in outcomes:
            self._unsent.pop(event_id, None)

    # -- deciding (the same on every instance) ------------------------------------------------------

    def _apply(self, inner: object) -> Outcome:
        if isinstance(inner, WiderSweepTick):
            changes = [] if self.wider is None else self.wider.sweep(inner.now, limit=inner.limit)
            return self._done(Outcome(inner.sweep_id, changes))
        if isinstance(inner, FeedbackReplied):
            reply = inner.payload
            if reply.interested:
                return Outcome(inner.event_id, [])
            changes = self._widen(
                self.engine.decline(reply.profile_id, reply.posting_id),
                inner.occurred_at,
                profiles=[reply.profile_id],
            )
            decline = {
                "_id": f"{reply.profile_id}:{reply.posting_id}",
                "profile_id": reply.profile_id,
                "posting_id": reply.posting_id,
                "at": reply.at,
            }
            return self._done(Outcome(inner.event_id, changes, decline=decline))
        assert isinstance(inner, ENTITY_EVENTS)
        view = view_of(inner)
        kind = "postings" if isinstance(view, PostingView) else "profiles"
        if self._versions.get((kind, view.id), -1) > view.version:
            return Outcome(inner.event_id, [])  # overtaken: the newer version already counts
        self._versions[(kind, view.id)] = view.version
        if isinstance(view, PostingView):
            changes = self._widen(self.engine.apply_posting(view), inner.occurred_at, postings=[view.id])
        else:
            changes = self._widen(self.engine.apply_profile(view), inner.occurred_at, profiles=[view.id])
        outcome = Outcome(inner.event_id, changes, snapshot=(kind, entity_doc(view)))
        if isinstance(view, ProfileMatchView) and view.status == "deleted":
            self.engine.forget_profile(view.id)
            outcome.forgotten = view.id
        return self._done(outcome)

    def _widen(self, changes: list[MatchChange], at: datetime, **about: list[str]) -> list[MatchChange]:
        if self.wider is None:
            return changes
        return changes + self.wider.reconcile(changes, at, **about)

    def _done(self, outcome: Outcome) -> Outcome:
        if self.wider is not None:
            self.wider.take_dirty()  # the waiting marks are rebuilt from the log, not stored
        return outcome

    # -- effects (this instance's part) -----------------------------------------------------------

    async def _effects(self, due: list[Outcome]) -> None:
        owned = [(o.source_id, [c for c in o.changes if self.owns(c.match.profile_id)]) for o in due]
        records = match_records(owned)
        if records:
            await self.publisher.publish_many(records)
        now = utcnow()
        docs = [match_doc(change, now) for _, changes in owned for change in changes]
        if docs:
            await self.matches.replace_many(docs)
        snapshots: dict[str, dict[str, Doc]] = {"postings": {}, "profiles": {}}
        for o in due:
            if o.snapshot is not None and self.owns(o.snapshot[1]["_id"]):
                snapshots[o.snapshot[0]][o.snapshot[1]["_id"]] = o.snapshot[1]
        for kind, coll in (("postings", self.postings), ("profiles", self.profiles)):
            if snapshots[kind]:
                await coll.replace_many(list(snapshots[kind].values()))
        declines = [
            o.decline | {"updated_at": now} for o in due if o.decline and self.owns(o.decline["profile_id"])
        ]
        if declines:
            await self.declines.replace_many(declines)
        for o in due:
            if o.forgotten is not None and self.owns(o.forgotten):
                # As the one-instance consumer: only the id and last version stay.
                assert o.snapshot is not None
                version = o.snapshot[1]["version"]
                await self.profiles.replace(
                    {"_id": o.forgotten, "version": version, "status": "deleted", "updated_at": now}
                )
                await self.matches.delete_many({"profile_id": o.forgotten})
                await self.declines.delete_many({"profile_id": o.forgotten})
        await self.marks.replace({"_id": self.mark_id, "next": due[-1].position + 1, "updated_at": now})
        changed = sum(len(c) for _, c in owned)
        if changed:
            log.info("matches changed", records=len(due), changes=changed)
