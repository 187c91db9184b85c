"""The funnel in the store: every accepted step is one guarded single-document write.

A step reads the pair, asks the state machine (``funnel.decide``), and writes the step, its
follow-up tasks (for a hire) and its funnel event in one update under ``where version`` — if
someone wrote in between, it is decided again on the fresh document. A repeat writes nothing;
an illegal step raises ``IllegalStep`` with the reason and writes nothing either.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.campaign import documents as d
from services.campaign.funnel import decide
from shared.events import FunnelStep, funnel_event
from shared.logging import get_logger
from shared.outbox import WriteHook, no_hook
from shared.store.base import Collection, Doc, Store, get_many

log = get_logger("campaign.repository")

MAX_ATTEMPTS = 5
POSTING_TTL_S = 60.0
POSTINGS_HELD = 20_000


class IllegalStep(ValueError):
    """The step does not follow from the pair's state; ``reason`` says why (shown in the 409)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Conflict(RuntimeError):
    """The pair kept changing under us; the caller may retry."""


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    role: str


SYSTEM = Actor("campaign", "system")


@dataclass(frozen=True, slots=True)
class StepResult:
    doc: Doc
    accepted: bool  # False: a repeat, nothing written


class FunnelRepository:
    def __init__(self, store: Store, on_write: WriteHook = no_hook) -> None:
        self.pairs: Collection = store.collection(d.PAIRS)
        self.postings: Collection = store.collection(d.POSTINGS)
        self.facts: Collection = store.collection(d.FACTS)
        self._on_write = on_write
        self._postings: dict[str, tuple[float, Doc]] = {}  # id -> (read at, doc): ``_posting_docs``

    async def ensure_indexes(self) -> None:
        await self.pairs.ensure_index([("outbox_pending", 1)])
        await self.pairs.ensure_index([("county", 1)])
        await self.pairs.ensure_index([("profile_id", 1)])
        await self.facts.ensure_index([("county", 1), ("at", 1)])
        await self.facts.ensure_index([("profile_id", 1)])

    async def take(
        self,
        profile_id: str,
        posting_id: str,
        step: str,
        *,
        at: datetime,
        actor: Actor,
        reason: str | None = None,
        followup: tuple[str, dict[str, Any]] | None = None,
        create: bool = False,
        context: dict[str, Any] | None = None,
        announce: bool = True,
    ) -> StepResult:
        """Take one step. ``create``: a pair not yet known may start here (events, not the API).

        ``announce=False`` records a step another service has already published on the funnel
        topic (notify's ``funnel.viewed``): the pair takes it, nothing is published again.

        ``followup`` (days, outcome) is recorded in the same write as the step it feeds;
        ``context`` (employer code and name) stands in for a posting campaign has not heard of yet.
        """
        pid = d.pair_id(profile_id, posting_id)
        for _ in range(MAX_ATTEMPTS):
            doc = await self.pairs.get(pid)
            fresh = doc is None
            if doc is None:
                if not create:
                    raise IllegalStep(decide({}, step, at).reason or "尚未向该求职者推荐此岗位")
                doc = {**d.new_pair(profile_id, posting_id, now=at), **(context or {})}
                await self._fill_posting(doc)
            decision = decide(d.taken(doc), step, at)
            if decision.outcome == "illegal":
                raise IllegalStep(decision.reason)
            if decision.outcome == "repeat" and followup is None:
                return StepResult(doc, accepted=False)
            fields, push = _step_write(
                doc, step, decision.outcome == "accept", at, actor, reason, followup, announce
            )
            if fresh:
                new = _fresh_pair(doc, fields, push)
                if not await self.pairs.insert(new):
                    continue  # created meanwhile: decide again on the stored one
                written = new
                self._on_write(d.PAIRS, pid, new)
            else:
                if not await self.pairs.update(
                    pid, set=fields, inc={"version": 1}, push=push or None, where={"version": doc["version"]}
                ):
                    continue
                written = await self.pairs.get(pid) or doc
                self._on_write(d.PAIRS, pid)
            log.info("funnel step", pair=pid, step=step, accepted=decision.outcome == "accept")
            return StepResult(written, accepted=decision.outcome == "accept")
        raise Conflict(f"pair {pid} is being changed concurrently; retry")

    async def note_withdrawn(self, profile_id: str, posting_id: str, reason: str | None) -> None:
        """A withdrawn recommendation is noted on the pair, not a funnel step: the seeker may
        still have been called and may still be hired."""
        await self.pairs.update(
            d.pair_id(profile_id, posting_id), set={"withdrawn_reason": reason or "已撤回"}
        )

    async def forget_remarks(self, profile_id: str) -> None:
        """A deleted seeker's pairs and facts keep ids, steps, times and who acted — the
        circular counts them, and its published figures must not change — but lose the free text
        an official typed (why she left, a follow-up's remark), which could name or describe
        her. Idempotent: a replay finds nothing left to clear."""
        for pair in await self.pairs.find({"profile_id": profile_id}):
            steps = pair.get("steps") or {}
            said = [s for s, v in steps.items() if isinstance(v, dict) and v.get("reason")]
            if said:
                await self.pairs.update(pair["_id"], set={f"steps.{s}.reason": None for s in said})
            outbox = pair.get("outbox") or []
            scrubbed = [_without_reason(e) for e in outbox]
            if scrubbed != outbox:  # funnel events not yet published: they go out without it
                # only if the relay has not cleared them meanwhile (it does not bump the version)
                where = {"version": pair["version"], "outbox_pending": True}
                await self.pairs.update(pair["_id"], set={"outbox": scrubbed}, where=where)
        for fact in await self.facts.find({"profile_id": profile_id}):
            if fact.get("reason"):
                await self.facts.update(fact["_id"], set={"reason": None})

    async def recommend_new(self, items: Sequence[Recommended]) -> list[bool]:
        """Pairs that start with these recommendations, created in one insert; per item whether
        it was created here (False: the pair exists, or appears twice — ``take`` decides those).

        Why not ``take`` each: a profile's recommendations arrive as a run of match events, and
        ``take`` reads the pair and its posting before it inserts, three commands per pair where
        FerretDB's CPU per command bounds the pipeline. Almost every pair is new, so it is
        inserted as ``take`` would have written it (the same state machine, the same funnel
        event); its postings are read once per distinct posting; and a pair that already exists
        fails its insert alone (the id is the idempotency) and goes the careful way.
        """
        if not items:
            return []
        postings = await self._posting_docs({item.posting_id for item in items})
        docs: list[Doc | None] = []  # None: not accepted on a fresh pair; ``take`` reports it
        for item in items:
            doc = {**d.new_pair(item.profile_id, item.posting_id, now=item.at), **item.context}
            _fill(doc, postings.get(item.posting_id))
            if decide(d.taken(doc), "recommended", item.at).outcome != "accept":
                docs.append(None)
                continue
            fields, push = _step_write(doc, "recommended", True, item.at, SYSTEM, None, None, True)
            docs.append(_fresh_pair(doc, fields, push))
        inserted = iter(await self.pairs.insert_many([doc for doc in docs if doc is not None]))
        created: list[bool] = []
        for pair in docs:
            new = pair is not None and next(inserted)
            if pair is not None and new:
                log.info("funnel step", pair=pair["_id"], step="recommended", accepted=True)
                self._on_write(d.PAIRS, pair["_id"], pair)
            created.append(new)
        return created

    async def _fill_posting(self, doc: Doc) -> None:
        _fill(doc, (await self._posting_docs({doc["posting_id"]})).get(doc["posting_id"]))

    async def _posting_docs(self, ids: set[str]) -> dict[str, Doc]:
        """The postings a new pair takes its employer and county from, read at most once a minute.

        Why: every recommendation of a posting read the same posting again, a store command per
        pair. This process writes the postings collection (``upsert_posting``) and keeps what it
        wrote; the minute bounds how stale a posting changed by another campaign process can be
        (the pair's employer and county, which a posting rarely changes)."""
        now = time.monotonic()
        found: dict[str, Doc] = {}
        for id in ids:
            held = self._postings.get(id)
            if held is not None and now - held[0] < POSTING_TTL_S:
                found[id] = held[1]
        if len(self._postings) > POSTINGS_HELD:
            self._postings.clear()  # a province's postings would not all fit: start over
        for doc in await get_many(self.postings, sorted(ids - found.keys())):
            found[doc["_id"]] = doc
            self._postings[doc["_id"]] = (now, doc)
        return found

    async def upsert_posting(self, posting: Doc) -> None:
        """Keep the newest version of a posting; fill in pairs that were created before it arrived."""
        if not await self.postings.insert(posting):
            body = {k: v for k, v in posting.items() if k != "_id"}
            if not await self.postings.update(
                posting["_id"], set=body, where={"version": {"$lt": posting["version"]}}
            ):
                return
        self._postings[posting["_id"]] = (time.monotonic(), posting)
        for pair in await self.pairs.find({"posting_id": posting["_id"], "county": None}):
            await self.pairs.update(
                pair["_id"],
                set={k: posting[k] for k in ("employer_code", "employer_name", "county", "key_enterprise")},
            )


