"""Test doubles shared by several unit test modules."""

from __future__ import annotations

from shared.bus.base import Publisher


class FlakyPublisher(Publisher):
    """Wraps a real publisher and fails the first ``failures`` publishes, as a broker outage would."""

    def __init__(self, inner: Publisher, failures: int) -> None:
        self.inner, self.failures = inner, failures

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("broker down")
        await self.inner.publish(topic, key, value)

    async def ping(self) -> bool:
        return True
