"""Seekers answering a recommendation SMS by keyword: 1 = interested, 2 = not interested.

The SMS gateway (the fake one in ``services/gateway``; a carrier's in production) hands each
inbound text to ``POST /v1/sms/inbound``, authenticated with the key of a ``gateway`` principal.
The sender's phone is looked up among the contacts, and the keyword applies to that seeker's
most recent open recommendation — the one the last SMS was about — through the same write as an
inbox reply (``services.notify.replies``), hence the same ``feedback.replied`` for match and
campaign. Anything else gets a help text, never an error: the seeker sees the answer as an SMS
(the gateway sends ``reply`` back), and the carrier must not retry a message we understood.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from services.notify import documents as d
from services.notify.consumer import utc_now
from services.notify.invitations import INVITATION
from services.notify.replies import NoRecommendation, Withdrawn, record_reply
from services.notify.transport import TRANSPORT
from shared.audit import AuditLog
from shared.auth import AUTH_RESPONSES, Principal, Role, require
from shared.logging import get_logger
from shared.masking import mask_text
from shared.models import IsoDateTime
from shared.store.base import Doc, Store

log = get_logger("notify.inbound")

router = APIRouter(prefix="/v1", tags=["notify"], responses=AUTH_RESPONSES)

Gateway = Annotated[Principal, Depends(require(Role.gateway))]

PREFIX = "【春风就业】"
HELP = f"{PREFIX}回复1表示对最近推荐的岗位有意向，回复2表示不感兴趣；更多岗位请到站内信查看。"
NOTHING_OPEN = f"{PREFIX}您目前没有待回复的岗位推荐，新的推荐会短信通知您。"
KEYWORDS: dict[str, bool] = {"1": True, "2": False}


class InboundSms(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    from_: str = Field(alias="from", min_length=5, max_length=20, description="the sender's phone")
    text: str = Field(max_length=500)
    received_at: IsoDateTime | None = None


class InboundResult(BaseModel):
    action: Literal["interested", "declined", "help", "nothing_open"]
    reply: str  # the text the gateway sends back to the phone
    posting_id: str | None = None


def keyword(text: str) -> bool | None:
    """interested (True), not (False), or None for anything that is not a keyword.

    NFKC folds the full-width digits many phone keyboards send (１, ２) into 1 and 2; spaces and
    a trailing full stop are forgiven."""
    folded = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！")
    return KEYWORDS.get(folded.strip())


def phone_key(raw: str) -> str:
    """The 11-digit mainland number, as contacts store it: +86, spaces and dashes dropped."""
    digits = re.sub(r"\D", "", raw)
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


async def latest_open(store: Store, phone: str) -> Doc | None:
    contacts = [
        c
        for c in await store.collection(d.CONTACTS).find({"phone": phone})
        if not c.get("deleted") and c.get("active", True)
    ]
    recs = store.collection(d.RECOMMENDATIONS)
    candidates: list[Doc] = []
    for contact in contacts:  # one phone is normally one seeker; a re-registered one may be two
        found = await recs.find(
            {"profile_id": contact["_id"], "status": "active"}, sort=[("created_at", -1), ("_id", 1)]
        )
        # a fair's invitation is answered by registering, a bus seat not at all: not by a keyword
        candidates += [r for r in found if r.get("kind") not in (INVITATION, TRANSPORT)][:1]
    return max(candidates, key=lambda r: d.as_utc(r["created_at"]) or utc_now(), default=None)


@router.post("/sms/inbound", response_model=InboundResult)
async def sms_inbound(request: Request, body: InboundSms, principal: Gateway) -> InboundResult:
    interested = keyword(body.text)
    if interested is None:
        log.info("inbound sms: not a keyword", sender=mask_text(body.from_))
        return InboundResult(action="help", reply=HELP)
    store: Store = request.app.state.store
    rec = await latest_open(store, phone_key(body.from_))
    if rec is None:
        log.info("inbound sms: nothing to answer", sender=mask_text(body.from_))
        return InboundResult(action="nothing_open", reply=NOTHING_OPEN)
    try:
        await record_reply(store, rec["profile_id"], rec["posting_id"], interested, utc_now())
    except (NoRecommendation, Withdrawn):  # withdrawn between the lookup and the write
        return InboundResult(action="nothing_open", reply=NOTHING_OPEN)
    audit: AuditLog = request.app.state.audit
    await audit.record(principal, "sms.reply", [rec["profile_id"]])
    posting = rec.get("posting") or {}
    job = "·".join(p for p in (posting.get("employer"), posting.get("title")) if p)
    if interested:
        text = f"{PREFIX}已收到，您对{job}有意向，招聘单位会尽快联系您。"
    else:
        text = f"{PREFIX}已收到，不再为您推荐{job}。"
    log.info("inbound sms: reply recorded", profile_id=rec["profile_id"], posting_id=rec["posting_id"])
    return InboundResult(
        action="interested" if interested else "declined", reply=mask_text(text), posting_id=rec["posting_id"]
    )
