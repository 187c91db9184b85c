"""The channel registry: which plugin serves which channel name, decided by settings alone."""

from __future__ import annotations

import httpx

from services.notify.channels.base import Channel, DeliveryError, OutboundMessage
from services.notify.channels.file_sink import FileSinkChannel
from services.notify.channels.gateway import sms_gateway, wechat_gateway
from services.notify.channels.inbox import InboxChannel
from services.notify.channels.webhook import WebhookChannel
from services.notify.settings import NotifySettings

PUSH_CHANNELS = ("sms", "wechat", "webhook")

__all__ = ["PUSH_CHANNELS", "Channel", "DeliveryError", "OutboundMessage", "build_channels"]


def build_channels(settings: NotifySettings, client: httpx.AsyncClient) -> dict[str, Channel]:
    channels: dict[str, Channel] = {"inbox": InboxChannel(), "webhook": WebhookChannel(client)}
    channels["sms"] = (
        sms_gateway(settings.sms_gateway_url, client)
        if settings.sms_gateway_url
        else FileSinkChannel("sms", settings.file_sink_path)
    )
    channels["wechat"] = (
        wechat_gateway(settings.wechat_gateway_url, client)
        if settings.wechat_gateway_url
        else FileSinkChannel("wechat", settings.file_sink_path)
    )
    return channels
