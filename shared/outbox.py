"""The transactional outbox relay: publishes the events that writes left in their documents.

Every service that must announce a change it stored uses this one relay: ingest's postings and
profiles (the entity document carries its events), notify's undeliverable messages and seekers'
replies (the delivery or recommendation document carries a "to publish" mark). An
``OutboxSource`` says, for one collection, which documents are pending, which events a pending
document stands for, and how to clear it.

A request writes the entity and its events in one document, then kicks the relay, so on the
happy path an event reaches the bus a few milliseconds after the 201. When the bus is down the
write has still succeeded; the relay keeps the events in the documents and retries with
capped backoff until the bus is back. Nothing is lost, and since an event keeps the
``event_id`` it was given when written, a republished duplicate is recognised by consumers.

Exactly one task per process publishes, so the events of one entity are never interleaved.
A kick names the document just written, and the relay publishes it by id; the sweep over every
pending document (a query that FerretDB's SQLite backend answers by scanning the collection, and
that reads every pending document on any backend of FerretDB 1.x) runs only after a failure, at
start and stop, once per interval when nothing was kicked, and while kicks keep coming at most
every ``MAX_SWEEP_GAP_S`` (``sweep_now``), so a burst of writes does not cost one sweep each.
A document is cleared only if it did not move since it was read (the source's guard, e.g. its
version); otherwise the next round republishes it along with the newer events (duplicates are
harmless, loss is not).

A writer that holds the document exactly as it stored it (a creation: the document it inserted)
hands it over with the kick, and the round publishes from it without reading it back: on FerretDB
each read is a command whose cost (CPU in FerretDB, not the round trip) bounds the whole
pipeline's rate, and that read was one of a handful per profile. The clear is still guarded, so
a document that moved after it was handed over stays pending; the writer of the newer version
kicked again (the relay keeps the last hand-over per id, and a kick without a document drops
it), and a failed clear schedules a sweep as well.

A round takes its documents together: the kicked ones not handed over are read back by id, the
events of all of them go out in one publish (in document order, so each entity's events keep
theirs), and only then are the documents cleared, a few at a time (each clear is its own
guarded update of one document, so they need not wait on each other; ``gather_writes`` bounds
how many are in flight, which FerretDB needs). One document at a time, a round cost three round
trips per document, and under a burst of writes the relay fell behind the requests it follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.bus.base import Publisher
from shared.events import Event, Tombstone, to_record
from shared.logging import get_logger
from shared.metrics import EVENTS_PUBLISHED, STAGE_SECONDS
from shared.store.base import Collection, Doc, Sort, Where, gather_writes, get_many

log = get_logger("outbox")


class WriteHook(Protocol):
    """What a repository calls after each write with events: the relay's ``kick``."""

    def __call__(self, collection: str, id: str, doc: Doc | None = None, /) -> None: ...


def no_hook(collection: str, id: str, doc: Doc | None = None, /) -> None:
    """The hook of a repository without a relay (tests, tools)."""


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class OutboxSource:
    """One collection whose documents carry events not yet published.

    ``events`` turns a pending document into the events it stands for (in publishing order);
    ``clear`` gives the update that marks it published and the guard under which that update
    may apply (so that a document changed meanwhile stays pending and is published again).
    """

    collection: Collection
    pending: Where
    events: Callable[[Doc], Sequence[Event | Tombstone]]
    clear: Callable[[Doc], tuple[dict[str, Any], Where | None]]
    order: Sort = (("updated_at", 1),)


# Under a steady stream of kicks the sweep waits at most this long (or the interval, if longer).
MAX_SWEEP_GAP_S = 30.0


def sweep_now(due: bool, hot: bool, since_sweep_s: float, interval_s: float) -> bool:
    """Whether this round sweeps every pending document rather than publishing the kicked ones.

    Why the kicked ones come first: FerretDB 1.x fetches every document a filter matches before
    it applies a limit, so each batch of a sweep costs the whole backlog. Sweeping once per
    interval whatever the kicks (as before) turned a 20,000-row import into batches of 200 that
    each read all of the 15,000 still pending, and the relay fell to about 15 documents a second
    while the kicked ones waited. The sweep is the safety net for writes nobody kicked for
    (another process, a crash between write and kick): it runs when asked for (start, a failure),
    when there is nothing kicked to do and the interval has passed, and, while kicks keep coming,
    at least every ``MAX_SWEEP_GAP_S``.
    """
    if due:
        return True
    if hot:
        return since_sweep_s >= max(interval_s, MAX_SWEEP_GAP_S)
    return since_sweep_s >= interval_s


