"""Campaign's HTTP API: the steps people take (interview, hire, stable, left), the follow-up
lists of the officials stationed in factories (驻厂稳岗), and the daily circular (每日通报).

Who may do what: an employer marks interviews and hires for its own postings; an official marks
stable or left, records follow-up outcomes and reads circulars for its counties (the workplace's
county); an admin may do all. A pair outside the caller's scope does not exist for them (404:
that a given seeker was put forward for a given job is itself personal data). A step that does
not follow from the pair's state is a 409 with the reason; a repeated step is answered with the
state and ``accepted: false``, and writes and publishes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from services.campaign import documents as d
from services.campaign.chart import funnel_png
from services.campaign.circular import Circular, daily_circular, to_csv, to_xlsx
from services.campaign.funnel import current
from services.campaign.repository import Actor, FunnelRepository, IllegalStep
from shared.auth import AUTH_RESPONSES, Principal, Role, forbidden, hidden, require
from shared.errors import NOT_FOUND, ErrorOut, Responses
from shared.models import IsoDate
from shared.store.base import Doc

router = APIRouter(prefix="/v1", tags=["campaign"], responses=AUTH_RESPONSES)

Employer = Annotated[Principal, Depends(require(Role.employer))]
Official = Annotated[Principal, Depends(require(Role.official))]
Reader = Annotated[Principal, Depends(require(Role.official, Role.employer))]

CONFLICT: Responses = {
    409: {
        "model": ErrorOut,
        "description": "the step does not follow from the pair's state; `detail` says why",
    }
}
STEP = NOT_FOUND | CONFLICT


class StepOut(BaseModel):
    at: datetime
    by: str
    role: str
    reason: str | None = None


class FollowupOut(BaseModel):
    days: int
    due_at: datetime
    outcome: dict[str, Any] | None = None


class PairOut(BaseModel):
    profile_id: str
    posting_id: str
    employer_code: str | None
    employer_name: str | None
    county: str | None
    current: str | None
    steps: dict[str, StepOut]
    followups: list[FollowupOut]
    withdrawn_reason: str | None = None
    accepted: bool | None = None  # on a step: False means it was a repeat and changed nothing


class StableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: Literal[30, 90]


class LeftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200, description="why they left, e.g. 家中有事、不适应夜班")


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["stable", "moved", "left"]  # moved: to another line, still in post
    reason: str | None = Field(default=None, max_length=200)


class FollowupItem(BaseModel):
    profile_id: str
    posting_id: str
    employer_name: str | None
    county: str | None
    days: int
    due_at: datetime
    due_date: date
    status: Literal["due", "overdue", "upcoming", "done"]
    outcome: dict[str, Any] | None = None


def _repo(request: Request) -> FunnelRepository:
    repo: FunnelRepository = request.app.state.repo
    return repo


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def _tz(request: Request) -> ZoneInfo:
    tz: ZoneInfo = request.app.state.tz
    return tz


def pair_out(doc: Doc, accepted: bool | None = None) -> PairOut:
    steps = {
        k: StepOut(at=d.from_iso(v["at"]), by=v["by"], role=v["role"], reason=v.get("reason"))
        for k, v in doc["steps"].items()
    }
    followups = [
        FollowupOut(days=int(f["days"]), due_at=d.from_iso(f["due_at"]), outcome=f.get("outcome"))
        for f in sorted((doc.get("followups") or {}).values(), key=lambda f: int(f["days"]))
    ]
    return PairOut(
        profile_id=doc["profile_id"],
        posting_id=doc["posting_id"],
        employer_code=doc.get("employer_code"),
        employer_name=doc.get("employer_name"),
        county=doc.get("county"),
        current=current(d.taken(doc)),
        steps=steps,
        followups=followups,
        withdrawn_reason=doc.get("withdrawn_reason"),
        accepted=accepted,
    )


def _may(principal: Principal, owner: Doc) -> bool:
    """An admin; the employer of the posting; an official of the workplace's county."""
    if principal.is_admin:
        return True
    if principal.role == Role.employer:
        return principal.owns_employer(owner.get("employer_code"))
    return principal.covers_area(owner.get("county"))


async def _checked(request: Request, principal: Principal, profile_id: str, posting_id: str) -> None:
    """404 unless the pair (or, before its first step, the posting) is within the caller's scope."""
    repo = _repo(request)
    owner = await repo.pairs.get(d.pair_id(profile_id, posting_id)) or await repo.postings.get(posting_id)
    if owner is None or not _may(principal, owner):
        raise hidden(principal, f"funnel {profile_id}:{posting_id}", "没有这条求职记录")


