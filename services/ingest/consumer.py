"""What ingest hears back: the funnel's hires and departures change postings and profiles.

A hire (``funnel.hired``) fills one position of the posting and marks the seeker hired; leaving
(``funnel.left``) puts the seeker back to looking. Both go through ingest's own repository, so
the usual posting and profile events go out and match reacts as it does to an official's edit:
a hired seeker gets nothing new, a posting with fewer open positions is re-scored, a filled
one withdraws its open recommendations.

Each change is applied at most once per funnel event: the event id is recorded in the changed
document in the same write (``Repository.apply_once``), so a redelivery counts nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from services.ingest.repository import NotFound, Repository
from shared.bus.base import Bus
from shared.consume import ConsumerLoop, EventRouter, Routes
from shared.events import FunnelHired, FunnelLeft
from shared.logging import get_logger
from shared.store.base import Doc

log = get_logger("ingest.consumer")

DataChange = Callable[[Doc], tuple[dict[str, Any], str] | None]


def fill_one(doc: Doc) -> tuple[dict[str, Any], str] | None:
    """One more position filled, never beyond the headcount (an over-hire is logged, not stored)."""
    data = dict(doc["data"])
    if int(data.get("filled", 0)) >= int(data["headcount"]):
        log.warning("hire beyond the headcount not counted", posting_id=doc["_id"])
        return None
    data["filled"] = int(data.get("filled", 0)) + 1
    if data.get("gig_days") and data["filled"] >= int(data["headcount"]):
        return data, "closed"  # 零工: a short job filled is done, not waiting for more hands
    return data, str(doc["status"])


def profile_status(to: str, only_from: tuple[str, ...]) -> DataChange:
    def change(doc: Doc) -> tuple[dict[str, Any], str] | None:
        if doc["status"] not in only_from:
            return None
        return {**doc["data"], "status": to}, to

    return change


class IngestHandler(EventRouter):
    def __init__(self, postings: Repository, profiles: Repository) -> None:
        self.postings = postings
        self.profiles = profiles

    def routes(self) -> Routes:
        return {FunnelHired: self._on_hired, FunnelLeft: self._on_left}

    async def _on_hired(self, event: FunnelHired) -> None:
        step = event.payload
        await self._apply(self.postings, step.posting_id, event.event_id, fill_one)
        await self._apply(
            self.profiles, step.profile_id, event.event_id, profile_status("hired", ("looking", "paused"))
        )

    async def _on_left(self, event: FunnelLeft) -> None:
        step = event.payload
        await self._apply(
            self.profiles, step.profile_id, event.event_id, profile_status("looking", ("hired",))
        )

    @staticmethod
    async def _apply(repo: Repository, id: str, mark: str, change: DataChange) -> None:
        def parsed(doc: Doc) -> tuple[BaseModel, str] | None:
            outcome = change(doc)
            if outcome is None:
                return None
            data, status = outcome
            return repo.kind.parse(data), status

        try:
            await repo.apply_once(id, mark, parsed)
        except NotFound:
            log.info("funnel event for an entity ingest no longer has", kind=repo.kind.name, id=id)


def make_consumer_loop(bus: Bus, handler: IngestHandler, group_id: str = "ingest") -> ConsumerLoop:
    return ConsumerLoop(bus, group_id=group_id, routes=handler.routes(), client_id="ingest-consumer")