@dataclass(frozen=True, slots=True)
class Recommended:
    """A recommendation as ``recommend_new`` takes it (from a match event)."""

    profile_id: str
    posting_id: str
    at: datetime
    context: dict[str, Any]


def _fill(doc: Doc, posting: Doc | None) -> None:
    """A pair takes its posting's employer and county (the circular counts by them)."""
    if posting is not None:
        for key in ("employer_code", "employer_name", "county", "key_enterprise"):
            doc[key] = posting.get(key)


def _step_write(
    doc: Doc,
    step: str,
    accepted: bool,
    at: datetime,
    actor: Actor,
    reason: str | None,
    followup: tuple[str, dict[str, Any]] | None,
    announce: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields to set and the outbox entry to push for a step decided on ``doc``."""
    fields: dict[str, Any] = {"updated_at": d.iso(at)}
    push: dict[str, Any] = {}
    if accepted:
        fields[f"steps.{step}"] = {"at": d.iso(at), "by": actor.id, "role": actor.role, "reason": reason}
        if step == "hired":
            fields["followups"] = d.followups_for(at)
    if accepted and announce:
        payload = FunnelStep(
            profile_id=doc["profile_id"],
            posting_id=doc["posting_id"],
            step=step,  # type: ignore[arg-type]
            at=at,
            by=actor.id,
            role=actor.role,
            employer_code=doc.get("employer_code"),
            employer_name=doc.get("employer_name"),
            county=doc.get("county"),
            key_enterprise=bool(doc.get("key_enterprise")),
            reason=reason,
        )
        fields["outbox_pending"] = True
        push["outbox"] = {"$each": [d.outbox_entry(funnel_event(payload))]}
    if followup is not None:
        days, outcome = followup
        fields[f"followups.{days}.outcome"] = outcome
    return fields, push


def _fresh_pair(doc: Doc, fields: dict[str, Any], push: dict[str, Any]) -> Doc:
    """A pair's first document: ``doc`` with the step's fields, at version 1."""
    new = {**doc, "version": 1, "outbox": push.get("outbox", {}).get("$each", [])}
    for key, value in fields.items():
        _set_path(new, key, value)
    return new


def _without_reason(entry: dict[str, Any]) -> dict[str, Any]:
    payload = entry.get("payload")
    if isinstance(payload, dict) and payload.get("reason"):
        return {**entry, "payload": {**payload, "reason": None}}
    return entry


def _set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    doc[last] = value
