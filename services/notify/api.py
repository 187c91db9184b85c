"""Notify's HTTP API: a seeker's inbox, their reply to a recommendation, and delivery status.

Opening the inbox is the funnel's "viewed" (查看), once per recommendation, when the seeker
themself reads it (``services.notify.replies``). The reply is the funnel's "intention" (意向): it
is what an official follows up by phone. It is also told to match (``feedback.replied``): the
reply marks the recommendation ``feedback_pending`` in the same write, and the delivery worker
publishes it and clears the mark, so a reply is accepted while Kafka is down and reaches match
once it is back.

Access: a seeker reads and answers their own inbox; an official those of the seekers whose home
(``home_adcode`` of the contact) is in its counties, and records answers given by phone. For
anyone else an inbox does not exist (404), so probing ids learns nothing. Inbox reads, replies
and delivery lists are audited.

An employer learns who a candidate is only here, and only once the seeker has said they are
interested in that posting (``GET /v1/candidates``): then the masked name (张**) and, if the
seeker consented to be contacted, the phone — what the HR manager needs to call back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, StrictBool

from services.notify import documents as d
from services.notify.consumer import utc_now
from services.notify.invitations import FAIR_PREFIX
from services.notify.replies import NoRecommendation, Withdrawn, mark_viewed, record_reply
from services.notify.transport import TRANSPORT_PREFIX
from shared.audit import AuditLog
from shared.auth import AUTH_RESPONSES, Principal, Role, forbidden, hidden, require
from shared.errors import CONFLICT, NOT_FOUND, unprocessable
from shared.events import FactorScore, PostingSummary
from shared.masking import mask_text
from shared.store.base import Store

router = APIRouter(prefix="/v1", tags=["notify"], responses=AUTH_RESPONSES)

SeekerSide = Annotated[Principal, Depends(require(Role.official, Role.seeker))]
EmployerSide = Annotated[Principal, Depends(require(Role.employer))]


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interested: StrictBool


class ReplyState(BaseModel):
    interested: bool
    at: datetime


class InboxItem(BaseModel):
    id: str
    profile_id: str
    posting_id: str
    posting: PostingSummary
    reason: str
    factors: list[FactorScore]
    score: float
    status: str  # active | withdrawn
    created_at: datetime
    withdrawn_reason: str | None = None
    reply: ReplyState | None = None


class Inbox(BaseModel):
    profile_id: str
    total: int
    items: list[InboxItem]


class InterestedCandidate(BaseModel):
    profile_id: str
    display_name: str  # 张**: never the full name
    phone: str | None  # only if the seeker consented to be contacted
    score: float
    replied_at: datetime


class DeliveryOut(BaseModel):
    id: str
    profile_id: str
    posting_id: str
    channel: str
    status: str  # pending | sending | sent | cancelled | dead
    attempts: int
    due_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    deferred_reason: str | None = None


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _audit(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit
    return audit


async def _check_seeker(request: Request, principal: Principal, profile_id: str) -> None:
    """The seeker themself, an official of their home county, or an admin; else 404."""
    if principal.is_admin or principal.is_seeker(profile_id):
        return
    if principal.role == Role.official:
        contact = await _store(request).collection(d.CONTACTS).get(profile_id)
        if contact and principal.covers_area(contact.get("home_adcode")):
            return
    raise hidden(principal, f"inbox {profile_id}", "没有这位求职者的收件箱")


def _item(doc: dict[str, Any]) -> InboxItem:
    reply = doc.get("reply")
    return InboxItem(
        id=doc["_id"],
        profile_id=doc["profile_id"],
        posting_id=doc["posting_id"],
        posting=PostingSummary.model_validate(doc["posting"]),
        reason=doc.get("reason", ""),
        factors=[FactorScore.model_validate(f) for f in doc.get("factors", [])],
        score=float(doc.get("score", 0)),
        status=doc.get("status", "active"),
        created_at=d.as_utc(doc["created_at"]) or utc_now(),
        withdrawn_reason=doc.get("withdrawn_reason"),
        reply=ReplyState(interested=reply["interested"], at=d.as_utc(reply["at"]) or utc_now())
        if reply
        else None,
    )


@router.get("/inbox/{profile_id}", response_model=Inbox, responses=NOT_FOUND)
async def inbox(
    request: Request,
    profile_id: str,
    principal: SeekerSide,
    include_withdrawn: bool = False,
    limit: int = Query(default=50, ge=1, le=500),
    skip: int = Query(default=0, ge=0),
) -> Inbox:
    await _check_seeker(request, principal, profile_id)
    where: dict[str, Any] = {"profile_id": profile_id}
    if not include_withdrawn:
        where["status"] = "active"
    recs = _store(request).collection(d.RECOMMENDATIONS)
    docs = await recs.find(where, sort=[("created_at", -1), ("_id", 1)], limit=limit, skip=skip)
    # A seeker's inbox is usually one page: count separately only when there may be more.
    total = skip + len(docs) if len(docs) < limit else await recs.count(where)
    if principal.is_seeker(profile_id):  # the seeker's own look, not an official's, is "viewed"
        await mark_viewed(_store(request), docs, utc_now())
    await _audit(request).record(principal, "inbox.read", [profile_id], read=True)
    return Inbox(profile_id=profile_id, total=total, items=[_item(x) for x in docs])


@router.post(
    "/inbox/{profile_id}/{posting_id}/reply", response_model=InboxItem, responses=NOT_FOUND | CONFLICT
)
async def reply(
    request: Request, profile_id: str, posting_id: str, body: Reply, principal: SeekerSide
) -> InboxItem:
    """The seeker answers; or an official records the answer the seeker gave on the phone."""
    await _check_seeker(request, principal, profile_id)
    if posting_id.startswith(FAIR_PREFIX):  # an invitation: no posting to be interested in
        raise HTTPException(status_code=409, detail="招聘会邀请无需回复，请通过邀请中的链接报名")
    if posting_id.startswith(TRANSPORT_PREFIX):  # a bus seat: nothing to be interested in
        raise HTTPException(status_code=409, detail="乘车通知无需回复")
    try:
        doc = await record_reply(_store(request), profile_id, posting_id, body.interested, utc_now())
    except NoRecommendation as exc:
        raise HTTPException(status_code=404, detail="没有这条推荐") from exc
    except Withdrawn as exc:
        raise HTTPException(status_code=409, detail="该岗位推荐已撤回，无法回复") from exc
    await _audit(request).record(principal, "inbox.reply", [profile_id])
    return _item(doc)


@router.get("/deliveries", response_model=list[DeliveryOut], responses=NOT_FOUND)
async def deliveries(
    request: Request,
    principal: SeekerSide,
    profile_id: str | None = Query(default=None, description="required unless the caller is an admin"),
    status: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[DeliveryOut]:
    where: dict[str, Any] = {}
    if profile_id is None and not principal.is_admin:
        raise unprocessable(("query", "profile_id"), "profile_id is required")
    if profile_id is not None:
        await _check_seeker(request, principal, profile_id)
        where["profile_id"] = profile_id
    if status is not None:
        where["status"] = status
    docs = (
        await _store(request)
        .collection(d.DELIVERIES)
        .find(where, sort=[("created_at", -1), ("_id", 1)], limit=limit)
    )
    await _audit(request).record(principal, "deliveries.read", [x["profile_id"] for x in docs], read=True)
    return [
        DeliveryOut(
            id=x["_id"],
            profile_id=x["profile_id"],
            posting_id=x["posting_id"],
            channel=x["channel"],
            status=x["status"],
            attempts=int(x.get("attempts", 0)),
            due_at=d.as_utc(x.get("due_at")),
            sent_at=d.as_utc(x.get("sent_at")),
            last_error=mask_text(x["last_error"]) if x.get("last_error") else None,
            deferred_reason=x.get("deferred_reason"),
        )
        for x in docs
    ]


@router.get("/candidates", response_model=list[InterestedCandidate])
async def interested_candidates(
    request: Request,
    principal: EmployerSide,
    posting_id: str = Query(description="one of the employer's postings"),
) -> list[InterestedCandidate]:
    """The seekers who answered "interested" to this posting, with what it takes to call them.

    Match's candidate list is pseudonymous; this is where an employer gets a name and a number,
    and only for people who asked for it by replying. The posting's owner is the credit code
    the recommendation carries; a posting of another employer is a 403.
    """
    recs = _store(request).collection(d.RECOMMENDATIONS)
    docs = await recs.find(
        {"posting_id": posting_id, "status": "active", "reply.interested": True},
        sort=[("score", -1), ("_id", 1)],
    )
    any_rec = docs[0] if docs else next(iter(await recs.find({"posting_id": posting_id}, limit=1)), None)
    if any_rec is not None and not principal.owns_employer(
        (any_rec.get("posting") or {}).get("employer_code")
    ):
        raise forbidden(principal, f"candidates of posting {posting_id}")
    contacts = _store(request).collection(d.CONTACTS)
    out: list[InterestedCandidate] = []
    for rec in docs:
        contact = await contacts.get(rec["profile_id"])
        if not contact or contact.get("deleted"):
            continue  # a deleted seeker is nobody's candidate any more
        out.append(
            InterestedCandidate(
                profile_id=rec["profile_id"],
                display_name=str(contact.get("display_name") or "求职者"),
                phone=contact.get("phone") if contact.get("consent") else None,
                score=float(rec.get("score", 0)),
                replied_at=d.as_utc(rec["reply"]["at"]) or utc_now(),
            )
        )
    await _audit(request).record(principal, "candidates.contact", [c.profile_id for c in out], read=True)
    return out
