from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from services.notify.channels import build_channels
from services.notify.channels.base import DeliveryError, OutboundMessage
from services.notify.channels.file_sink import FileSinkChannel
from services.notify.channels.gateway import sms_gateway, wechat_gateway
from services.notify.channels.webhook import WebhookChannel
from services.notify.settings import NotifySettings

MSG = OutboundMessage(
    delivery_id="p1:j1:sms",
    profile_id="p1",
    posting_id="j1",
    channel="sms",
    to="13912345678",
    text="【春风就业】你好",
)


def client_answering(status: int, seen: list[httpx.Request], body: object = None) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body if body is not None else {})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_sms_gateway_posts_recipient_text_and_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    async with client_answering(200, seen, {"id": "gw-42"}) as client:
        assert await sms_gateway("http://gw/sms", client).send(MSG) == "gw-42"
    assert json.loads(seen[0].content) == {
        "to": "13912345678",
        "text": "【春风就业】你好",
        "idempotency_key": "p1:j1:sms",
    }


async def test_wechat_gateway_uses_openid() -> None:
    seen: list[httpx.Request] = []
    msg = OutboundMessage("p1:j1:wechat", "p1", "j1", "wechat", "oWx-1", "hi")
    async with client_answering(202, seen) as client:
        assert await wechat_gateway("http://gw/wx", client).send(msg) == "p1:j1:wechat"
    assert json.loads(seen[0].content)["openid"] == "oWx-1"


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
async def test_gateway_errors_are_retryable_only_when_trying_again_can_help(
    status: int, retryable: bool
) -> None:
    async with client_answering(status, []) as client:
        with pytest.raises(DeliveryError) as err:
            await sms_gateway("http://gw/sms", client).send(MSG)
    assert err.value.retryable is retryable and str(status) in err.value.reason


async def test_timeout_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(DeliveryError) as err:
            await sms_gateway("http://gw/sms", client).send(MSG)
    assert err.value.retryable


async def test_webhook_posts_the_recommendation_json() -> None:
    seen: list[httpx.Request] = []
    msg = OutboundMessage(
        "p1:j1:webhook", "p1", "j1", "webhook", "https://agency.example/hook", "hi", {"score": 0.8}
    )
    async with client_answering(200, seen) as client:
        await WebhookChannel(client).send(msg)
    body = json.loads(seen[0].content)
    assert str(seen[0].url) == "https://agency.example/hook"
    assert body["recommendation"] == {"score": 0.8} and body["idempotency_key"] == "p1:j1:webhook"


async def test_file_sink_appends_jsonl_with_masked_recipient(tmp_path: Path) -> None:
    path = tmp_path / "out" / "messages.jsonl"
    sink = FileSinkChannel("sms", path)
    await sink.send(MSG)
    await sink.send(MSG)
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2 and lines[0]["to"] == "139****5678" and lines[0]["text"] == "【春风就业】你好"
    assert "13912345678" not in path.read_text(encoding="utf-8")


async def test_registry_uses_file_sink_without_gateway_urls_and_gateways_with_them(tmp_path: Path) -> None:
    async with httpx.AsyncClient() as client:
        plain = build_channels(NotifySettings(file_sink_path=str(tmp_path / "m.jsonl")), client)
        assert isinstance(plain["sms"], FileSinkChannel) and isinstance(plain["wechat"], FileSinkChannel)
        assert set(plain) == {"inbox", "sms", "wechat", "webhook"}
        wired = build_channels(NotifySettings(sms_gateway_url="http://gw/sms"), client)
        assert not isinstance(wired["sms"], FileSinkChannel) and isinstance(wired["wechat"], FileSinkChannel)
