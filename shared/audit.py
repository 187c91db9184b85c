"""The audit trail: who read or changed which seeker's personal data, and when.

Each entry is both a structured log line (for the log pipeline an operator already watches) and
a document in the service's own ``audit`` collection (for the question a supervisor asks months
later: "who looked at 王小梅's record?"). An entry names the principal, its role, the action and
the profile ids — never the data itself, so the trail holds no phone or ID number to leak.

Repeated reads are coalesced: the same principal reading the same seekers the same way within
``read_window_s`` is one entry, not one per request. A dashboard or a client polling an inbox
every second would otherwise write an audit document per poll, competing with the service's
own writes for the database (on FerretDB's SQLite backend, measurably: the crash-recovery
integration test's polling slowed notify's delivery past its deadline). The question the trail
answers — who looked at whom, and roughly when — keeps its answer. Changes are never coalesced.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from shared.auth import Principal
from shared.logging import get_logger
from shared.store.base import Store

log = get_logger("audit")

COLLECTION = "audit"

# Profile ids per stored entry at most. The trail's index on ``profile_ids`` is, on FerretDB over
# PostgreSQL, a btree index on the whole array, and PostgreSQL refuses an index row beyond 8 KB
# (a btree's beyond 2.7 KB): the entry of a 500-row import (500 ids, 18 KB) failed the request
# after its rows were stored. An action on more seekers is stored as several entries alike.
MAX_IDS_PER_ENTRY = 50


class AuditLog:
    def __init__(self, store: Store, service: str, *, read_window_s: float = 60.0) -> None:
        self.col = store.collection(COLLECTION)
        self.service = service
        self.read_window_s = read_window_s
        self._recent: dict[tuple[str, str, tuple[str, ...]], float] = {}

    async def ensure_indexes(self) -> None:
        await self.col.ensure_index([("profile_ids", 1), ("at", -1)])
        await self.col.ensure_index([("principal", 1), ("at", -1)])

    async def record(
        self, principal: Principal, action: str, profile_ids: Iterable[str], *, read: bool = False
    ) -> None:
        """Write the entry before the data leaves: a read whose trail cannot be stored fails (503)."""
        ids = sorted(set(profile_ids))
        if not ids or (read and self._seen_recently(principal.id, action, ids)):
            return
        at = datetime.now(UTC)
        entries = [
            {
                "_id": uuid.uuid4().hex,
                "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "service": self.service,
                "principal": principal.id,
                "role": str(principal.role),
                "action": action,
                "profile_ids": ids[i : i + MAX_IDS_PER_ENTRY],
            }
            for i in range(0, len(ids), MAX_IDS_PER_ENTRY)
        ]
        log.info("audit", principal=principal.id, role=str(principal.role), action=action, profile_ids=ids)
        if len(entries) == 1:
            await self.col.insert(entries[0])
        else:
            await self.col.insert_many(entries)

    def _seen_recently(self, principal: str, action: str, ids: list[str]) -> bool:
        now = time.monotonic()
        key = (principal, action, tuple(ids))
        last = self._recent.get(key)
        if last is not None and now - last < self.read_window_s:
            return True
        if len(self._recent) > 10_000:  # bounded: forget what is outside the window anyway
            self._recent = {k: t for k, t in self._recent.items() if now - t < self.read_window_s}
        self._recent[key] = now
        return False