async def _take(
    request: Request,
    principal: Principal,
    profile_id: str,
    posting_id: str,
    step: str,
    *,
    reason: str | None = None,
    followup: tuple[str, dict[str, Any]] | None = None,
) -> PairOut:
    await _checked(request, principal, profile_id, posting_id)
    try:
        result = await _repo(request).take(
            profile_id,
            posting_id,
            step,
            at=_now(request),
            actor=Actor(principal.id, str(principal.role)),
            reason=reason,
            followup=followup,
        )
    except IllegalStep as exc:
        raise HTTPException(409, exc.reason) from exc
    if result.accepted:
        request.app.state.relay.kick(d.PAIRS, result.doc["_id"])
    return pair_out(result.doc, result.accepted)


@router.get("/funnel", response_model=list[PairOut])
async def list_pairs(
    request: Request,
    principal: Reader,
    posting_id: Annotated[str, Query(description="the posting whose candidates' progress to list")],
) -> list[PairOut]:
    """An employer's (or a county official's) view of one posting's funnel, pair by pair."""
    repo = _repo(request)
    owner = await repo.postings.get(posting_id)
    pairs = await repo.pairs.find({"posting_id": posting_id}, sort=[("created_at", 1), ("_id", 1)])
    if not principal.is_admin and not (owner is not None and _may(principal, owner)):
        pairs = [p for p in pairs if _may(principal, p)]  # campaign may not have heard of the posting yet
    if not pairs and owner is not None and not _may(principal, owner):
        raise forbidden(principal, f"funnel of posting {posting_id}")
    return [pair_out(p) for p in pairs]


@router.get("/funnel/{profile_id}/{posting_id}", response_model=PairOut, responses=NOT_FOUND)
async def get_pair(profile_id: str, posting_id: str, request: Request, principal: Reader) -> PairOut:
    await _checked(request, principal, profile_id, posting_id)
    doc = await _repo(request).pairs.get(d.pair_id(profile_id, posting_id))
    if doc is None:
        raise HTTPException(404, "没有这条求职记录")
    return pair_out(doc)


@router.post("/funnel/{profile_id}/{posting_id}/interview", response_model=PairOut, responses=STEP)
async def mark_interview(profile_id: str, posting_id: str, request: Request, principal: Employer) -> PairOut:
    return await _take(request, principal, profile_id, posting_id, "interviewed")


@router.post("/funnel/{profile_id}/{posting_id}/hire", response_model=PairOut, responses=STEP)
async def mark_hire(profile_id: str, posting_id: str, request: Request, principal: Employer) -> PairOut:
    return await _take(request, principal, profile_id, posting_id, "hired")


@router.post("/funnel/{profile_id}/{posting_id}/stable", response_model=PairOut, responses=STEP)
async def mark_stable(
    profile_id: str, posting_id: str, body: StableIn, request: Request, principal: Official
) -> PairOut:
    return await _take(request, principal, profile_id, posting_id, f"stable_{body.days}d")


@router.post("/funnel/{profile_id}/{posting_id}/left", response_model=PairOut, responses=STEP)
async def mark_left(
    profile_id: str, posting_id: str, body: LeftIn, request: Request, principal: Official
) -> PairOut:
    return await _take(request, principal, profile_id, posting_id, "left", reason=body.reason)


# --- retention follow-up (驻厂稳岗) ---------------------------------------------------------------


def followup_status(due: date, outcome: Any, day: date) -> Literal["due", "overdue", "upcoming", "done"]:
    if outcome:
        return "done"
    if due == day:
        return "due"
    return "overdue" if due < day else "upcoming"


@router.get("/followups", response_model=list[FollowupItem])
async def list_followups(
    request: Request,
    principal: Official,
    due: Annotated[
        IsoDate | None, Query(description="the local day (default today): due that day, overdue before")
    ] = None,
    status: Annotated[Literal["due", "overdue", "upcoming", "done"] | None, Query()] = None,
    county: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
) -> list[FollowupItem]:
    """Check-ins of hires in the caller's counties; without ``status``: the due and the overdue."""
    day = due or _now(request).astimezone(_tz(request)).date()
    return await followup_items(request, principal, day, {status} if status else {"due", "overdue"}, county)


