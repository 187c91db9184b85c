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
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared import idcard, places


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


# The formats live in the schema (``pattern``), so that the OpenAPI says what is accepted and
# pydantic checks exactly that; what a pattern cannot say (a known adcode, a check digit, the
# birth year agreeing with the ID number) is checked after it, as a ``value_error``. Classes are
# spelled out ([0-9], not \d) because Python's \d also matches other scripts' digits.
PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")
_USCC_CHARS = "0-9A-HJ-NPQRTUWXY"
USCC_RE = re.compile(rf"^[{_USCC_CHARS}]{{2}}[0-9]{{6}}[{_USCC_CHARS}]{{10}}$")
# What people type into forms and spreadsheets: "139 1234 5678", "+86-139…", "(0086)139…".
_PHONE_SEP = r"[ \t\u3000\-()（）]"
_S = _PHONE_SEP + "*"
PHONE_PATTERN = rf"^{_S}(?:\+{_S}8{_S}6|0{_S}0{_S}8{_S}6|8{_S}6)?{_S}1{_S}[3-9](?:{_S}[0-9]){{9}}{_S}$"
ADCODE_PATTERN = r"^(?:[0-9]{6}|[0-9]{9}|[0-9]{12})$"
USCC_PATTERN = r"^(?:[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{10})?$"
RIC_PATTERN = r"^(?:[0-9]{17}[0-9Xx])?$"

# The labour law sets 16 as the minimum working age; postings may ask for more, never less.
MIN_WORKING_AGE = 16
MAX_WORKING_AGE = 70

# Strings are stripped (str_strip_whitespace) before their length is judged, so a short text must
# hold one character that is not Unicode White_Space (what pydantic-core strips), spelled out
# so that Python, JavaScript and Rust regexes read it alike.
_WHITE_SPACE = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
ShortText = Annotated[str, Field(min_length=1, max_length=200, pattern=f"[^{_WHITE_SPACE}]")]
LongText = Annotated[str, Field(max_length=4000)]
MAX_ITEMS = 50  # skills, certificates …: a form's worth; every list a client sends is bounded


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def normalise_phone(value: str) -> str:
    """Accept what people type into spreadsheets ("139 1234 5678", "+86-139…") and keep 11 digits."""
    digits = re.sub(_PHONE_SEP, "", str(value).strip())
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
    if not re.fullmatch(ADCODE_PATTERN, value):
        raise ValueError("adcode must be 6 digits (county) or 9 digits (town)")
    if places.resolve(value) is None:
        raise ValueError(f"unknown adcode {value}")
    return value


def _check_ric(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return idcard.validate(value)
    except ValueError as exc:
        raise ValueError("not a valid identity-card number (check digit or birth date wrong)") from exc


def _number_only(value: Any) -> Any:
    """A JSON number and nothing else: pydantic alone would also take true/false and "4000"."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("number_type", "Input should be a number")
    return value


Int = Annotated[int, BeforeValidator(_number_only)]
Number = Annotated[float, BeforeValidator(_number_only)]

_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


def _iso_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` (what ``format: date`` promises): pydantic alone would also take a
    number of seconds since 1970 and a date-time at midnight."""
    if isinstance(value, date) or (
        isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)
    ):
        return value
    raise PydanticCustomError("date_parsing", "Input should be a date as YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _text_datetime(value: Any) -> Any:
    """A date-time as text (what ``format: date-time`` promises), not a number of seconds."""
    if isinstance(value, datetime | str):
        return value
    raise PydanticCustomError("datetime_type", "Input should be a date-time as text (RFC 3339)")


IsoDateTime = Annotated[datetime, BeforeValidator(_text_datetime)]


def _credit_code(value: str | None) -> str | None:
    return value.upper() if value else None


Adcode = Annotated[
    str,
    Field(
        pattern=ADCODE_PATTERN,
        max_length=12,
        description="行政区划代码: 6 digits (county) or 9/12 digits (town); must be a known place",
        examples=["422801"],
        # An OpenAPI format of our own: tools that know it (the fuzz test) draw known places.
        json_schema_extra={"format": "adcode"},
    ),
    AfterValidator(_check_adcode),
]
Phone = Annotated[
    str,
    Field(
        pattern=PHONE_PATTERN,
        max_length=40,
        description="mainland mobile number; spaces, dashes, brackets and +86/0086 are accepted and dropped",
        examples=["13912345678"],
    ),
    AfterValidator(normalise_phone),
]
CreditCode = Annotated[
    str | None,
    Field(
        default=None,
        pattern=USCC_PATTERN,
        max_length=18,
        description="统一社会信用代码 (18 characters; empty means none)",
        examples=["91422800MA4F3L2K8R"],
    ),
    AfterValidator(_credit_code),
]
IdNumber = Annotated[
    str | None,
    Field(
        default=None,
        pattern=RIC_PATTERN,
        max_length=18,
        description="居民身份证号 (check digit and birth date validated; empty means none)",
        examples=["11010519491231002X"],
    ),
    AfterValidator(_check_ric),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True)


class Employer(_Model):
    name: ShortText
    credit_code: CreditCode = None
    key_enterprise: StrictBool = False
    industry: str | None = Field(default=None, max_length=100)


class Wage(_Model):
    """Monthly wage in CNY. A piece-rate job gives the expected monthly range and a note."""

    min: Int = Field(ge=0, le=200_000)
    max: Int = Field(ge=0, le=200_000)
    piece_rate: StrictBool = False
    note: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> Wage:
        if self.max < self.min:
            raise ValueError("wage.max must be at least wage.min")
        return self


class Location(_Model):
    adcode: Adcode
    address: str | None = Field(default=None, max_length=200)
    park: str | None = Field(default=None, max_length=100, description="industrial park")


class Requirements(_Model):
    min_age: Int = Field(default=MIN_WORKING_AGE, ge=MIN_WORKING_AGE, le=MAX_WORKING_AGE)
    max_age: Int = Field(default=60, ge=MIN_WORKING_AGE, le=MAX_WORKING_AGE)
    certificates: list[ShortText] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="e.g. 电工证, 叉车证"
    )
    health_check: StrictBool = False

    @model_validator(mode="after")
    def _ordered(self) -> Requirements:
        if self.max_age < self.min_age:
            raise ValueError("requirements.max_age must be at least min_age")
        return self


