"""What the fair routes accept and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events import FairKind
from shared.models import Location

ONLINE = ("online", "livestream")
RecordKind = Literal["registration", "visit", "intention", "hire"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FairIn(_In):
    kind: FairKind
    title: str = Field(min_length=1, max_length=200)
    starts_at: datetime = Field(description="with a time zone, e.g. 2026-02-09T09:00:00+08:00")
    ends_at: datetime | None = None
    location: Location = Field(description="the venue; for an online fair, the organising county")
    link: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    reach_km: float = Field(default=30, ge=0, le=5000, description="invite seekers living this close")
    capacity: int | None = Field(default=None, ge=1, le=1_000_000, description="registrations accepted")
    # not blank: the model strips whitespace, so "  " would pass the schema yet fail min_length
    posting_ids: list[Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]] = Field(
        min_length=1, max_length=500
    )

    @model_validator(mode="after")
    def _consistent(self) -> FairIn:
        if self.starts_at.tzinfo is None:
            raise ValueError("starts_at needs a time zone (…+08:00)")
        if self.ends_at is not None and (self.ends_at.tzinfo is None or self.ends_at < self.starts_at):
            raise ValueError("ends_at must have a time zone and not precede starts_at")
        if self.kind in ONLINE and not self.link:
            raise ValueError(f"a {self.kind} fair needs its link")
        self.posting_ids = sorted(set(self.posting_ids))
        return self


class RegistrationIn(_In):
    profile_id: str = Field(min_length=1, max_length=100)
    via: Literal["phone", "link", "on_site"] = "phone"


class SeekerIn(_In):
    profile_id: str = Field(min_length=1, max_length=100)


class PairIn(_In):
    profile_id: str = Field(min_length=1, max_length=100)
    posting_id: str = Field(min_length=1, max_length=100)


class FairOut(BaseModel):
    id: str
    version: int
    status: Literal["announced", "cancelled"]
    kind: FairKind
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    adcode: str
    address: str | None = None
    link: str | None = None
    reach_km: float
    capacity: int | None = None
    posting_ids: list[str]
    enterprises: list[str]


class RecordOut(BaseModel):
    fair_id: str
    kind: RecordKind
    profile_id: str
    posting_id: str | None = None
    accepted: bool = Field(description="false: already recorded, nothing changed")


class FiguresOut(BaseModel):
    """The figures the seed reports give per fair (235家企业, 8786个岗位, 8000余人次, 1388人达成意向)."""

    fair_id: str
    enterprises: int
    positions: int = Field(description="open positions of the fair's postings now")
    invited: int
    registered: int
    visitors: int
    intentions: int
    hires: int
