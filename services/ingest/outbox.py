"""The transactional outbox relay: publishes the events that writes left in their documents.

A request writes the entity and its events in one document, then kicks the relay, so on the
happy path an event reaches the bus a few milliseconds after the 201. When the bus is down the
write has still succeeded; the relay keeps the events in the documents and retries with
capped backoff until the bus is back. Nothing is lost, and since an event keeps the
``event_id`` it was given when written, a republished duplicate is recognised by consumers.

Exactly one task per process publishes, so the events of one entity are never interleaved.
A kick names the document just written, and the relay publishes it by id; the sweep over every
pending document (a query that FerretDB's SQLite backend answers by scanning the collection)
runs only once per interval, after a failure, and at start and stop, so a burst of writes does
not cost one collection scan each.
A document's outbox is cleared only if its version did not move since it was read; otherwise
the next round republishes it along with the newer events (duplicates are harmless, loss is not).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

from services.ingest.documents import entry_envelope, now_iso
from shared.bus.base import Publisher
from shared.logging import get_logger
from shared.store.base import Collection

log = get_logger("ingest.outbox")


class OutboxRelay:
    def __init__(
        self,
        collections: Mapping[str, Collection],
        publisher: Publisher,
        *,
        interval_s: float = 1.0,
        max_backoff_s: float = 30.0,
        batch: int = 200,
    ) -> None:
        self._collections = dict(collections)
        self._publisher = publisher
        self._interval_s = interval_s
        self._max_backoff_s = max_backoff_s
        self._batch = batch
        self._kicked = asyncio.Event()
        self._hot: dict[str, set[str]] = {}
        self._sweep_due = True
        self._last_sweep = 0.0
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self.last_success_at: str | None = None
        self.backoff_s = 0.0

    def kick(self, collection: str | None = None, id: str | None = None) -> None:
        """Ask for a round now (cheap; call it right after a write, naming what was written)."""
        if collection is not None and id is not None and collection in self._collections:
            self._hot.setdefault(collection, set()).add(id)
        else:
            self._sweep_due = True
        self._kicked.set()

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="ingest-outbox-relay")

    async def stop(self, *, final_flush: bool = True, timeout_s: float = 10.0) -> None:
        """Stop the loop, then try one last round so a clean shutdown leaves nothing pending."""
        self._stopping.set()
        self._kicked.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=timeout_s)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if final_flush:
            try:
                await asyncio.wait_for(self.flush(), timeout=timeout_s)
            except Exception as exc:  # the documents keep the events; the next start publishes them
                log.warning("final outbox flush failed; events stay pending", error=repr(exc))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def pending(self) -> dict[str, int]:
        """Documents with unpublished events, per collection (an indexed count, cheap to poll)."""
        return {name: await col.count({"outbox_pending": True}) for name, col in self._collections.items()}

    async def stats(self) -> dict[str, Any]:
        pending = await self.pending()
        return {
            "running": self.running,
            "pending_documents": sum(pending.values()),
            "pending_by_collection": pending,
            "published": self.published,
            "failures": self.failures,
            "backoff_s": self.backoff_s,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_success_at": self.last_success_at,
        }

    async def flush(self) -> int:
        """One round over every collection; returns the number of events published.

        Raises what the bus or the store raised; documents not yet cleared stay pending.
        """
        async with self._lock:
            total = 0
            for col in self._collections.values():
                while True:
                    docs = await self._pending_docs(col, limit=self._batch)
                    if not docs:
                        break
                    cleared = 0
                    for doc in docs:
                        published, ok = await self._publish_and_clear(col, doc)
                        total += published
                        cleared += ok
                    if len(docs) < self._batch or cleared == 0:
                        break  # what is left moved meanwhile; the next round takes it
            return total

    async def flush_hot(self) -> int:
        """Publish the documents named by kicks since the last round, each fetched by id."""
        async with self._lock:
            hot, self._hot = self._hot, {}
            total = 0
            try:
                for name, ids in hot.items():
                    col = self._collections[name]
                    for id in sorted(ids):
                        doc = await col.get(id)
                        if doc is not None and doc.get("outbox_pending"):
                            total += (await self._publish_and_clear(col, doc))[0]
            except Exception:
                self._sweep_due = True  # the sweep finds whatever this round left pending
                raise
            return total

    async def _publish_and_clear(self, col: Collection, doc: dict[str, Any]) -> tuple[int, bool]:
        published = await self._publish_doc(doc)
        ok = await col.update(
            doc["_id"], set={"outbox": [], "outbox_pending": False}, where={"version": doc["version"]}
        )
        return published, ok

    @staticmethod
    async def _pending_docs(col: Collection, *, limit: int) -> list[dict[str, Any]]:
        return await col.find({"outbox_pending": True}, sort=[("updated_at", 1)], limit=limit)

    async def _publish_doc(self, doc: dict[str, Any]) -> int:
        count = 0
        for entry in doc.get("outbox") or []:
            try:
                topic, env = entry_envelope(entry)
            except Exception as exc:  # cannot happen unless the document was edited by hand
                log.error("unreadable outbox entry skipped", id=doc["_id"], error=repr(exc))
                continue
            await self._publisher.publish(topic, env.key, env.to_bytes())
            count += 1
            self.published += 1
        return count

    async def _run(self) -> None:
        delay = 0.0
        while not self._stopping.is_set():
            if delay:
                # Backing off: kicks are ignored, only stopping cuts the wait short.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kicked.wait(), timeout=self._interval_s)
            self._kicked.clear()
            if self._stopping.is_set():
                return
            try:
                overdue = time.monotonic() - self._last_sweep >= self._interval_s
                if self._sweep_due or delay > 0 or overdue:
                    self._sweep_due = False
                    self._hot.clear()  # the sweep covers them
                    n = await self.flush()
                    self._last_sweep = time.monotonic()
                else:
                    n = await self.flush_hot()
            except Exception as exc:
                self._sweep_due = True
                self.failures += 1
                self.last_error = repr(exc)
                self.last_error_at = now_iso()
                delay = min(max(delay * 2, 0.1), self._max_backoff_s)
                self.backoff_s = delay
                log.warning("outbox publish failed, will retry", error=repr(exc), retry_in_s=delay)
                continue
            if delay:
                log.info("outbox publishing resumed", published=n)
            delay = 0.0
            self.backoff_s = 0.0
            if n:
                self.last_success_at = now_iso()