class PostingIn(_Model):
    employer: Employer
    title: ShortText
    occupation: str | None = Field(default=None, max_length=100)
    headcount: Int = Field(ge=1, le=100_000, description="positions to fill in total")
    filled: Int = Field(default=0, ge=0)
    wage: Wage
    benefits: list[Benefit] = Field(default_factory=list, max_length=MAX_ITEMS)
    shift: Shift = Shift.day
    location: Location
    requirements: Requirements = Field(default_factory=Requirements)
    skills: list[ShortText] = Field(default_factory=list, max_length=MAX_ITEMS)
    start_date: IsoDate | None = None
    recruitment_event: str | None = Field(default=None, max_length=200, description="job fair or campaign")
    gig_days: float | None = Field(
        default=None,
        gt=0,
        le=30,
        description="零工: a short job of this many days (0.25 = a few hours); offered only to seekers "
        "who take short jobs and live close, and closed once filled",
    )
    description: LongText = ""

    @model_validator(mode="after")
    def _filled(self) -> PostingIn:
        if self.filled > self.headcount:
            raise ValueError("filled cannot exceed headcount")
        self.benefits = sorted(set(self.benefits))
        return self


class Home(_Model):
    adcode: Adcode
    town: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=200)


class ProfileIn(_Model):
    name: ShortText
    phone: Phone
    id_number: IdNumber = None
    gender: str | None = Field(default=None, max_length=10, description="recorded, never used in matching")
    ethnicity: str | None = Field(default=None, max_length=20, description="recorded, never used in matching")
    birth_year: Int = Field(ge=1940, le=date.today().year - MIN_WORKING_AGE)
    home: Home
    desired_wage: Int | None = Field(default=None, ge=0, le=200_000)
    max_commute_km: Number = Field(default=50, ge=0, le=5000)
    whole_province: StrictBool = False
    out_of_province: StrictBool = False
    relocate: StrictBool = Field(
        default=False, description="would move for a job anywhere in the home province"
    )
    skills: list[ShortText] = Field(default_factory=list, max_length=MAX_ITEMS)
    experience: LongText = ""
    certificates: list[ShortText] = Field(default_factory=list, max_length=MAX_ITEMS)
    availability: Availability = Availability.any
    care_duties: str | None = Field(default=None, max_length=200, description="why the availability")
    needs_benefits: list[Benefit] = Field(default_factory=list, max_length=MAX_ITEMS)
    groups: list[Group] = Field(default_factory=list, max_length=MAX_ITEMS)
    channels: list[Channel] = Field(default_factory=lambda: [Channel.inbox], max_length=MAX_ITEMS)
    contact_consent: StrictBool = True
    wechat_openid: str | None = Field(default=None, max_length=100)
    webhook_url: str | None = Field(default=None, max_length=500)
    status: ProfileStatus = ProfileStatus.looking
    intention: LongText = ""
    takes_short_jobs: bool = Field(default=False, description="零工: will take jobs of hours or days")

    @model_validator(mode="after")
    def _consistent(self) -> ProfileIn:
        if self.id_number is not None:
            born = idcard.birth_date(self.id_number).year
            if born != self.birth_year:
                raise ValueError(f"birth_year {self.birth_year} disagrees with the ID number ({born})")
        if Channel.inbox not in self.channels:
            self.channels = [Channel.inbox, *self.channels]
        self.groups = sorted(set(self.groups))
        self.needs_benefits = sorted(set(self.needs_benefits))
        return self
