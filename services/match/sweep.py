"""The timer of wider offers (放宽推荐): a periodic sweep beside the consumer loop.

The decision is ``WiderOffers.sweep`` (pure: the state and a time in, changes out); this module
only calls it every ``MATCH_WIDER_SWEEP_INTERVAL_S`` seconds with the current time. The sweep
and the consumer's handlers change the same engine and publish to the same topic, so they take
turns on one lock (``guard`` wraps the consumer's routes): an event's changes and a sweep's are
never interleaved between computing, publishing and persisting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from shared.consume import Handler, Routes
from shared.events import utcnow
from shared.logging import get_logger

log = get_logger("match.sweep")

Clock = Callable[[], datetime]


class Sweeper(Protocol):
    """What the timer drives: ``MatchProcessor`` sweeps; in scale-out, ``SweepTicks`` appends a tick."""

    async def sweep_wider(self, sweep_id: str, now: datetime, limit: int | None = None) -> int: ...


class WiderSweep:
    def __init__(
        self,
        processor: Sweeper,
        *,
        interval_s: float,
        batch: int,
        clock: Clock = utcnow,
    ) -> None:
        self.processor = processor
        self.interval_s = interval_s
        self.batch = batch
        self.clock = clock
        self.lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: tuple[str, datetime] | None = None  # a sweep whose publishing failed

    def guard(self, routes: Routes) -> Routes:
        """The consumer's routes, each taking the sweep's lock while it handles an event."""

        def locked(handler: Handler) -> Handler:
            async def run(event: Any) -> None:
                async with self.lock:
                    await handler(event)

            return run

        return {cls: locked(handler) for cls, handler in routes.items()}

    async def run_once(self) -> int:
        """One sweep now; how many wider-offer changes it published."""
        async with self.lock:
            if self._pending is None:
                now = self.clock()
                self._pending = (f"wider-sweep:{now.isoformat()}", now)
            sweep_id, now = self._pending
            changed = await self.processor.sweep_wider(sweep_id, now, limit=self.batch)
            self._pending = None
            return changed

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="match:wider-sweep")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception as exc:  # the bus or the store is down: the next tick retries
                log.warning("wider sweep failed", error=str(exc))
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval_s)
            except TimeoutError:
                pass
