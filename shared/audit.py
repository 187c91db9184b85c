"""The audit trail: who read or changed which seeker's personal data, and when.

Each entry is both a structured log line (for the log pipeline an operator already watches) and
a document in the service's own ``audit`` collection (for the question a supervisor asks months
later: "who looked at 王小梅's record?"). An entry names the principal, its role, the action and
the profile ids — never the data itself, so the trail holds no phone or ID number to leak.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from shared.auth import Principal
from shared.logging import get_logger
from shared.store.base import Store

log = get_logger("audit")

COLLECTION = "audit"


class AuditLog:
    def __init__(self, store: Store, service: str) -> None:
        self.col = store.collection(COLLECTION)
        self.service = service

    async def ensure_indexes(self) -> None:
        await self.col.ensure_index([("profile_ids", 1), ("at", -1)])
        await self.col.ensure_index([("principal", 1), ("at", -1)])

    async def record(self, principal: Principal, action: str, profile_ids: Iterable[str]) -> None:
        """Write the entry before the data leaves: a read whose trail cannot be stored fails (503)."""
        ids = sorted(set(profile_ids))
        if not ids:
            return
        at = datetime.now(UTC)
        entry = {
            "_id": uuid.uuid4().hex,
            "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "service": self.service,
            "principal": principal.id,
            "role": str(principal.role),
            "action": action,
            "profile_ids": ids,
        }
        log.info("audit", principal=principal.id, role=str(principal.role), action=action, profile_ids=ids)
        await self.col.insert(entry)
