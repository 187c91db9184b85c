"""Transport routes: ``POST /v1/transport/plan`` plans from counts per county (no one named);
``PUT /v1/transport/plans/{id}`` plans the buses of named, confirmed seekers, stores the plan,
tells each seeker where and when to board, and ``…/manifest.xlsx`` prints the manifests.

Who may plan: admins, and officials of the destination's county (the enterprise's or the
fair's) or of every seeker's home county (the exporting bureau that organises the buses).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from services.campaign.transport.manifest import manifest_rows, to_xlsx
from services.campaign.transport.models import MAX_SEEKERS, PlanIn, PlanOut, SeekersPlanIn, SeekersPlanOut
from services.campaign.transport.planner import NoPlan, Origin, TooLarge, UnknownPlace, plan
from services.campaign.transport.plans import Conflict, PlanRepository, seatings_json
from services.campaign.transport.seats import Seeker, fingerprint, seat
from services.campaign.transport.seekers import SeekerDirectory
from shared import places
from shared.audit import AuditLog
from shared.auth import AUTH_RESPONSES, Principal, Role, forbidden, require
from shared.errors import CONFLICT, NOT_FOUND, unprocessable
from shared.store.base import Doc

router = APIRouter(prefix="/v1/transport", tags=["transport"], responses=AUTH_RESPONSES)

Official = Annotated[Principal, Depends(require(Role.official))]


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


# --- plans of confirmed seekers -----------------------------------------------------------------

PlanId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _plans(request: Request) -> PlanRepository:
    repo: PlanRepository = request.app.state.transport_plans
    return repo


def _directory(request: Request) -> SeekerDirectory:
    directory: SeekerDirectory = request.app.state.seekers
    return directory


def _may_plan(principal: Principal, areas: list[str]) -> bool:
    """``areas``: the destination's county first, then the origin counties."""
    return principal.covers_area(areas[0]) or all(principal.covers_area(a) for a in areas[1:])


async def _destination(request: Request, body: SeekersPlanIn) -> tuple[dict[str, Any], dict[str, str | None]]:
    """(destination, confirmed profile id -> the workplace county or None)."""
    repo = _plans(request)
    if body.fair_id is not None:
        fair = await request.app.state.fairs.get(body.fair_id)
        if fair is None:
            raise unprocessable(("body", "fair_id"), "unknown fair", body.fair_id)
        if fair["fair"]["status"] == "cancelled":
            raise HTTPException(status_code=409, detail="招聘会已取消")
        adcode = places.resolve(fair["fair"]["adcode"])
        if adcode is None:
            raise unprocessable(("body", "fair_id"), "the fair's venue has an unknown adcode", body.fair_id)
        name = f"{fair['fair']['title']}（{places.label(adcode.adcode)}）"
        confirmed: dict[str, str | None] = dict.fromkeys(await repo.registered(body.fair_id))
        return {"kind": "fair", "ref": body.fair_id, "adcode": adcode.adcode, "name": name}, confirmed
    assert body.employer_code is not None
    hired = await repo.hired(body.employer_code)
    return {"kind": "employer", "ref": body.employer_code, "adcode": body.destination, "name": ""}, hired


async def _employer_name(request: Request, code: str) -> str:
    postings = await request.app.state.store.collection("postings").find({"employer_code": code}, limit=1)
    return str(postings[0].get("employer_name") or code) if postings else code


async def _seekers(request: Request, body: SeekersPlanIn, confirmed: dict[str, str | None]) -> list[Seeker]:
    """The seekers to carry, each known to campaign, confirmed for the destination, from a known county."""
    ids = body.profile_ids if body.profile_ids is not None else sorted(confirmed)
    if not ids:
        raise unprocessable(("body", "profile_ids"), "no confirmed seekers for this destination yet")
    if len(ids) > MAX_SEEKERS:
        raise unprocessable(("body", "profile_ids"), f"at most {MAX_SEEKERS} seekers per plan")
    homes = await _directory(request).homes_of(ids)
    unknown = [p for p in ids if p not in homes]
    if unknown:
        raise unprocessable(
            ("body", "profile_ids"), "unknown seekers (no profile known to campaign)", unknown
        )
    why = "not registered for this fair" if body.fair_id else "not hired by this enterprise (or left it)"
    unconfirmed = [p for p in ids if p not in confirmed]
    if unconfirmed:
        raise unprocessable(("body", "profile_ids"), f"not confirmed: {why}", unconfirmed)
    seekers, nowhere = [], []
    for p in ids:
        county = places.resolve(str(homes[p]["adcode"]))
        if county is None:
            nowhere.append(p)
        else:
            seekers.append(Seeker(p, county.adcode, str(homes[p].get("town") or "")))
    if nowhere:
        raise unprocessable(("body", "profile_ids"), "home adcode unknown to the map", nowhere)
    return seekers


