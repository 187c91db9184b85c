"""``POST /v1/transport/plan``: an official's 就业直通车, planned (counts per county, no one named)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from services.campaign.transport.planner import NoPlan, Origin, TooLarge, UnknownPlace, plan
from shared.auth import AUTH_RESPONSES, Principal, Role, require
from shared.errors import CONFLICT, unprocessable

router = APIRouter(prefix="/v1/transport", tags=["transport"], responses=AUTH_RESPONSES)

Official = Annotated[Principal, Depends(require(Role.official))]
Adcode = Annotated[
    str, Field(pattern=r"^\d{6}(\d{3}){0,2}$", max_length=12, description="county (6) or town (9, 12 digits)")
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OriginIn(_In):
    adcode: Adcode
    riders: int = Field(ge=1, le=10_000)


class PlanIn(_In):
    destination: Adcode = Field(description="the workplace (the factory's county)")
    seats: int = Field(default=45, ge=1, le=100, description="seats per bus")
    max_buses: int | None = Field(default=None, ge=1, le=500)
    origins: list[OriginIn] = Field(min_length=1, max_length=200)


class StopOut(BaseModel):
    adcode: str
    place: str
    riders: int


class BusOut(BaseModel):
    stops: list[StopOut]
    riders: int
    km: float


class PlanOut(BaseModel):
    destination: str
    seats: int
    riders: int
    km: float = Field(description="great-circle kilometres, first pickup to workplace, all buses")
    buses: list[BusOut]


@router.post(
    "/plan",
    response_model=PlanOut,
    responses=CONFLICT,
)
async def plan_buses(body: PlanIn, principal: Official) -> Any:
    """Group the riders of each origin county into buses to the workplace, fewest buses and
    kilometres first (OR-Tools' vehicle routing); a county with more riders than seats fills
    several buses."""
    origins = [Origin(o.adcode, o.riders) for o in body.origins]
    try:
        # the solver is CPU-bound for up to its time limit: keep the event loop free meanwhile
        result = await asyncio.to_thread(
            plan, body.destination, origins, body.seats, max_buses=body.max_buses
        )
    except UnknownPlace as exc:
        raise unprocessable(("body", "origins"), str(exc), exc.adcode) from exc
    except TooLarge as exc:
        raise unprocessable(("body", "origins"), str(exc)) from exc
    except NoPlan as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return {
        "destination": result.destination,
        "seats": result.seats,
        "riders": result.riders,
        "km": result.km,
        "buses": [
            {"stops": [vars_of(s) for s in bus.stops], "riders": bus.riders, "km": bus.km}
            for bus in result.buses
        ],
    }


def vars_of(stop: Any) -> dict[str, Any]:
    return {"adcode": stop.adcode, "place": stop.place, "riders": stop.riders}
