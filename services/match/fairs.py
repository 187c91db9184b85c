"""Who a recruitment event invites (精准推送), computed where the seekers and postings are indexed.

Why in match: an invitation goes to the looking seekers within reach of the venue for whom at
least one of the fair's postings fits, which is exactly what match's index and scoring answer
(feasible under the hard constraints, scoring at least the policy's threshold). Campaign, which
owns the fairs, knows no seekers; notify, which delivers, knows no postings.

``invitees`` is pure: the engine's state and the fair in, {seeker: fitting postings} out.
``FairInviter`` publishes one ``fair.invited`` per seeker with an id derived from (fair, seeker),
so a fair edited ten times, or an event replayed, is one invitation per seeker in effect;
notify keeps the first and drops the rest. A fair whose start has passed invites nobody.
"""

from __future__ import annotations

from shared import places
from shared.bus.base import Publisher
from shared.consume import EventRouter, Routes
from shared.events import (
    FairAnnounced,
    FairEvent,
    FairInvitation,
    FairInvited,
    FairUpdated,
    FairView,
    invitation_event_id,
    to_record,
)
from shared.logging import get_logger

from .engine import MatchEngine
from .scoring import score_features
from .scoring.features import profile_features

log = get_logger("match.fairs")

MAX_SEARCH = 1_000_000  # seekers examined per posting at most


def within_reach(home_adcode: str, fair: FairView) -> bool:
    """The seeker's home county is within ``reach_km`` of the venue's county."""
    home, venue = places.resolve(home_adcode), places.resolve(fair.adcode)
    if home is None or venue is None:
        return False
    return home.adcode == venue.adcode or places.distance_km(home, venue) <= fair.reach_km


def invitees(engine: MatchEngine, fair: FairView) -> dict[str, list[str]]:
    """The seekers to invite and, for each, the fair's postings that fit them (sorted ids).

    A posting fits when it is open with a position left, passes every hard constraint for the
    seeker and scores at least the threshold: the index finds the candidates best first, and
    each is confirmed with ``score_features``, as the engine confirms its own.
    """
    threshold = engine.policy.threshold
    found: dict[str, list[str]] = {}
    for posting_id in sorted(set(fair.posting_ids)):
        pfeat = engine.posting_features(posting_id)
        if pfeat is None:
            continue
        want = 256
        while True:
            cands = engine.index.top_profiles_for_posting(pfeat, want)
            for profile_id, approx in cands:
                if approx < threshold - 1e-6:
                    break
                view = engine.profile_view(profile_id)
                if view is None or not within_reach(view.home.adcode, fair):
                    continue
                pair = score_features(
                    profile_features(view, engine.policy), pfeat, engine.policy, year=engine.year
                )
                if pair is not None and pair.score >= threshold:
                    found.setdefault(profile_id, []).append(posting_id)
            else:
                if len(cands) == want and want < MAX_SEARCH:
                    want *= 4
                    continue
            break
    return {pid: sorted(postings) for pid, postings in sorted(found.items())}


class FairInviter(EventRouter):
    def __init__(self, engine: MatchEngine, publisher: Publisher) -> None:
        self.engine = engine
        self.publisher = publisher

    def routes(self) -> Routes:
        return {FairAnnounced: self.on_fair, FairUpdated: self.on_fair}

    async def on_fair(self, event: FairEvent) -> None:
        fair = event.payload
        if fair.status != "announced" or fair.starts_at <= event.occurred_at:
            return  # cancelled, or already begun: nobody is invited any more
        invited = invitees(self.engine, fair)
        venue = places.label(fair.adcode)
        records = [
            to_record(
                FairInvited(
                    event_id=invitation_event_id(fair.id, profile_id),
                    key=profile_id,
                    producer="match",
                    payload=FairInvitation(
                        fair_id=fair.id,
                        profile_id=profile_id,
                        posting_ids=postings,
                        postings=[self._label(p) for p in postings],
                        title=fair.title,
                        kind=fair.kind,
                        starts_at=fair.starts_at,
                        place=venue,
                        address=fair.address,
                        link=fair.link,
                    ),
                )
            )
            for profile_id, postings in invited.items()
        ]
        if records:
            await self.publisher.publish_many(records)
        log.info("fair invitations", fair_id=fair.id, version=fair.version, invited=len(records))

    def _label(self, posting_id: str) -> str:
        view = self.engine.posting_view(posting_id)
        return f"{view.title}（{view.employer.name}）" if view is not None else posting_id
