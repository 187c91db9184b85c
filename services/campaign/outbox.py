"""Campaign's outbox: each pair document carries the funnel events of its accepted steps until
the shared relay (``shared.outbox``) publishes them; cleared only if the pair did not move since."""

from __future__ import annotations

from typing import Any

from services.campaign import documents as d
from services.campaign.fairs.repository import FAIRS, fairs_outbox
from services.campaign.transport.plans import PLANS, plans_outbox
from shared.bus.base import Publisher
from shared.events import Event
from shared.logging import get_logger
from shared.outbox import OutboxRelay, OutboxSource
from shared.store.base import Doc, Store, Where

log = get_logger("campaign.outbox")


def pair_events(doc: Doc) -> list[Event]:
    events = []
    for entry in doc.get("outbox") or []:
        try:
            events.append(d.entry_event(entry))
        except Exception as exc:  # cannot happen unless the document was edited by hand
            log.error("unreadable outbox entry skipped", id=doc["_id"], error=repr(exc))
    return events


def cleared(doc: Doc) -> tuple[dict[str, Any], Where | None]:
    return {"outbox": [], "outbox_pending": False}, {"version": doc["version"]}


def campaign_relay(
    store: Store, publisher: Publisher, *, interval_s: float = 1.0, max_backoff_s: float = 30.0
) -> OutboxRelay:
    sources = {
        d.PAIRS: OutboxSource(store.collection(d.PAIRS), {"outbox_pending": True}, pair_events, cleared),
        FAIRS: fairs_outbox(store),  # recruitment events: fair.announced/updated
        PLANS: plans_outbox(store),  # bus plans: transport.assigned, one per seeker seated
    }
    return OutboxRelay(
        sources, publisher, producer="campaign", interval_s=interval_s, max_backoff_s=max_backoff_s
    )
