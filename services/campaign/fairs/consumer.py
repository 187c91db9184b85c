"""Campaign counts the invitations match sent (``fair.invited``), one per seeker and fair."""

from __future__ import annotations

from services.campaign.fairs.repository import FairRepository
from shared.consume import EventRouter, Routes
from shared.events import FairInvited


class FairInvitationCounter(EventRouter):
    def __init__(self, repo: FairRepository) -> None:
        self.repo = repo

    def routes(self) -> Routes:
        return {FairInvited: self.on_invited}

    async def on_invited(self, event: FairInvited) -> None:
        await self.repo.invited(event.payload, at=event.occurred_at)
