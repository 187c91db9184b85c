"""What campaign hears: recommendations and replies move the funnel; postings give it the target
headcount, the employer and the county; its own funnel topic feeds the circular's facts.

The circular is built from ``chunfeng.funnel.v1`` (not from the pair documents) so that replaying
the topics into an empty database gives the same figures. ``funnel.viewed`` is the one funnel
event campaign does not produce (notify sees the seeker open their inbox); it is recorded on the
pair as well as counted. Every handler is idempotent: steps are
taken once per pair, postings are kept by version, facts are inserted under the event id.
A deleted seeker (``profile.deleted``) keeps her pairs and facts, which the circular counts, but
loses the free text officials wrote about her.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.campaign import documents as d
from services.campaign.repository import SYSTEM, Actor, FunnelRepository, IllegalStep, Recommended
from shared.bus.base import Bus
from shared.consume import BatchRoutes, ConsumerLoop, EventRouter, Routes
from shared.events import (
    FUNNEL_EVENTS,
    Event,
    FeedbackReplied,
    FunnelStep,
    MatchCreated,
    MatchUpdated,
    MatchWithdrawn,
    PostingClosed,
    PostingDeleted,
    PostingUpserted,
    ProfileDeleted,
)
from shared.logging import get_logger

log = get_logger("campaign.consumer")


class CampaignHandler(EventRouter):
    def __init__(self, repo: FunnelRepository) -> None:
        self.repo = repo

    def routes(self) -> Routes:
        routes: dict[type[Event], object] = {
            MatchCreated: self._on_match,
            MatchUpdated: self._on_match,
            MatchWithdrawn: self._on_withdrawn,
            FeedbackReplied: self._on_feedback,
            PostingUpserted: self._on_posting,
            PostingClosed: self._on_posting,
            PostingDeleted: self._on_posting,
            ProfileDeleted: self._on_profile_deleted,
        }
        for cls in FUNNEL_EVENTS.values():
            routes[cls] = self._on_funnel
        return routes  # type: ignore[return-value]

    def batch_routes(self) -> BatchRoutes:
        """Runs of recommendations and of funnel events, each in one write where it can be
        (``FunnelRepository.recommend_new``, the facts in one insert): per profile, match sends
        a few recommendations, and each funnel step comes back here as a fact."""
        batches: dict[type[Event], object] = {MatchCreated: self._on_matches, MatchUpdated: self._on_matches}
        for cls in FUNNEL_EVENTS.values():
            batches[cls] = self._on_funnels
        return batches  # type: ignore[return-value]

    async def _on_match(self, event: MatchCreated | MatchUpdated) -> None:
        m = event.payload
        await self._step(m.profile_id, m.posting_id, "recommended", event, context=_context(event))

    async def _on_matches(self, events: Sequence[MatchCreated | MatchUpdated]) -> None:
        items = [
            Recommended(e.payload.profile_id, e.payload.posting_id, e.occurred_at, _context(e))
            for e in events
        ]
        created = await self.repo.recommend_new(items)
        for event, new in zip(events, created, strict=True):
            if not new:  # the pair exists (or came twice): the state machine decides on it
                await self._on_match(event)

    async def _on_withdrawn(self, event: MatchWithdrawn) -> None:
        await self.repo.note_withdrawn(
            event.payload.profile_id, event.payload.posting_id, event.payload.withdrawn_reason
        )

    async def _on_feedback(self, event: FeedbackReplied) -> None:
        f = event.payload
        # The reply's topic is not the match's: if it overtook its recommendation, the reply
        # itself proves one was made (notify only takes replies to what is in the inbox).
        await self._step(f.profile_id, f.posting_id, "recommended", event, at=f.at)
        await self._step(
            f.profile_id, f.posting_id, "interested" if f.interested else "declined", event, at=f.at
        )

    async def _step(
        self,
        profile_id: str,
        posting_id: str,
        step: str,
        event: Event,
        at: datetime | None = None,
        context: dict[str, Any] | None = None,
        announce: bool = True,
        actor: Actor = SYSTEM,
    ) -> None:
        when = at or event.occurred_at
        try:
            await self.repo.take(
                profile_id,
                posting_id,
                step,
                at=when,
                actor=actor,
                create=True,
                context=context,
                announce=announce,
            )
        except IllegalStep as exc:  # e.g. a reply after the interview: noted, never a 409 to anyone
            log.info(
                "funnel step from an event not taken",
                profile_id=profile_id,
                posting_id=posting_id,
                step=step,
                reason=exc.reason,
            )

    async def _on_posting(self, event: PostingUpserted | PostingClosed | PostingDeleted) -> None:
        await self.repo.upsert_posting(
            d.posting_doc(event.payload, deleted=isinstance(event, PostingDeleted))
        )

    async def _on_profile_deleted(self, event: ProfileDeleted) -> None:
        await self.repo.forget_remarks(event.payload.id)

    async def _on_funnel(self, event: Event) -> None:
        await self._on_funnels([event])

    async def _on_funnels(self, events: Sequence[Event]) -> None:
        for event in events:
            await self._pair_of_view(event)
        await self.repo.facts.insert_many([d.fact_doc(e.event_id, e.payload) for e in events])  # type: ignore[attr-defined]

    async def _pair_of_view(self, event: Event) -> None:
        step: FunnelStep = event.payload  # type: ignore[attr-defined]
        if event.producer != "campaign" and step.step == "viewed":
            # The seeker's own look, seen and published by notify: the pair records it too (so
            # its state shows it) without announcing it a second time.
            await self._step(step.profile_id, step.posting_id, "recommended", event, at=step.at)
            await self._step(
                step.profile_id,
                step.posting_id,
                "viewed",
                event,
                at=step.at,
                announce=False,
                actor=Actor(step.by, step.role),
            )


def _context(event: MatchCreated | MatchUpdated) -> dict[str, Any]:
    """What a recommendation says of its employer, for a pair whose posting campaign has not seen."""
    posting = event.payload.posting
    return {"employer_code": posting.employer_code, "employer_name": posting.employer}


def make_consumer_loop(
    bus: Bus,
    handler: CampaignHandler,
    group_id: str = "campaign",
    *,
    extra: Routes | None = None,
    extra_batches: BatchRoutes | None = None,
) -> ConsumerLoop:
    """``extra``: routes of campaign's other parts (the fairs' invitation counter, the seekers'
    homes and masked contacts for the buses); ``extra_batches``: their batch handlers."""
    routes = {**handler.routes(), **(extra or {})}
    batches = {**handler.batch_routes(), **(extra_batches or {})}
    return ConsumerLoop(
        bus, group_id=group_id, routes=routes, batch_routes=batches, client_id="campaign-consumer"
    )
