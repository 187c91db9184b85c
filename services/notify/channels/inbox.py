"""The inbox channel: the recommendation document is the message, so sending is storing.

It is always on and never scheduled as a delivery; it exists so that the registry lists every
channel a seeker can choose, and so that code asking "how is this seeker reached" has one answer.
"""

from __future__ import annotations

from services.notify.channels.base import Channel, OutboundMessage


class InboxChannel(Channel):
    name = "inbox"

    async def send(self, msg: OutboundMessage) -> str:
        return f"{msg.profile_id}:{msg.posting_id}"
