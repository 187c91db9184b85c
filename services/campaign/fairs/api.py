"""Fair routes: officials announce and edit fairs of their counties and record what happened at
them; a seeker registers themself through the link of their invitation; figures per fair.

A fair is public information (like a posting); registrations, visits, intentions and hires are
records of seekers, so only the fair's officials (the venue's county) and admins write or count
them, and a seeker can write only their own registration.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from services.campaign.fairs.models import (
    FairIn,
    FairOut,
    FiguresOut,
    PairIn,
    RecordKind,
    RecordOut,
    RegistrationIn,
    SeekerIn,
)
from services.campaign.fairs.repository import Conflict, FairRepository, UnknownPostings, fair_view
from shared.audit import AuditLog
from shared.auth import AUTH_RESPONSES, Principal, Role, forbidden, require
from shared.errors import CONFLICT, NOT_FOUND, unprocessable
from shared.store.base import Doc

router = APIRouter(prefix="/v1/fairs", tags=["fairs"], responses=AUTH_RESPONSES)

Official = Annotated[Principal, Depends(require(Role.official))]
Registrant = Annotated[Principal, Depends(require(Role.official, Role.seeker))]
Anyone = Annotated[Principal, Depends(require(Role.official, Role.employer, Role.seeker))]
FairId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]

CONFLICTS = NOT_FOUND | CONFLICT


def _repo(request: Request) -> FairRepository:
    repo: FairRepository = request.app.state.fairs
    return repo


async def _fair(request: Request, fair_id: str) -> Doc:
    doc = await _repo(request).get(fair_id)
    if doc is None:
        raise HTTPException(status_code=404, detail="没有这场招聘会")
    return doc


def _own(principal: Principal, doc: Doc) -> None:
    if not principal.covers_area(doc["fair"]["adcode"]):
        raise forbidden(principal, f"fair {doc['_id']}")


def _unknown(exc: UnknownPostings) -> Exception:
    return unprocessable(("body", "posting_ids"), str(exc), exc.ids)


@router.post("", response_model=FairOut, status_code=201)
async def announce(body: FairIn, request: Request, principal: Official) -> Any:
    """Announce a fair: match invites the seekers within reach whom one of its postings fits."""
    if not principal.covers_area(body.location.adcode):
        raise forbidden(principal, f"a fair in {body.location.adcode}")
    try:
        doc = await _repo(request).create(body, by=principal.id, now=request.app.state.clock())
    except UnknownPostings as exc:
        raise _unknown(exc) from exc
    return fair_view(doc).model_dump()


@router.get("", response_model=list[FairOut])
async def list_fairs(request: Request, principal: Anyone) -> Any:
    """Every fair (public, like postings)."""
    return [fair_view(doc).model_dump() for doc in await _repo(request).list()]


@router.get("/{fair_id}", response_model=FairOut, responses=NOT_FOUND)
async def get_fair(fair_id: FairId, request: Request, principal: Anyone) -> Any:
    return fair_view(await _fair(request, fair_id)).model_dump()


@router.put("/{fair_id}", response_model=FairOut, responses=CONFLICTS)
async def edit(fair_id: FairId, body: FairIn, request: Request, principal: Official) -> Any:
    """Edit a fair: seekers newly fitting are invited; nobody is invited twice."""
    doc = await _fair(request, fair_id)
    _own(principal, doc)
    if not principal.covers_area(body.location.adcode):
        raise forbidden(principal, f"a fair in {body.location.adcode}")
    if doc["fair"]["status"] == "cancelled":
        raise HTTPException(status_code=409, detail="招聘会已取消")
    try:
        new = await _repo(request).change(doc, body, status="announced", now=request.app.state.clock())
    except UnknownPostings as exc:
        raise _unknown(exc) from exc
    except Conflict as exc:
        raise HTTPException(status_code=409, detail="招聘会刚被修改，请重试") from exc
    return fair_view(new).model_dump()


@router.post("/{fair_id}/cancel", response_model=FairOut, responses=CONFLICTS)
async def cancel(fair_id: FairId, request: Request, principal: Official) -> Any:
    doc = await _fair(request, fair_id)
    _own(principal, doc)
    if doc["fair"]["status"] == "cancelled":
        return fair_view(doc).model_dump()
    try:
        new = await _repo(request).change(doc, None, status="cancelled", now=request.app.state.clock())
    except Conflict as exc:
        raise HTTPException(status_code=409, detail="招聘会刚被修改，请重试") from exc
    return fair_view(new).model_dump()


async def _record(
    request: Request,
    principal: Principal,
    doc: Doc,
    kind: RecordKind,
    profile_id: str,
    posting_id: str | None = None,
) -> RecordOut:
    fair = doc["fair"]
    if fair["status"] == "cancelled":
        raise HTTPException(status_code=409, detail="招聘会已取消")
    if posting_id is not None and posting_id not in fair["posting_ids"]:
        raise HTTPException(status_code=409, detail="该岗位不在本场招聘会")
    repo = _repo(request)
    if kind == "registration" and fair.get("capacity"):
        if await repo.count(doc["_id"], "registration") >= fair["capacity"]:
            raise HTTPException(status_code=409, detail="报名人数已满")
    accepted = await repo.record(
        doc["_id"], kind, profile_id, posting_id, by=principal.id, now=request.app.state.clock()
    )
    audit: AuditLog = request.app.state.fairs_audit
    await audit.record(principal, f"fair.{kind}", [profile_id])
    return RecordOut(
        fair_id=doc["_id"], kind=kind, profile_id=profile_id, posting_id=posting_id, accepted=accepted
    )


@router.post("/{fair_id}/registrations", response_model=RecordOut, responses=CONFLICTS)
async def register(
    fair_id: FairId, body: RegistrationIn, request: Request, principal: Registrant
) -> RecordOut:
    """An official registers a seeker (by phone, on site); a seeker registers themself (the link)."""
    doc = await _fair(request, fair_id)
    if principal.role == Role.seeker:
        if not principal.is_seeker(body.profile_id):
            raise forbidden(principal, f"registration of {body.profile_id}")
    else:
        _own(principal, doc)
    return await _record(request, principal, doc, "registration", body.profile_id)


@router.post("/{fair_id}/visits", response_model=RecordOut, responses=CONFLICTS)
async def visit(fair_id: FairId, body: SeekerIn, request: Request, principal: Official) -> RecordOut:
    """A seeker came (checked in at the venue, or joined the stream)."""
    doc = await _fair(request, fair_id)
    _own(principal, doc)
    return await _record(request, principal, doc, "visit", body.profile_id)


@router.post("/{fair_id}/intentions", response_model=RecordOut, responses=CONFLICTS)
async def intention(fair_id: FairId, body: PairIn, request: Request, principal: Official) -> RecordOut:
    """An on-site intention (意向) of a seeker for one of the fair's postings."""
    doc = await _fair(request, fair_id)
    _own(principal, doc)
    return await _record(request, principal, doc, "intention", body.profile_id, body.posting_id)


@router.post("/{fair_id}/hires", response_model=RecordOut, responses=CONFLICTS)
async def hire(fair_id: FairId, body: PairIn, request: Request, principal: Official) -> RecordOut:
    """A hire that came out of the fair (the fair's count; the funnel's hire is the employer's)."""
    doc = await _fair(request, fair_id)
    _own(principal, doc)
    return await _record(request, principal, doc, "hire", body.profile_id, body.posting_id)


@router.get("/{fair_id}/figures", response_model=FiguresOut, responses=NOT_FOUND)
async def figures(fair_id: FairId, request: Request, principal: Official) -> Any:
    """Enterprises, positions, invited, registered, visitors, intentions, hires."""
    doc = await _fair(request, fair_id)
    _own(principal, doc)
    return await _repo(request).figures(doc)
