"""Match API: a seeker's recommendations, and an employer's ranked candidate list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request

from shared.events import MatchView

router = APIRouter(prefix="/v1", tags=["matches"])


@router.get("/matches", response_model=list[MatchView])
async def list_matches(
    request: Request,
    profile_id: str | None = Query(default=None, description="a seeker's recommendations, best first"),
    posting_id: str | None = Query(default=None, description="a posting's candidates, best first"),
    include_withdrawn: bool = Query(default=False),
) -> list[Any]:
    if (profile_id is None) == (posting_id is None):
        raise HTTPException(status_code=422, detail="give exactly one of profile_id or posting_id")
    if include_withdrawn:
        where = {"profile_id": profile_id} if profile_id else {"posting_id": posting_id}
        docs = await request.app.state.store.collection("matches").find(where, sort=[("score", -1)])
        return [d["view"] | {"withdrawn_reason": d["view"].get("withdrawn_reason")} for d in docs]
    engine = request.app.state.engine
    if profile_id is not None:
        return list(engine.matches_for_profile(profile_id))
    return list(engine.matches_for_posting(posting_id))
