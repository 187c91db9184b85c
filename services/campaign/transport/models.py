"""What the transport routes accept and answer."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.models import USCC_RE

MAX_SEEKERS = 5000
ProfileId = Annotated[str, Field(min_length=1, max_length=100)]
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


class PointIn(_In):
    adcode: str = Field(pattern=r"^\d{6}$", max_length=6, description="the county")
    name: str = Field(min_length=1, max_length=60, description="e.g. 资中县人社局门口")


class SeekersPlanIn(_In):
    """Exactly one of ``fair_id`` and ``employer_code`` names whom the buses go to."""

    fair_id: str | None = Field(
        default=None, min_length=1, max_length=40, description="seekers registered for it"
    )
    employer_code: str | None = Field(
        default=None,
        pattern=USCC_RE.pattern,
        max_length=18,
        description="seekers it hired (and who did not leave)",
    )
    destination: Adcode | None = Field(
        default=None,
        description="the workplace, if the enterprise's hires are for postings in several counties",
    )
    date: date
    departs_at: time = Field(description="local time the buses leave their first pick-up point, e.g. 07:00")
    seats: int = Field(default=45, ge=1, le=100, description="seats per bus")
    speed_kmh: float | None = Field(default=None, gt=5, le=120, description="default: the service's setting")
    profile_ids: list[ProfileId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SEEKERS,
        description="the confirmed seekers to carry; omitted: every confirmed seeker known",
    )
    points: list[PointIn] = Field(
        default_factory=list, max_length=500, description="the pick-up point's name in some counties"
    )

    @model_validator(mode="after")
    def _one_destination(self) -> SeekersPlanIn:
        if (self.fair_id is None) == (self.employer_code is None):
            raise ValueError("give exactly one of fair_id and employer_code")
        if not 2000 <= self.date.year <= 2100:
            raise ValueError("date must lie between 2000 and 2100")
        if self.fair_id is not None and self.destination is not None:
            raise ValueError("a fair's destination is its venue: leave destination out")
        if self.profile_ids is not None:
            self.profile_ids = sorted(set(self.profile_ids))
        return self


class DestinationOut(BaseModel):
    kind: str = Field(description="fair or employer")
    ref: str
    adcode: str
    name: str


class BoardingOut(BaseModel):
    adcode: str
    point: str
    at: datetime
    km: float = Field(description="great-circle kilometres from the previous stop")
    seekers: list[str]


class SeatingOut(BaseModel):
    bus: int
    riders: int
    km: float = Field(description="great-circle kilometres, first pick-up to the destination")
    arrives_at: datetime
    stops: list[BoardingOut]


class SeekersPlanOut(BaseModel):
    id: str
    version: int
    destination: DestinationOut
    date: date
    departs_at: datetime
    seats: int
    speed_kmh: float
    stop_minutes: int
    riders: int
    km: float
    buses: list[SeatingOut]
