"""Webhook: the whole recommendation as JSON, POSTed to the URL the seeker (or an agency) gave.

Agencies and township service stations integrate this way; they get structured data (factors,
score, posting summary) rather than a sentence, plus the same text an SMS would carry.
"""

from __future__ import annotations

import httpx

from services.notify.channels.base import Channel, DeliveryError, OutboundMessage
from services.notify.channels.http import post_json, provider_id


class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, msg: OutboundMessage) -> str:
        if not msg.to.startswith(("http://", "https://")):
            raise DeliveryError("webhook: no usable URL", retryable=False)
        body = {
            "idempotency_key": msg.delivery_id,
            "profile_id": msg.profile_id,
            "posting_id": msg.posting_id,
            "text": msg.text,
            "recommendation": msg.recommendation,
        }
        response = await post_json(self._client, msg.to, body, what="webhook")
        return provider_id(response, msg.delivery_id)