@router.put(
    "/plans/{plan_id}",
    response_model=SeekersPlanOut,
    responses=CONFLICT | {201: {"model": SeekersPlanOut, "description": "planned for the first time"}},
)
async def plan_seekers(
    plan_id: PlanId, body: SeekersPlanIn, request: Request, response: Response, principal: Official
) -> Any:
    """Plan the buses of the confirmed seekers of a fair or an enterprise, notify each of her
    pick-up point and time. Idempotent on the plan id: the same request answers the stored plan
    and notifies nobody again; a changed one is re-planned, and only moved seats are notified."""
    repo = _plans(request)
    held = await repo.get(plan_id)
    if held is not None and not _may_plan(principal, held["areas"]):
        raise forbidden(principal, f"transport plan {plan_id}")
    destination, confirmed = await _destination(request, body)
    seekers = await _seekers(request, body, confirmed)
    if destination["kind"] == "employer":
        workplaces = {confirmed[s.profile_id] for s in seekers}
        if destination["adcode"] is None:
            if len(workplaces) != 1 or None in workplaces:
                raise unprocessable(
                    ("body", "destination"), "these hires work in several counties: name the destination"
                )
            destination["adcode"] = workplaces.pop()
        place = places.resolve(str(destination["adcode"]))
        if place is None:
            raise unprocessable(("body", "destination"), "unknown adcode", destination["adcode"])
        destination["adcode"] = place.adcode
        destination["name"] = (
            f"{await _employer_name(request, body.employer_code or '')}（{places.label(place.adcode)}）"
        )
    areas = [destination["adcode"], *sorted({s.county for s in seekers})]
    if not _may_plan(principal, areas):
        raise forbidden(principal, "a plan for a destination and seekers outside your counties")
    settings = request.app.state.settings
    speed = body.speed_kmh or settings.transport_speed_kmh
    request_key = {
        **body.model_dump(mode="json", exclude={"profile_ids"}),
        "speed_kmh": speed,
        "stop_minutes": settings.transport_stop_minutes,
        "seekers": [(s.profile_id, s.county, s.town) for s in seekers],
    }
    key = fingerprint(request_key)
    if held is not None and held["fingerprint"] == key:
        response.status_code = 200
        return held["plan"]
    counts = Counter(s.county for s in seekers)
    origins = [Origin(c, n) for c, n in sorted(counts.items())]
    try:
        # the solver is CPU-bound for up to its time limit: keep the event loop free meanwhile
        result = await asyncio.to_thread(plan, destination["adcode"], origins, body.seats)
    except TooLarge as exc:
        raise unprocessable(("body", "profile_ids"), str(exc)) from exc
    except (NoPlan, UnknownPlace) as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    departs = datetime.combine(body.date, body.departs_at, tzinfo=request.app.state.tz)
    seatings = seat(
        result,
        seekers,
        departs_at=departs,
        speed_kmh=speed,
        stop_minutes=settings.transport_stop_minutes,
        point_names={p.adcode: p.name for p in body.points},
    )
    content = {
        "destination": destination,
        "date": body.date.isoformat(),
        "departs_at": departs.isoformat(),
        "seats": body.seats,
        "speed_kmh": speed,
        "stop_minutes": settings.transport_stop_minutes,
        "riders": len(seekers),
        "km": round(sum(s.km for s in seatings), 1),
        "buses": seatings_json(seatings),
    }
    try:
        doc = await repo.save(
            plan_id,
            held,
            content,
            fingerprint=key,
            areas=areas,
            by=principal.id,
            now=request.app.state.clock(),
        )
    except Conflict as exc:
        raise HTTPException(status_code=409, detail="计划刚被他人修改，请重试") from exc
    audit: AuditLog = request.app.state.fairs_audit
    await audit.record(principal, "transport.plan", [s.profile_id for s in seekers])
    response.status_code = 201 if held is None else 200
    return doc["plan"]


async def _held(request: Request, principal: Principal, plan_id: str) -> Doc:
    doc = await _plans(request).get(plan_id)
    if doc is None or not _may_plan(principal, doc["areas"]):
        raise HTTPException(status_code=404, detail="没有这个接送计划")
    return doc


@router.get("/plans/{plan_id}", response_model=SeekersPlanOut, responses=NOT_FOUND)
async def get_plan(plan_id: PlanId, request: Request, principal: Official) -> Any:
    return (await _held(request, principal, plan_id))["plan"]


@router.get(
    "/plans/{plan_id}/manifest.xlsx",
    response_class=Response,
    responses=NOT_FOUND | {200: {"content": {XLSX: {}}, "description": "one sheet per bus, phones masked"}},
)
async def manifest(plan_id: PlanId, request: Request, principal: Official) -> Response:
    """The manifests (乘车名单): per bus, pick-up points in order with times, who boards where
    (masked name and phone), and the total."""
    doc = await _held(request, principal, plan_id)
    ids = [p for bus in doc["plan"]["buses"] for stop in bus["stops"] for p in stop["seekers"]]
    contacts = await _directory(request).contacts_of(ids)
    audit: AuditLog = request.app.state.fairs_audit
    await audit.record(principal, "transport.manifest", ids, read=True)
    body = await asyncio.to_thread(to_xlsx, manifest_rows(doc["plan"], contacts))
    return Response(
        content=body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="transport-{plan_id}.xlsx"'},
    )
