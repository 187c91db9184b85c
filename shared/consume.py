"""The consumer loop every service uses: poll, parse, route, handle, commit — in that order.

Each record is parsed through the event registry (``shared.events.parse``) into exactly one
registered event class and routed to the handler registered for that class. Two kinds of
failure are told apart, because they need opposite treatment:

* **The record is bad** — not JSON, an unknown type or schema version on this topic, a payload
  that fails validation, or a handler that raises ``InvalidRecord``. No retry can ever make it
  acceptable, so it goes to the dead-letter topic (``RecordRejected``: the reason, the original
  bytes, where it came from), is committed, and the partition moves on.
* **The handler failed for a transient reason** (the database is down, the bus refused a
  publish). It is retried with capped exponential backoff and the partition does not move past
  it: losing an event is worse than waiting.

A record is committed only after its handler returned (or it was dead-lettered), so a crash
replays the uncommitted tail and handlers must be idempotent (they are keyed on ``event_id`` or
on the entity's version). A record of a registered type that this group has no handler for is
committed untouched: a tolerant reader, so producers can add event types consumers ignore.

**Batches.** A handler costs a few database and broker round trips per record, so handling a
poll's records one by one bounds a consumer at a few hundred records per second whatever the
CPU. A router may therefore also register *batch handlers* (``batch_routes``: event class ->
``async (events) -> None``) that take several events in one call and do one read, one publish
and one write for all of them. The loop hands a batch handler each run of consecutive records
(in poll order) routed to it, and commits only after it returned, so the order per key and the
at-least-once guarantee are those of the per-record path. A batch that fails for a transient
reason is retried whole (batch handlers are idempotent, as per-record ones are). If it raises
``InvalidRecord``, the loop cannot tell which record was bad, so it handles that run again one
record at a time through the per-record routes (every batched class must have one): the bad
record is dead-lettered alone and the others proceed.

A tombstone (a null value, on a compacted topic) is skipped and committed, never dead-lettered:
the deletion event published just before it did the work, and the tombstone is only there for
the broker's compaction.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from shared.bus.base import Bus, Consumer, Publisher, Record
from shared.events import (
    Event,
    InvalidRecord,
    RecordRejected,
    RejectedRecord,
    derived_event_id,
    original_text,
    parse,
    to_record,
    topics_of,
)
from shared.logging import get_logger
from shared.metrics import BATCH_SIZE, EVENTS_HANDLED, HANDLER_FAILURES, POISON_RECORDS, STAGE_SECONDS

Handler = Callable[[Any], Awaitable[None]]
Routes = Mapping[type[Event], Handler]
BatchHandler = Callable[[Any], Awaitable[None]]  # called with a Sequence of events
BatchRoutes = Mapping[type[Event], BatchHandler]


class EventRouter(ABC):
    """A service's handlers by event class; ``handle`` routes one event as the loop does."""

    @abstractmethod
    def routes(self) -> Routes: ...

    def batch_routes(self) -> BatchRoutes:
        """Handlers taking a run of events at once (see the module's docstring); none by default."""
        return {}

    async def handle(self, event: Event) -> None:
        """Route one event as the consumer loop would (tests and replays call this directly)."""
        handler = self.routes().get(type(event))
        if handler is not None:
            await handler(event)


Attempt = Callable[[], Awaitable[None]]
log = get_logger("consume")


