"""The consumer loop commits only what was handled and retries a failing handler."""

from __future__ import annotations

import asyncio

from shared.bus.memory import MemoryBus
from shared.consume import ConsumerLoop
from shared.events import Envelope, envelope


async def test_failing_handler_is_retried_and_nothing_is_skipped() -> None:
    bus = MemoryBus()
    pub = bus.publisher("p")
    for i in range(5):
        await pub.publish("t", "k", envelope(type="x", key="k", payload={"i": i}, producer="t").to_bytes())
    await pub.publish("t", "k", b"not json")  # a poison pill is skipped, not retried forever
    seen: list[int] = []
    failures = {"left": 2}

    async def handler(event: Envelope, _record: object) -> None:
        if event.payload["i"] == 2 and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database hiccup")
        seen.append(event.payload["i"])

    loop = ConsumerLoop(bus, group_id="g", topics=["t"], handler=handler, client_id="c")
    await loop.start()
    for _ in range(100):
        if len(seen) == 5:
            break
        await asyncio.sleep(0.05)
    await loop.stop()
    assert seen == [0, 1, 2, 3, 4]
    assert sum(bus.committed("g").values()) == 6
