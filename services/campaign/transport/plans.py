"""Stored bus plans (``transport_plans``), each carrying its own outbox of ``transport.assigned``.

A plan's id is chosen by the official (PUT): submitting the same request again answers the
stored plan and announces nothing; a changed request (another time, more seekers) is planned
again as the next version, and only the seekers whose seat moved (another bus, point or time)
or who are new get a notice. The plan and its notices are one single-document write, as the
fairs' are (FerretDB 1.x has no multi-document transactions); the shared relay publishes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.campaign.documents import entry_event, iso, outbox_entry
from services.campaign.transport.seats import Seating
from shared.events import (
    Event,
    TransportAssigned,
    TransportNotice,
    TransportRelease,
    TransportReleased,
    transport_event_id,
)
from shared.outbox import OutboxSource, WriteHook, no_hook
from shared.store.base import Collection, Doc, Store, Where

PLANS = "transport_plans"
PAIRS = "pairs"  # the funnel's (seeker, posting) pairs: who was hired by whom
FAIR_RECORDS = "fair_records"  # registrations at fairs


class Conflict(RuntimeError):
    """Re-planned by someone else meanwhile."""


def seatings_json(seatings: list[Seating]) -> list[dict[str, Any]]:
    return [
        {
            "bus": s.bus,
            "riders": s.riders,
            "km": s.km,
            "arrives_at": s.arrives_at.isoformat(),
            "stops": [
                {
                    "adcode": b.adcode,
                    "point": b.point,
                    "at": b.at.isoformat(),
                    "km": b.km,
                    "seekers": b.seekers,
                }
                for b in s.stops
            ],
        }
        for s in seatings
    ]


def seats_of(plan: dict[str, Any]) -> dict[str, tuple[int, str, str, str]]:
    """profile id -> (bus, pick-up adcode, point, time): what a notice tells her."""
    return {
        pid: (bus["bus"], stop["adcode"], stop["point"], stop["at"])
        for bus in plan.get("buses", [])
        for stop in bus["stops"]
        for pid in stop["seekers"]
    }


def notices(plan_id: str, version: int, plan: dict[str, Any], before: dict[str, Any] | None) -> list[Event]:
    """``transport.assigned`` for each seeker whose seat is new or moved since ``before``, and
    ``transport.released`` for each who had a seat then and has none now."""
    old = seats_of(before) if before else {}
    new = seats_of(plan)
    out: list[Event] = []
    for pid, seat in sorted(new.items()):
        if old.get(pid) == seat:
            continue
        bus, adcode, point, at = seat
        out.append(
            TransportAssigned(
                event_id=transport_event_id(plan_id, pid, version),
                key=pid,
                producer="campaign",
                payload=TransportNotice(
                    plan_id=plan_id,
                    plan_version=version,
                    profile_id=pid,
                    bus=bus,
                    point=point,
                    adcode=adcode,
                    pickup_at=datetime.fromisoformat(at),
                    destination=plan["destination"]["name"],
                ),
            )
        )
    for pid in sorted(set(old) - set(new)):
        out.append(
            TransportReleased(
                event_id=transport_event_id(plan_id, pid, version),
                key=pid,
                producer="campaign",
                payload=TransportRelease(plan_id=plan_id, plan_version=version, profile_id=pid),
            )
        )
    return out


def _events(doc: Doc) -> list[Event]:
    return [entry_event(e) for e in doc.get("outbox") or []]


def _cleared(doc: Doc) -> tuple[dict[str, Any], Where | None]:
    return {"outbox": [], "outbox_pending": False}, {"version": doc["version"]}


def plans_outbox(store: Store) -> OutboxSource:
    """The relay's source for the seekers' transport notices (added to campaign's relay)."""
    return OutboxSource(store.collection(PLANS), {"outbox_pending": True}, _events, _cleared)


class PlanRepository:
    def __init__(self, store: Store, on_write: WriteHook = no_hook) -> None:
        self.plans: Collection = store.collection(PLANS)
        self.pairs: Collection = store.collection(PAIRS)
        self.records: Collection = store.collection(FAIR_RECORDS)
        self._on_write = on_write

    async def ensure_indexes(self) -> None:
        await self.plans.ensure_index([("outbox_pending", 1)])

    async def get(self, plan_id: str) -> Doc | None:
        return await self.plans.get(plan_id)

    async def registered(self, fair_id: str) -> set[str]:
        """A fair's confirmed seekers: those registered for it (by phone, link or on site)."""
        found = await self.records.find({"fair_id": fair_id, "kind": "registration"})
        return {str(r["profile_id"]) for r in found}

    async def hired(self, employer_code: str) -> dict[str, str | None]:
        """An enterprise's confirmed seekers: hired for one of its postings and not left since;
        profile id -> the workplace county of that posting."""
        found = await self.pairs.find({"employer_code": employer_code, "steps.hired": {"$exists": True}})
        return {str(p["profile_id"]): p.get("county") for p in found if "left" not in (p.get("steps") or {})}

    async def save(
        self,
        plan_id: str,
        held: Doc | None,
        content: dict[str, Any],
        *,
        fingerprint: str,
        areas: list[str],
        by: str,
        now: datetime,
    ) -> Doc:
        """Insert version 1, or the next version of ``held``; ``Conflict`` if it moved meanwhile."""
        version = held["version"] + 1 if held else 1
        plan = {**content, "id": plan_id, "version": version}
        events = notices(plan_id, version, plan, held["plan"] if held else None)
        fields = {
            "plan": plan,
            "fingerprint": fingerprint,
            "areas": areas,  # the destination's county, then the origins': whose officials see it
            "updated_at": iso(now),
            "updated_by": by,
            "outbox_pending": bool(events) or bool(held and held.get("outbox_pending")),
        }
        entries = [outbox_entry(e) for e in events]
        if held is None:
            doc: Doc = {"_id": plan_id, "version": 1, **fields, "outbox": entries}
            if not await self.plans.insert(doc):
                raise Conflict(plan_id)
        else:
            if not await self.plans.update(
                plan_id,
                set=fields,
                inc={"version": 1},
                push={"outbox": {"$each": entries}},
                where={"version": held["version"]},
            ):
                raise Conflict(plan_id)
            doc = {**held, **fields, "version": version}
        self._on_write(PLANS, plan_id)
        return doc
