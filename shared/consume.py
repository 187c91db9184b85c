"""The consumer loop every service uses: poll, handle, commit — in that order, never skipping.

A record is committed only after its handler returned, so a crash replays the uncommitted tail
and handlers must be idempotent (they are keyed on ``event_id`` or on the entity's version).
A handler that raises is retried with capped exponential backoff and the partition does not
move past it: losing an event is worse than waiting. A record that cannot even be parsed is a
poison pill: it is logged (masked) and committed, since no retry can ever make it valid.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from pydantic import ValidationError

from shared.bus.base import Bus, Consumer, Record
from shared.events import Envelope
from shared.logging import get_logger
from shared.metrics import EVENTS_HANDLED, HANDLER_FAILURES, POISON_RECORDS

Handler = Callable[[Envelope, Record], Awaitable[None]]

log = get_logger("consume")


class ConsumerLoop:
    def __init__(
        self,
        bus: Bus,
        *,
        group_id: str,
        topics: Sequence[str],
        handler: Handler,
        client_id: str,
        max_records: int = 100,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._consumer: Consumer = bus.consumer(group_id, topics, client_id)
        self._handler = handler
        self._max_records = max_records
        self._max_backoff_s = max_backoff_s
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.handled = 0
        self.group_id = group_id

    async def start(self) -> None:
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
            done: list[Record] = []
            for record in records:
                if not await self._handle_until_done(record):
                    break  # stopping: the rest is replayed by whoever takes over
                done.append(record)
            if done:
                await self._commit(done)

    async def _handle_until_done(self, record: Record) -> bool:
        try:
            event = Envelope.from_bytes(record.value)
        except ValidationError as exc:
            log.error("poison record skipped", topic=record.topic, offset=record.offset, error=str(exc))
            POISON_RECORDS.labels(self.group_id).inc()
            return True
        delay = 0.2
        while True:
            try:
                await self._handler(event, record)
                self.handled += 1
                EVENTS_HANDLED.labels(self.group_id, event.type).inc()
                return True
            except Exception as exc:
                HANDLER_FAILURES.labels(self.group_id).inc()
                log.warning(
                    "handler failed, will retry",
                    group=self.group_id,
                    event_id=event.event_id,
                    type=event.type,
                    error=repr(exc),
                )
                if self._stopping.is_set():
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff_s)

    async def _commit(self, records: list[Record]) -> None:
        delay = 0.2
        while True:
            try:
                await self._consumer.commit(records)
                return
            except Exception as exc:
                log.warning("commit failed, will retry", group=self.group_id, error=str(exc))
                if self._stopping.is_set():
                    return  # uncommitted records are replayed; handlers are idempotent
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff_s)