async def followup_items(
    request: Request, principal: Principal, day: date, wanted: set[str], county: str | None
) -> list[FollowupItem]:
    """The check-ins in ``wanted`` states on ``day``, within the caller's counties (and ``county``)."""
    tz = _tz(request)
    items = []
    for doc in await _repo(request).pairs.find({"steps.hired": {"$exists": True}}):
        if not principal.covers_area(doc.get("county")):
            continue
        if county and not (doc.get("county") or "").startswith(county):
            continue
        for f in (doc.get("followups") or {}).values():
            due_at = d.from_iso(f["due_at"])
            due_date = due_at.astimezone(tz).date()
            state = followup_status(due_date, f.get("outcome"), day)
            if "left" in doc["steps"] and state != "done":
                continue  # nobody to call back
            if state in wanted:
                items.append(
                    FollowupItem(
                        profile_id=doc["profile_id"],
                        posting_id=doc["posting_id"],
                        employer_name=doc.get("employer_name"),
                        county=doc.get("county"),
                        days=int(f["days"]),
                        due_at=due_at,
                        due_date=due_date,
                        status=state,
                        outcome=f.get("outcome"),
                    )
                )
    return sorted(items, key=lambda i: (i.due_at, i.profile_id, i.posting_id))


@router.post("/followups/{profile_id}/{posting_id}/{days}", response_model=PairOut, responses=STEP)
async def record_followup(
    profile_id: str,
    posting_id: str,
    days: Literal["7", "30", "90"],
    body: OutcomeIn,
    request: Request,
    principal: Official,
) -> PairOut:
    """A check-in's outcome; at 30 and 90 days "stable" (or moved to another line) is the stable
    mark, and "left" at any check-in is the funnel's "left", in the same write."""
    await _checked(request, principal, profile_id, posting_id)
    doc = await _repo(request).pairs.get(d.pair_id(profile_id, posting_id))
    if doc is None or days not in (doc.get("followups") or {}):
        raise HTTPException(409, "尚未入职，没有回访任务")
    outcome = {"outcome": body.outcome, "reason": body.reason, "at": d.iso(_now(request)), "by": principal.id}
    if body.outcome == "left":
        step = "left"
    elif days == "7":
        step = "hired"  # a 7-day call marks no step of its own: the hire is repeated, harmlessly
    else:
        step = f"stable_{days}d"
    return await _take(
        request, principal, profile_id, posting_id, step, reason=body.reason, followup=(days, outcome)
    )


# --- the daily circular (每日通报) ----------------------------------------------------------------


@router.get(
    "/circulars/daily",
    response_model=Circular,
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        }
    },
)
async def daily(
    request: Request,
    principal: Official,
    date_: Annotated[
        IsoDate | None, Query(alias="date", description="local day (Asia/Shanghai), default today")
    ] = None,
    county: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Any:
    circular = await circular_for(request, principal, date_, county)
    return circular_response(circular, format)


@router.get("/circulars/daily.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def daily_png(
    request: Request,
    principal: Official,
    date_: Annotated[
        IsoDate | None, Query(alias="date", description="local day (Asia/Shanghai), default today")
    ] = None,
    county: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
) -> Response:
    """The circular's funnel (total of the caller's counties, or of ``county``) as a bar chart."""
    return await chart_response(await circular_for(request, principal, date_, county))


async def chart_response(circular: Circular) -> Response:
    png = await run_in_threadpool(funnel_png, circular)  # ~0.1 s of CPU: off the event loop
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


def today(request: Request) -> date:
    return _now(request).astimezone(_tz(request)).date()


def in_scope(principal: Principal, county: str | None) -> bool:
    """A county filter the caller may ask for: within one of its prefixes, or wider than one
    (then the figures are still narrowed to what it covers)."""
    return (
        not county
        or principal.is_admin
        or any(county.startswith(p) or p.startswith(county) for p in principal.areas)
    )


async def circular_for(
    request: Request, principal: Principal, day: date | None, county: str | None
) -> Circular:
    """The circular of ``day`` (default today) as ``principal`` may see it; 403 for a county outside."""
    if not in_scope(principal, county):
        raise forbidden(principal, f"circular {county}")
    repo = _repo(request)
    return daily_circular(
        await repo.facts.find({}),
        await repo.postings.find({}),
        day or today(request),
        tz=_tz(request),
        county=county,
        within=principal.covers_area,
    )


def circular_response(circular: Circular, format: str) -> Any:
    day, county = circular.date, circular.county
    name = f"circular-{day.isoformat()}{'-' + county if county else ''}"
    if format == "csv":
        return Response(
            to_csv(circular),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return Response(
            to_xlsx(circular),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return circular
