"""Fake SMS gateway + WeChat template-message API: records what would have been sent.

``POST /send``   ``{"to": "<phone>", "text": "...", "idempotency_key": "..."}``
``POST /wechat`` ``{"openid": "...", "text": "...", "idempotency_key": "..."}``
    Both answer ``{"status": "accepted", "id": "..."}``. A repeated idempotency key (per
    channel) answers the first answer again and stores nothing, only counts the repeat on the
    first message (``repeats``, in memory: the chaos runs read it to see resends absorbed).
    Accepted messages go to an in-memory list and are appended to a JSONL file
    (``GATEWAY_JSONL``), which is read back at start-up, so idempotency survives a restart.
``POST /inbound`` ``{"from": "<phone>", "text": "1"}``: a seeker's text to the service number.
    Recorded (channel ``sms-in``) and handed to ``GATEWAY_INBOUND_URL`` (notify's
    ``/v1/sms/inbound``) with ``GATEWAY_INBOUND_KEY``; the text notify answers is sent back to
    the phone (recorded like any SMS) and returned. Unconfigured: 503, the message kept.
``GET /messages`` what would have been sent, newest first (``?to=`` filters, ``?limit=``).
``DELETE /messages`` forgets everything (memory and file).
``GET /healthz``

``GATEWAY_FAIL_RATE`` (0..1) answers that share of sends with 503 before accepting them, so
that the caller's retries get exercised. ``GATEWAY_REPLY_DELAY_S`` answers an accepted send that
much later, as a slow carrier does: long enough for a caller to die after its message went out.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.settings import GatewaySettings


class SmsRequest(BaseModel):
    to: str = Field(min_length=1, description="phone number")
    text: str = Field(min_length=1)
    idempotency_key: str | None = None


class WechatRequest(BaseModel):
    openid: str = Field(min_length=1)
    text: str = Field(min_length=1)
    idempotency_key: str | None = None


class InboundRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from", min_length=1, max_length=20, description="the sender's phone")
    text: str = Field(max_length=500)


class InboundForwarded(BaseModel):
    status: str = "forwarded"
    action: str
    reply: str


class Accepted(BaseModel):
    status: str = "accepted"
    id: str


class Outbox:
    """The messages accepted so far, in memory and in a JSONL file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[dict[str, Any]] = []
        self.by_key: dict[tuple[str, str], str] = {}
        self.repeats: dict[str, int] = {}  # message id -> requests repeating its idempotency key
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._remember(json.loads(line))

    def _remember(self, record: dict[str, Any]) -> None:
        self.messages.append(record)
        if record.get("idempotency_key"):
            self.by_key[(record["channel"], record["idempotency_key"])] = record["id"]

    def accept(self, channel: str, to: str, text: str, idempotency_key: str | None) -> Accepted:
        if idempotency_key and (channel, idempotency_key) in self.by_key:
            first = self.by_key[(channel, idempotency_key)]
            self.repeats[first] = self.repeats.get(first, 0) + 1
            return Accepted(id=first)
        record: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "channel": channel,
            "to": to,
            "text": text,
            "idempotency_key": idempotency_key,
            "received_at": datetime.now(UTC).isoformat(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._remember(record)
        return Accepted(id=record["id"])

    def clear(self) -> None:
        self.messages.clear()
        self.repeats.clear()
        self.by_key.clear()
        self.path.unlink(missing_ok=True)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    rng: random.Random | None = None,
    inbound_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The gateway app; ``settings`` default to the environment, ``rng`` decides the simulated
    failures, ``inbound_transport`` carries the inbound hook's calls (tests: notify in-process)."""
    settings = settings or GatewaySettings()
    fail_rate = settings.fail_rate
    outbox = Outbox(settings.jsonl)
    rng = rng or random.Random()
    app = FastAPI(title="Chunfeng fake SMS / WeChat gateway")
    app.state.outbox = outbox

    def maybe_fail() -> None:
        if fail_rate and rng.random() < fail_rate:
            raise HTTPException(status_code=503, detail="simulated gateway outage")

    async def reply(accepted: Accepted) -> Accepted:
        if settings.reply_delay_s:
            await asyncio.sleep(settings.reply_delay_s)
        return accepted

    # No await between the check and the store of ``accept``, so two sends cannot interleave there.
    @app.post("/send")
    async def send_sms(req: SmsRequest) -> Accepted:
        maybe_fail()
        return await reply(outbox.accept("sms", req.to, req.text, req.idempotency_key))

    @app.post("/wechat")
    async def send_wechat(req: WechatRequest) -> Accepted:
        maybe_fail()
        return await reply(outbox.accept("wechat", req.openid, req.text, req.idempotency_key))

    @app.post("/inbound")
    async def inbound(req: InboundRequest) -> InboundForwarded:
        outbox.accept("sms-in", req.from_, req.text, None)
        if (
            not settings.inbound_url
            or not settings.inbound_key
            or not settings.inbound_key.get_secret_value()
        ):
            raise HTTPException(status_code=503, detail="GATEWAY_INBOUND_URL/GATEWAY_INBOUND_KEY not set")
        key = settings.inbound_key.get_secret_value()
        async with httpx.AsyncClient(
            timeout=settings.inbound_timeout_s, transport=inbound_transport
        ) as client:
            r = await client.post(
                settings.inbound_url,
                json={"from": req.from_, "text": req.text},
                headers={"Authorization": f"Bearer {key}"},
            )
        if r.status_code != 200:
            raise HTTPException(status_code=502, detail=f"notify answered {r.status_code}")
        answer = r.json()
        outbox.accept("sms", req.from_, answer["reply"], None)  # the answer, as the seeker receives it
        return InboundForwarded(action=answer["action"], reply=answer["reply"])

    @app.get("/messages")
    async def list_messages(
        to: str | None = None, limit: int = Query(default=100, ge=1, le=10_000)
    ) -> list[dict[str, Any]]:
        newest_first = reversed(outbox.messages)
        chosen = [m for m in newest_first if to is None or m["to"] == to][:limit]
        return [{**m, "repeats": outbox.repeats.get(m["id"], 0)} for m in chosen]

    @app.delete("/messages")
    async def clear_messages() -> dict[str, str]:
        outbox.clear()
        return {"status": "cleared"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
