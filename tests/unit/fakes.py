"""Test doubles shared by several unit test modules."""

from __future__ import annotations

from shared.auth import KeyRing, KeySpec, Role, hash_key
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


ADMIN_KEY = "cf_unit-test-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def admin_keyring() -> KeyRing:
    """A key ring with one admin, for tests about something other than access control."""
    keyring = KeyRing()
    keyring.add(KeySpec(id="test-admin", role=Role.admin, key_sha256=hash_key(ADMIN_KEY)))
    return keyring