class OutboxRelay:
    def __init__(
        self,
        sources: Mapping[str, OutboxSource],
        publisher: Publisher,
        *,
        producer: str,
        interval_s: float = 1.0,
        max_backoff_s: float = 30.0,
        batch: int = 200,
    ) -> None:
        self._sources = dict(sources)
        self._publisher = publisher
        self._producer = producer
        self._interval_s = interval_s
        self._max_backoff_s = max_backoff_s
        self._batch = batch
        self._kicked = asyncio.Event()
        self._hot: dict[str, dict[str, Doc | None]] = {}
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

    def kick(self, collection: str | None = None, id: str | None = None, doc: Doc | None = None) -> None:
        """Ask for a round now (cheap; call it right after a write, naming what was written).

        ``doc``: the document exactly as the write stored it, when the writer knows it (see the
        module's docstring); otherwise the round reads it back."""
        if collection is not None and id is not None and collection in self._sources:
            self._hot.setdefault(collection, {})[id] = doc
        else:
            self._sweep_due = True
        self._kicked.set()

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"{self._producer}-outbox-relay")

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
        return {name: await src.collection.count(src.pending) for name, src in self._sources.items()}

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

    async def flush(self, names: Sequence[str] | None = None, *, yield_to_kicks: bool = False) -> int:
        """One round over every source (or those named); returns the number of events published.

        ``yield_to_kicks``: stop after the batch during which documents were kicked (the loop's
        sweeps). A sweep started just before a burst of writes otherwise never ended: each batch
        reads the whole backlog (``sweep_now``), and the burst kept the backlog above a batch.
        Raises what the bus or the store raised; documents not yet cleared stay pending.
        """
        async with self._lock:
            total = 0
            for name, src in self._sources.items():
                if names is not None and name not in names:
                    continue
                while True:
                    docs = await self._pending_docs(src, limit=self._batch)
                    if not docs:
                        break
                    published, cleared = await self._publish_and_clear_many(src, docs)
                    total += published
                    if len(docs) < self._batch or cleared == 0:
                        break  # what is left moved meanwhile; the next round takes it
                    if yield_to_kicks and self._hot:
                        return total  # the kicked ones first; the next sweep takes the rest
            return total

    async def flush_hot(self) -> int:
        """Publish the documents named by kicks since the last round, fetched by id in one query."""
        async with self._lock:
            hot, self._hot = self._hot, {}
            total = 0
            try:
                for name, handed in hot.items():
                    src = self._sources[name]
                    unread = sorted(id for id, doc in handed.items() if doc is None)
                    read = await get_many(src.collection, unread)
                    given = [doc for doc in handed.values() if doc is not None]
                    docs = _ordered([*given, *read], src.order)
                    pending = [doc for doc in docs if _matches(doc, src.pending)]
                    published, cleared = await self._publish_and_clear_many(src, pending)
                    total += published
                    if cleared < len(pending):
                        self._sweep_due = True  # one moved meanwhile: the sweep makes sure of it
            except Exception:
                self._sweep_due = True  # the sweep finds whatever this round left pending
                raise
            return total

    async def publish_now(self, name: str, doc: Doc) -> int:
        """Publish and clear one pending document at once (a caller that must not wait a round)."""
        async with self._lock:
            return (await self._publish_and_clear(self._sources[name], doc))[0]

    async def _publish_and_clear(self, src: OutboxSource, doc: Doc) -> tuple[int, bool]:
        published, cleared = await self._publish_and_clear_many(src, [doc])
        return published, cleared == 1

    async def _publish_and_clear_many(self, src: OutboxSource, docs: Sequence[Doc]) -> tuple[int, int]:
        """Publish every event of ``docs`` at once, then clear each; (events published, cleared)."""
        if not docs:
            return 0, 0
        events = [e for doc in docs for e in src.events(doc)]
        if events:
            started = time.perf_counter()
            await self._publisher.publish_many([to_record(e) for e in events])
            STAGE_SECONDS.labels(f"{self._producer}-outbox", "publish").observe(time.perf_counter() - started)
            self.published += len(events)
            EVENTS_PUBLISHED.labels(self._producer).inc(len(events))

        async def clear(doc: Doc) -> bool:
            set_, where = src.clear(doc)
            return await src.collection.update(doc["_id"], set=set_, where=where)

        started = time.perf_counter()
        cleared = await gather_writes(clear(doc) for doc in docs)
        STAGE_SECONDS.labels(f"{self._producer}-outbox", "clear").observe(time.perf_counter() - started)
        return len(events), sum(cleared)

    @staticmethod
    async def _pending_docs(src: OutboxSource, *, limit: int) -> list[Doc]:
        return await src.collection.find(src.pending, sort=src.order, limit=limit)

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
                since = time.monotonic() - self._last_sweep
                if sweep_now(self._sweep_due or delay > 0, bool(self._hot), since, self._interval_s):
                    self._sweep_due = False
                    # Kicked ids stay: a sweep cut short leaves them to the next round, which
                    # re-reads them by id and skips those the sweep cleared meanwhile.
                    n = await self.flush(yield_to_kicks=True)
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


def _ordered(docs: list[Doc], order: Sort) -> list[Doc]:
    """``docs`` sorted by ``order``, as the store would have returned them."""
    for field, direction in reversed(order):
        docs.sort(key=lambda d: (d.get(field) is None, d.get(field) or 0), reverse=direction < 0)
    return docs


def _matches(doc: Doc, pending: Where) -> bool:
    """Whether a document fetched by id is still pending (equality filters only, as sources use)."""
    return all(doc.get(k) == v for k, v in pending.items())
