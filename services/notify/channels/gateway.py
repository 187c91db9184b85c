"""SMS and WeChat-style messages through an HTTP gateway (a carrier's or a fake one in compose).

Both gateways take the same shape of request and differ only in the recipient field, so one
class serves both. The delivery id travels as ``idempotency_key``: after a timeout we cannot
know whether the message went out, and the gateway, not we, is the one who can drop a duplicate.
"""

from __future__ import annotations

import httpx

from services.notify.channels.base import Channel, DeliveryError, OutboundMessage
from services.notify.channels.http import post_json, provider_id


class GatewayChannel(Channel):
    def __init__(self, name: str, url: str, client: httpx.AsyncClient, *, recipient_field: str) -> None:
        self.name = name
        self._url = url
        self._client = client
        self._recipient_field = recipient_field

    async def send(self, msg: OutboundMessage) -> str:
        if not msg.to:
            raise DeliveryError(f"{self.name}: no recipient", retryable=False)
        body = {self._recipient_field: msg.to, "text": msg.text, "idempotency_key": msg.delivery_id}
        response = await post_json(self._client, self._url, body, what=f"{self.name} gateway")
        return provider_id(response, msg.delivery_id)


def sms_gateway(url: str, client: httpx.AsyncClient) -> GatewayChannel:
    return GatewayChannel("sms", url, client, recipient_field="to")


def wechat_gateway(url: str, client: httpx.AsyncClient) -> GatewayChannel:
    return GatewayChannel("wechat", url, client, recipient_field="openid")
