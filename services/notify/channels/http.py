"""Shared HTTP error mapping: a 5xx or a network fault may pass, a 4xx will fail the same way again."""

from __future__ import annotations

from typing import Any

import httpx

from services.notify.channels.base import DeliveryError
from shared.masking import mask_text


async def post_json(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], *, what: str
) -> httpx.Response:
    try:
        response = await client.post(url, json=body)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"{what}: timeout ({type(exc).__name__})", retryable=True) from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}: {mask_text(str(exc))}", retryable=True) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise DeliveryError(f"{what}: HTTP {response.status_code}", retryable=True)
    if response.status_code >= 400:
        detail = mask_text(response.text[:200])
        raise DeliveryError(f"{what}: HTTP {response.status_code} {detail}".strip(), retryable=False)
    return response


def provider_id(response: httpx.Response, fallback: str) -> str:
    """The gateway's message id when it returns one, else our idempotency key."""
    try:
        data = response.json()
    except ValueError:
        return fallback
    if isinstance(data, dict):
        for key in ("id", "message_id", "msgid"):
            if data.get(key):
                return str(data[key])
    return fallback
