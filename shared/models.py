"""Domain model: job postings and seeker profiles as the public API accepts them.

These are the *input* models (what an HR manager or an official files). They are strict where
the law or the data demands it (phone, ID number, adcode, working age) and lenient elsewhere,
so that the payloads in ``../shared/examples/`` stay valid. Server-managed fields (id, status,
version, timestamps) live in the stored document, not here.

Gender and ethnicity may be recorded (officials' forms carry them) but are never an input to
matching: the match view of a profile (``ProfileMatchView``) does not contain them at all.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from stdnum.cn import ric

from shared import places


class Shift(StrEnum):
    day = "day"
    night = "night"
    rotating = "rotating"
    weekday_day = "weekday_day"  # 宝妈班: Monday–Friday day shift, weekends off


class Availability(StrEnum):
    any = "any"
    day_only = "day_only"
    weekdays_only = "weekdays_only"


class Benefit(StrEnum):
    social_insurance = "social_insurance"  # 五险一金
    room_and_board = "room_and_board"  # 包吃住
    dormitory = "dormitory"
    shuttle_bus = "shuttle_bus"


class Group(StrEnum):
    poverty_alleviated = "poverty_alleviated"  # 脱贫人口
    low_income = "low_income"
    returning_migrant = "returning_migrant"
    graduate = "graduate"
    registered_unemployed = "registered_unemployed"
    hard_to_employ = "hard_to_employ"
    zero_employment_family = "zero_employment_family"
    disabled = "disabled"


class Channel(StrEnum):
    inbox = "inbox"
    sms = "sms"
    wechat = "wechat"
    webhook = "webhook"


class ProfileStatus(StrEnum):
    looking = "looking"
    hired = "hired"
    paused = "paused"


class PostingStatus(StrEnum):
    open = "open"
    closed = "closed"


PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")

# The labour law sets 16 as the minimum working age; postings may ask for more, never less.
MIN_WORKING_AGE = 16
MAX_WORKING_AGE = 70

ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=4000)]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def normalise_phone(value: str) -> str:
    """Accept what people type into spreadsheets ("139 1234 5678", "+86-139…") and keep 11 digits."""
    digits = re.sub(r"[\s\-()（）]", "", str(value))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not PHONE_RE.match(digits):
        raise ValueError("not a mainland mobile number (11 digits starting 13–19)")
    return digits


def _check_adcode(value: str) -> str:
    value = str(value).strip()
    if not re.fullmatch(r"\d{6}|\d{9}|\d{12}", value):
        raise ValueError("adcode must be 6 digits (county) or 9 digits (town)")
    if places.resolve(value) is None:
        raise ValueError(f"unknown adcode {value}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True)


class Employer(_Model):
    name: ShortText
    credit_code: str | None = Field(default=None, description="统一社会信用代码 (18 characters)")
    key_enterprise: bool = False
    industry: str | None = Field(default=None, max_length=100)

    @field_validator("credit_code")
    @classmethod
    def _uscc(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        v = v.upper()
        if not USCC_RE.match(v):
            raise ValueError("unified social credit code must be 18 characters (digits and capitals)")
        return v


class Wage(_Model):
    """Monthly wage in CNY. A piece-rate job gives the expected monthly range and a note."""

    min: int = Field(ge=0, le=200_000)
    max: int = Field(ge=0, le=200_000)
    piece_rate: bool = False
    note: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> Wage:
        if self.max < self.min:
            raise ValueError("wage.max must be at least wage.min")
        return self


class Location(_Model):
    adcode: str
    address: str | None = Field(default=None, max_length=200)
    park: str | None = Field(default=None, max_length=100, description="industrial park")

    _adcode = field_validator("adcode", mode="before")(lambda cls, v: _check_adcode(v))


class Requirements(_Model):
    min_age: int = Field(default=MIN_WORKING_AGE, ge=MIN_WORKING_AGE, le=MAX_WORKING_AGE)
    max_age: int = Field(default=60, ge=MIN_WORKING_AGE, le=MAX_WORKING_AGE)
    certificates: list[ShortText] = Field(default_factory=list, description="e.g. 电工证, 叉车证")
    health_check: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Requirements:
        if self.max_age < self.min_age:
            raise ValueError("requirements.max_age must be at least min_age")
        return self


class PostingIn(_Model):
    employer: Employer
    title: ShortText
    occupation: str | None = Field(default=None, max_length=100)
    headcount: int = Field(ge=1, le=100_000, description="positions to fill in total")
    filled: int = Field(default=0, ge=0)
    wage: Wage
    benefits: list[Benefit] = Field(default_factory=list)
    shift: Shift = Shift.day
    location: Location
    requirements: Requirements = Field(default_factory=Requirements)
    skills: list[ShortText] = Field(default_factory=list)
    start_date: date | None = None
    recruitment_event: str | None = Field(default=None, max_length=200, description="job fair or campaign")
    description: LongText = ""

    @model_validator(mode="after")
    def _filled(self) -> PostingIn:
        if self.filled > self.headcount:
            raise ValueError("filled cannot exceed headcount")
        self.benefits = sorted(set(self.benefits))
        return self


class Home(_Model):
    adcode: str
    town: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=200)

    _adcode = field_validator("adcode", mode="before")(lambda cls, v: _check_adcode(v))


class ProfileIn(_Model):
    name: ShortText
    phone: str
    id_number: str | None = Field(default=None, description="居民身份证号 (check digit validated)")
    gender: str | None = Field(default=None, max_length=10, description="recorded, never used in matching")
    ethnicity: str | None = Field(default=None, max_length=20, description="recorded, never used in matching")
    birth_year: int = Field(ge=1940, le=date.today().year - MIN_WORKING_AGE)
    home: Home
    desired_wage: int | None = Field(default=None, ge=0, le=200_000)
    max_commute_km: float = Field(default=50, ge=0, le=5000)
    whole_province: bool = False
    out_of_province: bool = False
    relocate: bool = Field(default=False, description="would move for a job anywhere in the home province")
    skills: list[ShortText] = Field(default_factory=list)
    experience: LongText = ""
    certificates: list[ShortText] = Field(default_factory=list)
    availability: Availability = Availability.any
    care_duties: str | None = Field(default=None, max_length=200, description="why the availability")
    needs_benefits: list[Benefit] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=lambda: [Channel.inbox])
    contact_consent: bool = True
    wechat_openid: str | None = Field(default=None, max_length=100)
    webhook_url: str | None = Field(default=None, max_length=500)
    status: ProfileStatus = ProfileStatus.looking
    intention: LongText = ""

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, v: Any) -> str:
        return normalise_phone(str(v))

    @field_validator("id_number", mode="before")
    @classmethod
    def _ric(cls, v: Any) -> str | None:
        if v is None or str(v).strip() == "":
            return None
        try:
            return str(ric.validate(str(v).strip().upper()))
        except Exception as exc:  # stdnum raises several ValidationError subclasses
            raise ValueError("not a valid identity-card number (check digit or birth date wrong)") from exc

    @model_validator(mode="after")
    def _consistent(self) -> ProfileIn:
        if self.id_number is not None:
            born = ric.get_birth_date(self.id_number).year
            if born != self.birth_year:
                raise ValueError(f"birth_year {self.birth_year} disagrees with the ID number ({born})")
        if Channel.inbox not in self.channels:
            self.channels = [Channel.inbox, *self.channels]
        self.groups = sorted(set(self.groups))
        self.needs_benefits = sorted(set(self.needs_benefits))
        return self
