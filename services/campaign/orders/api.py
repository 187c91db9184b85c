"""Order routes: an employer files an order for its posting, the posting county's officials
dispatch it, the agency named (an employer key with the agency's credit code) accepts or
declines and reports placements. A step that does not follow is a 409 with the reason; each
write is guarded on the order's version, so two people cannot both move it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from services.campaign.documents import iso
from services.campaign.orders.steps import Status, Step, after, refusal
from shared.auth import AUTH_RESPONSES, Principal, Role, forbidden, require
from shared.errors import CONFLICT, NOT_FOUND
from shared.models import USCC_RE
from shared.store.base import Collection, Doc

router = APIRouter(prefix="/v1/orders", tags=["orders"], responses=AUTH_RESPONSES)

Party = Annotated[Principal, Depends(require(Role.official, Role.employer))]
Official = Annotated[Principal, Depends(require(Role.official))]
Agency = Annotated[Principal, Depends(require(Role.employer))]
OrderId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
STEP_ERRORS = NOT_FOUND | CONFLICT


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrderIn(_In):
    posting_id: str = Field(min_length=1, max_length=100)
    headcount: int = Field(ge=1, le=100_000)
    needed_by: date | None = None
    note: str = Field(default="", max_length=500)


class DispatchIn(_In):
    agency_code: str = Field(
        pattern=USCC_RE.pattern, max_length=18, description="the agency's unified social credit code"
    )
    agency_name: str = Field(min_length=1, max_length=200)


class ReportIn(_In):
    placed: int = Field(ge=1, le=100_000, description="workers placed since the last report")


class ReasonIn(_In):
    reason: str = Field(default="", max_length=200)


class OrderOut(BaseModel):
    id: str
    version: int
    status: Status
    posting_id: str
    employer_code: str | None
    county: str | None
    headcount: int
    filled: int
    needed_by: date | None = None
    note: str = ""
    agency_code: str | None = None
    agency_name: str | None = None
    history: list[dict[str, Any]]


def _orders(request: Request) -> Collection:
    orders: Collection = request.app.state.store.collection("orders")
    return orders


def _out(doc: Doc) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "_id"} | {"id": doc["_id"]}


def _sees(principal: Principal, doc: Doc) -> bool:
    return (
        principal.covers_area(doc.get("county"))
        or principal.owns_employer(doc.get("employer_code"))
        or principal.owns_employer(doc.get("agency_code"))
    )


async def _order(request: Request, principal: Principal, order_id: str) -> Doc:
    doc = await _orders(request).get(order_id)
    if doc is None or not _sees(principal, doc):
        raise HTTPException(status_code=404, detail="没有这个订单")
    return doc


async def _step(
    request: Request, principal: Principal, doc: Doc, step: Step, fields: dict[str, Any], note: str = ""
) -> dict[str, Any]:
    reason = refusal(doc["status"], step)
    if reason is not None:
        raise HTTPException(status_code=409, detail=reason)
    filled = doc["filled"] + int(fields.get("filled", 0))
    status = after(doc["status"], step, filled=filled, headcount=doc["headcount"])
    entry = {"step": step, "at": iso(request.app.state.clock()), "by": principal.id, "note": note}
    changes = {**fields, "filled": filled, "status": status}
    if not await _orders(request).update(
        doc["_id"],
        set=changes,
        inc={"version": 1},
        push={"history": entry},
        where={"version": doc["version"]},
    ):
        raise HTTPException(status_code=409, detail="订单刚被他人修改，请刷新后重试")
    return _out({**doc, **changes, "version": doc["version"] + 1, "history": [*doc["history"], entry]})


@router.post("", response_model=OrderOut, status_code=201, responses=NOT_FOUND)
async def file_order(body: OrderIn, request: Request, principal: Party) -> Any:
    """An employer files an order for its own posting (or an official for one in its counties)."""
    posting = await request.app.state.store.collection("postings").get(body.posting_id)
    if posting is None:
        raise HTTPException(status_code=404, detail="没有这个岗位")
    if not (
        principal.owns_employer(posting.get("employer_code")) or principal.covers_area(posting.get("county"))
    ):
        raise forbidden(principal, f"an order for posting {body.posting_id}")
    doc: Doc = {
        "_id": "o" + uuid.uuid4().hex[:15],
        "version": 1,
        "status": "filed",
        "posting_id": body.posting_id,
        "employer_code": posting.get("employer_code"),
        "county": posting.get("county"),
        "headcount": body.headcount,
        "filled": 0,
        "needed_by": body.needed_by.isoformat() if body.needed_by else None,
        "note": body.note,
        "agency_code": None,
        "agency_name": None,
        "history": [{"step": "file", "at": iso(request.app.state.clock()), "by": principal.id, "note": ""}],
    }
    await _orders(request).insert(doc)
    return _out(doc)


@router.get("", response_model=list[OrderOut])
async def list_orders(request: Request, principal: Party) -> Any:
    """The orders the caller files, dispatches (its counties) or serves (its agency)."""
    docs = await _orders(request).find({}, sort=[("_id", 1)])
    return [_out(d) for d in docs if _sees(principal, d)]


@router.get("/{order_id}", response_model=OrderOut, responses=STEP_ERRORS)
async def get_order(order_id: OrderId, request: Request, principal: Party) -> Any:
    return _out(await _order(request, principal, order_id))


@router.post("/{order_id}/dispatch", response_model=OrderOut, responses=STEP_ERRORS)
async def dispatch(order_id: OrderId, body: DispatchIn, request: Request, principal: Official) -> Any:
    """An official of the posting's county hands the order to an agency."""
    doc = await _order(request, principal, order_id)
    if not principal.covers_area(doc.get("county")):
        raise forbidden(principal, f"dispatch of order {order_id}")
    fields = {"agency_code": body.agency_code, "agency_name": body.agency_name}
    return await _step(request, principal, doc, "dispatch", fields, note=body.agency_name)


async def _agency_step(request: Request, principal: Principal, order_id: str, step: Step, **kw: Any) -> Any:
    doc = await _order(request, principal, order_id)
    if not principal.owns_employer(doc.get("agency_code")):
        raise forbidden(principal, f"{step} of order {order_id}")
    return await _step(request, principal, doc, step, **kw)


@router.post("/{order_id}/accept", response_model=OrderOut, responses=STEP_ERRORS)
async def accept(order_id: OrderId, request: Request, principal: Agency) -> Any:
    return await _agency_step(request, principal, order_id, "accept", fields={})


@router.post("/{order_id}/decline", response_model=OrderOut, responses=STEP_ERRORS)
async def decline(order_id: OrderId, body: ReasonIn, request: Request, principal: Agency) -> Any:
    return await _agency_step(request, principal, order_id, "decline", fields={}, note=body.reason)


@router.post("/{order_id}/report", response_model=OrderOut, responses=STEP_ERRORS)
async def report(order_id: OrderId, body: ReportIn, request: Request, principal: Agency) -> Any:
    """The agency reports workers placed; the order is fulfilled once they reach its headcount."""
    return await _agency_step(request, principal, order_id, "report", fields={"filled": body.placed})


@router.post("/{order_id}/cancel", response_model=OrderOut, responses=STEP_ERRORS)
async def cancel(order_id: OrderId, body: ReasonIn, request: Request, principal: Party) -> Any:
    """The filing employer or an official of the county withdraws the order."""
    doc = await _order(request, principal, order_id)
    if not (principal.owns_employer(doc.get("employer_code")) or principal.covers_area(doc.get("county"))):
        raise forbidden(principal, f"cancel of order {order_id}")
    return await _step(request, principal, doc, "cancel", {}, note=body.reason)
