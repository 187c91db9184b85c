"""One base for every way of reaching a seeker; concrete channels are plugins chosen by settings.

A channel only transports an already rendered message. Scheduling, retries, quiet hours and caps
belong to the worker, so a new channel is a single small class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    delivery_id: str  # also the idempotency key a gateway uses to drop a retry's duplicate
    profile_id: str
    posting_id: str
    channel: str
    to: str  # phone, openid or webhook URL, depending on the channel
    text: str
    recommendation: dict[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """A send failed. ``retryable`` says whether trying again later can help (5xx, timeout)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Channel(ABC):
    name: str

    @abstractmethod
    async def send(self, msg: OutboundMessage) -> str:
        """Deliver ``msg``; return the provider's message id. Raise ``DeliveryError`` on failure."""
