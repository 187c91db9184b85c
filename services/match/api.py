"""Match API: a seeker's recommendations, and an employer's ranked candidate list.

Who may ask what: a seeker their own list; an official the lists of seekers and postings in
its counties; an employer the candidates of its own postings. A match carries no name, phone or
ID number (match never receives them): candidates are pseudonymous profile ids with scores. The
one personal detail a match does carry is the seeker's priority group (脱贫人口优先 …) in the
priority factor and the sentence; an employer gets it redacted, so a candidate list never tells
a company who is poor or disabled. Contact details of a candidate reach an employer only from
notify, and only once the seeker has said they are interested.

Wider offers (放宽推荐, ``wider.py``) are listed after the regular ones, marked ``wider``. The
fallback list (公益性岗位托底) is for officials of the seekers' home counties only: it names
priority groups, so neither employers nor other counties see it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from services.match.scoring.explain import SEP
from shared.audit import AuditLog
from shared.auth import AUTH_RESPONSES, Principal, Role, forbidden, hidden, require
from shared.errors import NOT_FOUND, unprocessable
from shared.events import MatchView

router = APIRouter(prefix="/v1", tags=["matches"], responses=AUTH_RESPONSES)

Caller = Annotated[Principal, Depends(require(Role.official, Role.employer, Role.seeker))]

REDACTED = "政策加分（仅求职者本人和工作人员可见）"


async def _view_of(request: Request, collection: str, id: str) -> dict[str, Any] | None:
    doc = await request.app.state.store.collection(collection).get(id)
    return doc.get("view") if doc else None  # a deleted seeker's document has none


async def _check_profile(request: Request, principal: Principal, profile_id: str) -> None:
    """A seeker's list is theirs and their county's: for anyone else it does not exist (404)."""
    if principal.is_admin or principal.is_seeker(profile_id):
        return
    if principal.role == Role.official:
        view = await _view_of(request, "profiles", profile_id)
        if view and principal.covers_area((view.get("home") or {}).get("adcode")):
            return
    raise hidden(principal, f"matches of profile {profile_id}", "没有这位求职者")


async def _check_posting(request: Request, principal: Principal, posting_id: str) -> None:
    if principal.is_admin:
        return
    if principal.role == Role.seeker:
        raise forbidden(principal, f"candidates of posting {posting_id}")
    view = await _view_of(request, "postings", posting_id)
    if view is None:
        raise HTTPException(status_code=404, detail="没有这个岗位")
    adcode = (view.get("location") or {}).get("adcode")
    code = (view.get("employer") or {}).get("credit_code")
    if not (principal.covers_area(adcode) or principal.owns_employer(code)):
        raise forbidden(principal, f"candidates of posting {posting_id}")


def for_employer(match: dict[str, Any]) -> dict[str, Any]:
    """The candidate as a company may see them: the priority group is the seeker's business."""
    factors = match.get("factors") or []
    priority = next((f for f in factors if f.get("factor") == "priority"), None)
    if priority is None or not priority.get("detail"):
        return match
    parts = [p for p in str(match.get("reason", "")).split(SEP) if p != priority["detail"]]
    return match | {
        "factors": [f | {"detail": REDACTED} if f is priority else f for f in factors],
        "reason": SEP.join(parts),
    }


@router.get("/matches", response_model=list[MatchView], responses=NOT_FOUND)
async def list_matches(
    request: Request,
    principal: Caller,
    profile_id: str | None = Query(default=None, description="a seeker's recommendations, best first"),
    posting_id: str | None = Query(default=None, description="a posting's candidates, best first"),
    include_withdrawn: bool = Query(default=False),
) -> list[Any]:
    if (profile_id is None) == (posting_id is None):
        raise unprocessable(("query", "profile_id"), "give exactly one of profile_id or posting_id")
    if profile_id is not None:
        await _check_profile(request, principal, profile_id)
    else:
        assert posting_id is not None
        await _check_posting(request, principal, posting_id)
    if include_withdrawn:
        where = {"profile_id": profile_id} if profile_id else {"posting_id": posting_id}
        docs = await request.app.state.store.collection("matches").find(where, sort=[("score", -1)])
        found = [d["view"] | {"withdrawn_reason": d["view"].get("withdrawn_reason")} for d in docs]
    else:
        engine, wider = request.app.state.engine, request.app.state.wider
        if profile_id:
            views = engine.matches_for_profile(profile_id) + wider.matches_for_profile(profile_id)
        else:
            views = engine.matches_for_posting(posting_id) + wider.matches_for_posting(posting_id)
        found = [v.model_dump(mode="json") for v in views]
    audit: AuditLog = request.app.state.audit
    # A seeker's list is a read of that seeker even when empty; a posting's, of its candidates.
    read = [profile_id] if profile_id else [m["profile_id"] for m in found]
    await audit.record(principal, "matches.read", read, read=True)
    if principal.role == Role.employer:
        found = [for_employer(m) for m in found]
    return found


class FallbackOut(BaseModel):
    """One seeker on the public-welfare list: ids, area, groups and why; no name or phone."""

    profile_id: str
    home_adcode: str
    place: str
    groups: list[str] = Field(description="the fallback groups the seeker belongs to (就业困难人员 …)")
    waiting_since: datetime
    days_waiting: int
    excluded_by: dict[str, int] = Field(
        description="hard constraint → how many of the nearest postings it excluded"
    )
    declined: int = Field(description="recommendations the seeker declined")
    reason: str


Official = Annotated[Principal, Depends(require(Role.official))]


@router.get(
    "/fallback",
    response_model=list[FallbackOut],
    tags=["fallback"],
    summary="公益性岗位托底: priority-group seekers no market posting fits, and why",
)
async def fallback_list(
    request: Request,
    principal: Official,
    adcode: str | None = Query(
        default=None,
        pattern=r"^\d{2,12}$",
        description="only seekers whose home adcode starts with this (within the caller's counties)",
    ),
) -> list[FallbackOut]:
    """Seekers of the policy's fallback groups (policy.toml ``[fallback]``) who have had no
    recommendation, regular or wider, for ``after_days`` days, in the caller's counties."""
    entries = request.app.state.wider.fallback(request.app.state.clock())
    found = [
        FallbackOut.model_validate(e, from_attributes=True)
        for e in entries
        if principal.covers_area(e.home_adcode) and (adcode is None or e.home_adcode.startswith(adcode))
    ]
    audit: AuditLog = request.app.state.audit
    await audit.record(principal, "fallback.read", [e.profile_id for e in found], read=True)
    return found
