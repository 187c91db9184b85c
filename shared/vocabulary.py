"""The Chinese words for the model's enum values, in one place, and the wage as people say it.

Officials read these labels in the spreadsheet templates, seekers read them in the match
reasons, their inbox and SMS: when ingest called a shift 倒班 and the match reasons called it
两班倒, the same posting was described two ways. Each enum value of
``shared.models`` therefore has exactly one label here, worded as the seeds and the bureaus'
own notices word it (低收入人口, 登记失业人员, 就业困难人员). What people also type into a
spreadsheet cell (两班倒, 宝妈班, 社保, 低收入 …) is accepted on input as an alias of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from shared.models import Availability, Benefit, Channel, Group, ProfileStatus, Shift

SHIFT_LABELS: dict[str, str] = {
    Shift.day: "白班",
    Shift.night: "夜班",
    Shift.rotating: "倒班",
    Shift.weekday_day: "周一至周五白班，双休",  # the seeds' 宝妈生产线
}
SHIFT_ALIASES: dict[str, str] = {
    "长白班": Shift.day,
    "两班倒": Shift.rotating,
    "三班倒": Shift.rotating,
    "轮班": Shift.rotating,
    "宝妈班": Shift.weekday_day,
    "周一至周五白班": Shift.weekday_day,
    "周一至周五白班，周末休息": Shift.weekday_day,
}

AVAILABILITY_LABELS: dict[str, str] = {
    Availability.any: "不限",
    Availability.day_only: "仅白班",
    Availability.weekdays_only: "仅工作日",
}
AVAILABILITY_ALIASES: dict[str, str] = {
    "白班": Availability.day_only,
    "工作日": Availability.weekdays_only,
}

BENEFIT_LABELS: dict[str, str] = {
    Benefit.social_insurance: "五险一金",
    Benefit.room_and_board: "包吃住",
    Benefit.dormitory: "提供宿舍",
    Benefit.shuttle_bus: "班车接送",
}
BENEFIT_ALIASES: dict[str, str] = {
    "社保": Benefit.social_insurance,
    "宿舍": Benefit.dormitory,
    "包住": Benefit.dormitory,
    "班车": Benefit.shuttle_bus,
    "通勤车": Benefit.shuttle_bus,
}

GROUP_LABELS: dict[str, str] = {
    Group.poverty_alleviated: "脱贫人口",
    Group.low_income: "低收入人口",
    Group.returning_migrant: "返乡农民工",
    Group.graduate: "高校毕业生",
    Group.registered_unemployed: "登记失业人员",
    Group.hard_to_employ: "就业困难人员",
    Group.zero_employment_family: "零就业家庭",
    Group.disabled: "残疾人",
}
GROUP_ALIASES: dict[str, str] = {
    "脱贫户": Group.poverty_alleviated,
    "低收入": Group.low_income,
    "登记失业": Group.registered_unemployed,
    "就业困难": Group.hard_to_employ,
}

CHANNEL_LABELS: dict[str, str] = {
    Channel.inbox: "站内信",
    Channel.sms: "短信",
    Channel.wechat: "微信",
    Channel.webhook: "接口推送",
}

PROFILE_STATUS_LABELS: dict[str, str] = {
    ProfileStatus.looking: "求职中",
    ProfileStatus.hired: "已就业",
    ProfileStatus.paused: "暂停求职",
}
PROFILE_STATUS_ALIASES: dict[str, str] = {
    "已入职": ProfileStatus.hired,
    "暂停": ProfileStatus.paused,
}

# every labelled enum with its labels: each of its values must have one (tested)
LABELLED: tuple[tuple[type[StrEnum], Mapping[str, str]], ...] = (
    (Shift, SHIFT_LABELS),
    (Availability, AVAILABILITY_LABELS),
    (Benefit, BENEFIT_LABELS),
    (Group, GROUP_LABELS),
    (Channel, CHANNEL_LABELS),
    (ProfileStatus, PROFILE_STATUS_LABELS),
)


def choices(labels: Mapping[str, str], aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every word read as an enum value, label -> value: the labels first, then the aliases."""
    words = {label: str(value) for value, label in labels.items()}
    for alias, value in (aliases or {}).items():
        words.setdefault(alias, str(value))
    return words


def wage_text(wage_min: int, wage_max: int, piece_rate: bool = False) -> str:
    """A monthly wage or range as job boards write it (月薪3800–5200元)."""
    amount = f"{wage_min}元" if wage_min == wage_max else f"{wage_min}–{wage_max}元"
    return f"月薪{amount}" + ("（计件）" if piece_rate else "")
