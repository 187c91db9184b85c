"""Builders for campaign's tests: typed posting, match and reply events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events import Feedback, FeedbackReplied, PostingUpserted, derived_event_id
from shared.models import PostingIn
from shared.views import posting_view
from tests.examples import example
from tests.unit.notify_fakes import match_event

CODE_A = "91422800MA4F3L2K8R"
CODE_B = "91360400MA35X7WQ3B"


def posting_event(
    posting_id: str = "j1",
    *,
    code: str = CODE_A,
    adcode: str = "422801",
    headcount: int = 50,
    version: int = 1,
) -> PostingUpserted:
    body: dict[str, Any] = example("posting")
    body["employer"]["credit_code"] = code
    body["location"]["adcode"] = adcode
    body["headcount"] = headcount
    view = posting_view(PostingIn.model_validate(body), id=posting_id, version=version, status="open")
    return PostingUpserted(
        key=posting_id,
        payload=view,
        producer="ingest",
        event_id=derived_event_id("p", posting_id, str(version)),
    )


def recommended(profile_id: str = "p1", posting_id: str = "j1", at: datetime | None = None) -> Any:
    return match_event(
        profile_id=profile_id,
        posting_id=posting_id,
        at=at,
        event_id=derived_event_id("m", profile_id, posting_id),
    )


def replied(profile_id: str, posting_id: str, interested: bool, at: datetime) -> FeedbackReplied:
    fb = Feedback(profile_id=profile_id, posting_id=posting_id, interested=interested, at=at)
    return FeedbackReplied(
        key=profile_id,
        payload=fb,
        producer="notify",
        event_id=derived_event_id("f", profile_id, posting_id, str(interested)),
    )