class ConsumerLoop:
    def __init__(
        self,
        bus: Bus,
        *,
        group_id: str,
        routes: Routes,
        client_id: str,
        batch_routes: BatchRoutes | None = None,
        max_records: int = 100,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._routes = dict(routes)
        self._batch_routes = dict(batch_routes or {})
        missing = [cls.__name__ for cls in self._batch_routes if cls not in self._routes]
        if missing:
            raise ValueError(f"batch routes without a per-record route (needed for bad records): {missing}")
        self.topics = topics_of(self._routes)
        self._consumer: Consumer = bus.consumer(group_id, self.topics, client_id)
        self._rejects: Publisher = bus.publisher(f"{client_id}-rejects")
        self._max_records = max_records
        self._max_backoff_s = max_backoff_s
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.handled = 0
        self.rejected = 0
        self.group_id = group_id

    async def start(self) -> None:
        await self._rejects.start()
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consume:{self.group_id}")

    async def stop(self) -> None:
        """Finish the record in hand, commit what is done, leave the group."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=15)
            except TimeoutError:
                self._task.cancel()
        await self._consumer.stop()
        await self._rejects.stop()

    async def ping(self) -> bool:
        alive = self._task is not None and not self._task.done()
        return alive and await self._consumer.ping()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                records = await self._consumer.poll(timeout_s=0.5, max_records=self._max_records)
            except Exception as exc:
                log.warning("poll failed", group=self.group_id, error=str(exc))
                await asyncio.sleep(1)
                continue
            started = time.perf_counter()
            done = await self._handle_poll(records)
            if done:
                await self._commit(done)
            if records:
                STAGE_SECONDS.labels(self.group_id, "poll_handled").observe(time.perf_counter() - started)

    async def _handle_poll(self, records: list[Record]) -> list[Record]:
        """Handle a poll's records in order; returns those done (a prefix: stopping cuts it short).

        Consecutive records routed to one batch handler are handled in one call; the others (and
        records that do not parse, which are dead-lettered) one by one, in their place.
        """
        done: list[Record] = []
        run: list[tuple[Record, Event]] = []
        run_handler: BatchHandler | None = None

        async def flush() -> bool:
            nonlocal run, run_handler
            if run and run_handler is not None:
                ok = await self._handle_batch_until_done(run, run_handler)
                if not ok:
                    return False
                done.extend(r for r, _ in run)
            run, run_handler = [], None
            return True

        for record in records:
            batch_handler: BatchHandler | None = None
            event: Event | None = None
            if self._batch_routes and record.value is not None:  # a tombstone is skipped below
                try:
                    event = parse(record.topic, record.value)
                except InvalidRecord:
                    event = None  # dead-lettered below, in its place
                else:
                    batch_handler = self._batch_routes.get(type(event))
            if batch_handler is not None and event is not None:
                if run_handler is not None and batch_handler != run_handler and not await flush():
                    return done
                run_handler = batch_handler
                run.append((record, event))
                continue
            if not await flush() or not await self._handle_until_done(record, event):
                return done  # stopping: the rest is replayed by whoever takes over
            done.append(record)
        await flush()
        return done

    async def _handle_batch_until_done(self, run: list[tuple[Record, Event]], handler: BatchHandler) -> bool:
        events = [event for _, event in run]
        invalid: list[str] = []
        attempt = self._attempt(lambda: handler(events), invalid)
        started = time.perf_counter()
        if not await self._retry(
            attempt, "batch handler failed", first=events[0].event_id, size=str(len(events))
        ):
            return False
        if invalid:
            log.warning(
                "a batch had an invalid record; handling it record by record",
                group=self.group_id,
                size=len(events),
                reason=invalid[0][:300],
            )
            for record, event in run:
                if not await self._handle_until_done(record, event):
                    return False
            return True
        BATCH_SIZE.labels(self.group_id).observe(len(events))
        STAGE_SECONDS.labels(self.group_id, "batch_handler").observe(time.perf_counter() - started)
        self.handled += len(events)
        for event in events:
            EVENTS_HANDLED.labels(self.group_id, event.type).inc()
        return True

    def _attempt(self, call: Callable[[], Awaitable[None]], verdict: list[str]) -> Attempt:
        """One try of a handler for ``_retry``: a record the handler declared invalid puts its
        reason in ``verdict`` (no retry); any other failure is counted and raised (retried)."""

        async def attempt() -> None:
            try:
                await call()
            except InvalidRecord as exc:
                verdict.append(exc.reason)
            except Exception:
                HANDLER_FAILURES.labels(self.group_id).inc()
                raise

        return attempt

    async def _handle_until_done(self, record: Record, event: Event | None = None) -> bool:
        if record.value is None:
            return True  # a tombstone: nothing to handle, never a bad record
        if event is None:
            try:
                event = parse(record.topic, record.value)
            except InvalidRecord as exc:
                return await self._reject(record, exc.reason)
        handler = self._routes.get(type(event))
        if handler is None:
            return True
        verdict: list[str] = []
        attempt = self._attempt(lambda: handler(event), verdict)
        if not await self._retry(attempt, "handler failed", event_id=event.event_id, type=event.type):
            return False
        if verdict:
            return await self._reject(record, verdict[0])
        self.handled += 1
        EVENTS_HANDLED.labels(self.group_id, event.type).inc()
        return True

    async def _reject(self, record: Record, reason: str) -> bool:
        """Dead-letter a record no retry can fix; keep trying while the bus refuses (never drop it)."""
        event = RecordRejected(
            event_id=derived_event_id(
                "rejected", self.group_id, record.topic, str(record.partition), str(record.offset)
            ),
            key=record.key,
            producer=self.group_id,
            payload=RejectedRecord(
                group=self.group_id,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                reason=reason,
                original=original_text(record.value or b""),
            ),
        )
        if not await self._retry(
            lambda: self._rejects.publish_many([to_record(event)]), "dead-letter publish failed"
        ):
            return False
        self.rejected += 1
        POISON_RECORDS.labels(self.group_id).inc()
        log.error(
            "record rejected to the dead-letter topic",
            group=self.group_id,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason[:300],
        )
        return True

    async def _commit(self, records: list[Record]) -> None:
        # Stopping gives up: uncommitted records are replayed, and handlers are idempotent.
        await self._retry(lambda: self._consumer.commit(records), "commit failed")

    async def _retry(self, attempt: Callable[[], Awaitable[None]], failed: str, **context: str) -> bool:
        """Run ``attempt`` until it succeeds (True) or the loop is stopping (False), with capped
        exponential backoff: a broker or database that is down now is expected back."""
        delay = 0.2
        while True:
            try:
                await attempt()
                return True
            except Exception as exc:
                log.warning(f"{failed}, will retry", group=self.group_id, error=repr(exc), **context)
                if self._stopping.is_set():
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff_s)
