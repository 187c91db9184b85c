"""The part of a service's start-up that needs the database, retried in the background.

Why: a service whose lifespan awaited its indexes (or, for match, the index rebuild) did not
start at all while the database was down, so an orchestrator restarting everything after an
outage got crash loops instead of services that come back by themselves. Now the HTTP server
starts at once, ``/readyz`` answers 503 with ``"started": false`` (and the error) until these
steps have succeeded, and they are retried with capped exponential backoff until they do.
What must not run before them (the consumer loops: match must not score against an empty
index) is started as their last step. Steps must be idempotent: a failure halfway retries them
from the top.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from shared.logging import get_logger
from shared.masking import mask_text

log = get_logger("startup")

Step = Callable[[], Awaitable[None]]


class Startup:
    """Runs ``steps`` until they succeed once; ``ready()`` says whether they have."""

    def __init__(
        self,
        name: str,
        steps: Step,
        *,
        first_delay_s: float = 0.5,
        max_delay_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self._steps = steps
        self._first_delay_s = first_delay_s
        self._max_delay_s = max_delay_s
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._done = asyncio.Event()
        self.attempts = 0
        self.last_error: str | None = None

    async def start(self) -> None:
        """Try once now (the usual case: the database is up and start-up completes before the
        first request), and if that fails keep trying in the background."""
        if await self._attempt():
            return
        self._task = asyncio.create_task(self._retry(), name=f"{self.name}:startup")

    async def _attempt(self) -> bool:
        self.attempts += 1
        try:
            await self._steps()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.last_error = mask_text(repr(exc))[:300]
            log.warning(
                "start-up steps failed; not ready, will retry",
                service=self.name,
                attempt=self.attempts,
                error=self.last_error,
            )
            return False
        self.last_error = None
        self._done.set()
        log.info("start-up steps done; ready", service=self.name, attempts=self.attempts)
        return True

    async def _retry(self) -> None:
        delay = self._first_delay_s
        while True:
            await self._sleep(delay)
            if await self._attempt():
                return
            delay = min(delay * 2, self._max_delay_s)

    async def ready(self) -> bool:
        return self._done.is_set()

    async def wait(self) -> None:
        await self._done.wait()

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
