"""Fakes for notify's tests: a settable clock, a scripted channel, typed event builders."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.channels.base import Channel, DeliveryError, OutboundMessage
from shared.events import (
    ContactDeleted,
    ContactEvent,
    ContactRemoved,
    ContactUpserted,
    ContactView,
    MatchCreated,
    MatchEvent,
    MatchUpdated,
    MatchView,
    MatchWithdrawn,
    new_event_id,
    utcnow,
)

MATCH_TYPES: dict[str, type[MatchCreated | MatchUpdated | MatchWithdrawn]] = {
    "match.created": MatchCreated,
    "match.updated": MatchUpdated,
    "match.withdrawn": MatchWithdrawn,
}


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeChannel(Channel):
    """Records what it is asked to send; fails as scripted (a list of errors, then success)."""

    def __init__(self, name: str, failures: Iterable[DeliveryError] = ()) -> None:
        self.name = name
        self.failures = list(failures)
        self.sent: list[OutboundMessage] = []
        self.calls = 0

    async def send(self, msg: OutboundMessage) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(msg)
        return f"fake-{len(self.sent)}"


def match_payload(profile_id: str = "p1", posting_id: str = "j1", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "match_id": f"{profile_id}:{posting_id}",
        "profile_id": profile_id,
        "posting_id": posting_id,
        "score": 0.82,
        "rank": 1,
        "factors": [
            {"factor": "distance", "score": 0.7, "weight": 0.3, "detail": "距家约70公里"},
            {"factor": "wage", "score": 0.9, "weight": 0.3, "detail": "月薪3800–5200元，高于期望"},
            {"factor": "shift", "score": 1.0, "weight": 0.2, "detail": "周一至周五白班，双休"},
        ],
        "reason": "距家约70公里 · 月薪3800–5200元，高于期望 · 周一至周五白班，双休",
        "posting": {
            "title": "流水线普工（宝妈班）",
            "employer": "恩施示例电子",
            "wage_min": 3800,
            "wage_max": 5200,
            "shift": "weekday_day",
            "benefits": ["social_insurance"],
            "place": "恩施市",
            "open_positions": 40,
        },
        "distance_km": 70.0,
    }
    data.update(extra)
    return data


def match_event(
    type: str = "match.created", *, at: datetime | None = None, event_id: str | None = None, **kw: Any
) -> MatchEvent:
    payload = MatchView.model_validate(match_payload(**kw))
    return MATCH_TYPES[type](
        key=payload.profile_id,
        payload=payload,
        producer="match",
        event_id=event_id or new_event_id(),
        occurred_at=at or utcnow(),
    )


def contact_event(
    profile_id: str = "p1", version: int | None = 1, *, type: str = "contact.upserted", **extra: Any
) -> ContactEvent:
    if type == "contact.deleted":
        removed = ContactRemoved(profile_id=profile_id, version=version)
        return ContactDeleted(key=profile_id, payload=removed, producer="ingest")
    payload: dict[str, Any] = {
        "profile_id": profile_id,
        "version": version,
        "display_name": "张**",
        "phone": "13912345678",
        "wechat_openid": "oWx-123",
        "webhook_url": None,
        "channels": ["inbox", "sms"],
        "consent": True,
        "active": True,
    }
    payload.update(extra)
    return ContactUpserted(key=profile_id, payload=ContactView.model_validate(payload), producer="ingest")
