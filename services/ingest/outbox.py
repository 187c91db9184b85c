"""Ingest's outbox: postings and profiles carry the events announcing them until published.

The relay itself (``shared.outbox``) is shared with notify; this module only says where
ingest's pending events are and how a published document is cleared: its ``outbox`` emptied,
but only if its ``version`` did not move since it was read (a newer write's events stay).
"""

from __future__ import annotations

from typing import Any

from services.ingest.documents import POSTING, PROFILE, entry_event
from shared.bus.base import Publisher
from shared.events import Event, Tombstone
from shared.logging import get_logger
from shared.outbox import OutboxRelay, OutboxSource
from shared.store.base import Doc, Store, Where

log = get_logger("ingest.outbox")

PENDING: Where = {"outbox_pending": True}


def document_events(doc: Doc) -> list[Event | Tombstone]:
    events: list[Event | Tombstone] = []
    for entry in doc.get("outbox") or []:
        try:
            events.append(entry_event(entry))
        except Exception as exc:  # cannot happen unless the document was edited by hand
            log.error("unreadable outbox entry skipped", id=doc["_id"], error=repr(exc))
    return events


def cleared(doc: Doc) -> tuple[dict[str, Any], Where | None]:
    return {"outbox": [], "outbox_pending": False}, {"version": doc["version"]}


def outbox_sources(store: Store) -> dict[str, OutboxSource]:
    return {
        kind.collection: OutboxSource(store.collection(kind.collection), PENDING, document_events, cleared)
        for kind in (POSTING, PROFILE)
    }


def ingest_relay(
    store: Store, publisher: Publisher, *, interval_s: float = 1.0, max_backoff_s: float = 30.0
) -> OutboxRelay:
    return OutboxRelay(
        outbox_sources(store),
        publisher,
        producer="ingest",
        interval_s=interval_s,
        max_backoff_s=max_backoff_s,
    )
