"""The spreadsheet columns of an import and how their cells become API values.

Officials fill these sheets by hand in Excel (door-to-door surveys, enterprises' hiring forms),
so a cell may hold Chinese labels (是/否, 白班, 五险一金), several values in one cell, or a
number that Excel turned into a float (4000.0) or a phone stored as a number. Everything here
is pure: a cell goes in, an API value or a Chinese reason comes out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
from typing import Any, Literal

from shared import vocabulary

ValueKind = Literal[
    "text", "int", "float", "bool", "list", "enum", "enum_list", "phone", "id", "code", "date"
]


class CellError(ValueError):
    """A cell that cannot be converted; the message is shown to the official as is."""


@dataclass(frozen=True, slots=True)
class Column:
    header: str  # the Chinese header of the template
    field: str  # dotted path in the API payload
    kind: ValueKind
    note: str  # the header's cell comment: what goes here, allowed values
    required: bool = False
    choices: Mapping[str, str] = dc_field(default_factory=dict)  # label -> API value
    example: Any = None
    width: int = 14
    aliases: tuple[str, ...] = ()  # other headers officials' own sheets use for this column


# --- value vocabularies --------------------------------------------------------------------

YES = frozenset({"是", "对", "有", "需要", "接受", "愿意", "同意", "y", "yes", "true", "1", "√", "✓", "✔"})
NO = frozenset(
    {"否", "不", "无", "不需要", "不接受", "不愿意", "不同意", "n", "no", "false", "0", "×", "✗", "x"}
)

# labels officials write -> enum values of shared.models (the labels and aliases: shared.vocabulary)
SHIFTS = vocabulary.choices(vocabulary.SHIFT_LABELS, vocabulary.SHIFT_ALIASES)
AVAILABILITY = vocabulary.choices(vocabulary.AVAILABILITY_LABELS, vocabulary.AVAILABILITY_ALIASES)
BENEFITS = vocabulary.choices(vocabulary.BENEFIT_LABELS, vocabulary.BENEFIT_ALIASES)
GROUPS = vocabulary.choices(vocabulary.GROUP_LABELS, vocabulary.GROUP_ALIASES)
# no webhook: its URL has no column
CHANNELS = vocabulary.choices({c: vocabulary.CHANNEL_LABELS[c] for c in ("inbox", "sms", "wechat")})
PROFILE_STATUSES = vocabulary.choices(vocabulary.PROFILE_STATUS_LABELS, vocabulary.PROFILE_STATUS_ALIASES)


def _labels(choices: Mapping[str, str]) -> str:
    firsts: dict[str, str] = {}
    for label, value in choices.items():
        firsts.setdefault(value, label)
    return "、".join(firsts.values())


_LIST_NOTE = "多个值用顿号、逗号、分号或空格分隔"

PROFILE_COLUMNS: tuple[Column, ...] = (
    Column(
        "姓名",
        "name",
        "text",
        "必填。求职者姓名。",
        True,
        example="王小梅",
        width=10,
        aliases=("求职者姓名",),
    ),
    Column(
        "手机号",
        "phone",
        "phone",
        "必填。11位大陆手机号；重复导入时按手机号更新同一人。",
        True,
        example="13912345678",
        width=14,
        aliases=("手机", "手机号码", "联系电话", "电话"),
    ),
    Column(
        "身份证号",
        "id_number",
        "id",
        "选填。18位居民身份证号（请将单元格设为文本，以免末位被改）。",
        example="",
        width=20,
        aliases=("身份证", "身份证号码", "公民身份号码"),
    ),
    Column("性别", "gender", "text", "选填。仅作登记，不参与匹配。", example="女", width=6),
    Column("民族", "ethnicity", "text", "选填。仅作登记，不参与匹配。", example="土家族", width=8),
    Column(
        "出生年份",
        "birth_year",
        "int",
        "必填。四位年份，如1990。",
        True,
        example=1990,
        width=9,
        aliases=("出生年",),
    ),
    Column(
        "户籍区县代码",
        "home.adcode",
        "code",
        "必填。6位区县代码（如恩施市422801）或9位乡镇代码。",
        True,
        example="422801",
        width=12,
        aliases=("区县代码", "户籍地区县代码", "行政区划代码"),
    ),
    Column("乡镇", "home.town", "text", "选填。所在乡镇（街道）名称。", example="龙凤镇", width=10),
    Column("详细地址", "home.address", "text", "选填。村组门牌，不会发给企业。", example="", width=16),
    Column("期望月薪", "desired_wage", "int", "选填。期望月收入（元），整数。", example=4000, width=9),
    Column(
        "最远通勤公里",
        "max_commute_km",
        "float",
        "选填。能接受的最远通勤距离（公里），默认50。",
        example=30,
        width=11,
    ),
    Column(
        "接受省内就业",
        "whole_province",
        "bool",
        "选填。是/否：是否接受省内任何地方的工作。",
        example="否",
        width=11,
    ),
    Column(
        "接受省外就业",
        "out_of_province",
        "bool",
        "选填。是/否：是否接受外出省外务工。",
        example="否",
        width=11,
    ),
    Column("愿意异地搬迁", "relocate", "bool", "选填。是/否：是否愿意为工作搬家。", example="否", width=11),
    Column(
        "技能",
        "skills",
        "list",
        f"选填。如 电子装配、缝纫、会开叉车。{_LIST_NOTE}。",
        example="电子装配、缝纫",
        width=16,
    ),
    Column(
        "工作经历", "experience", "text", "选填。简述以往工作。", example="在深圳电子厂做过三年装配", width=22
    ),
    Column("证书", "certificates", "list", f"选填。如 电工证、叉车证。{_LIST_NOTE}。", example="", width=12),
    Column(
        "可工作时间",
        "availability",
        "enum",
        f"选填。可选：{_labels(AVAILABILITY)}。默认不限。",
        choices=AVAILABILITY,
        example="仅工作日",
        width=10,
    ),
    Column(
        "照护情况",
        "care_duties",
        "text",
        "选填。如 需接送孩子上学、照顾老人。",
        example="孩子在读小学，需接送",
        width=18,
    ),
    Column(
        "需要的福利",
        "needs_benefits",
        "enum_list",
        f"选填。可选：{_labels(BENEFITS)}。{_LIST_NOTE}。",
        choices=BENEFITS,
        example="五险一金",
        width=14,
    ),
    Column(
        "重点群体",
        "groups",
        "enum_list",
        f"选填。可选：{_labels(GROUPS)}。{_LIST_NOTE}。",
        choices=GROUPS,
        example="脱贫人口、返乡农民工",
        width=18,
    ),
    Column(
        "接收渠道",
        "channels",
        "enum_list",
        f"选填。可选：{_labels(CHANNELS)}（站内信总会开通）。{_LIST_NOTE}。",
        choices=CHANNELS,
        example="站内信、短信",
        width=12,
    ),
    Column(
        "同意接收推送",
        "contact_consent",
        "bool",
        "选填。是/否：是否同意接收岗位推送，默认是。",
        example="是",
        width=11,
    ),
    Column("微信OpenID", "wechat_openid", "text", "选填。公众号OpenID，用于微信推送。", example="", width=12),
    Column(
        "求职状态",
        "status",
        "enum",
        f"选填。可选：{_labels(PROFILE_STATUSES)}。默认求职中；不填时重复导入不改变原状态。",
        choices=PROFILE_STATUSES,
        example="求职中",
        width=10,
    ),
    Column(
        "求职意向",
        "intention",
        "text",
        "选填。想做什么、在哪里做、有何顾虑。",
        example="想在家门口上班，周末休息，方便照顾孩子",
        width=26,
    ),
)

POSTING_COLUMNS: tuple[Column, ...] = (
    Column(
        "企业名称",
        "employer.name",
        "text",
        "必填。企业全称；重复导入时按 企业名称+岗位名称+工作地区县代码 更新。",
        True,
        example="瑞昌示例纺织有限公司",
        width=22,
    ),
    Column(
        "统一社会信用代码",
        "employer.credit_code",
        "text",
        "选填。18位统一社会信用代码。",
        example="",
        width=20,
    ),
    Column(
        "重点企业",
        "employer.key_enterprise",
        "bool",
        "选填。是/否：是否列入重点企业用工保障。",
        example="是",
        width=9,
    ),
    Column(
        "所属行业", "employer.industry", "text", "选填。如 纺织服装、电子信息。", example="纺织服装", width=10
    ),
    Column(
        "岗位名称",
        "title",
        "text",
        "必填。如 流水线普工（宝妈班）。",
        True,
        example="缝纫工（宝妈班）",
        width=18,
    ),
    Column("工种", "occupation", "text", "选填。如 缝纫工、电工。", example="缝纫工", width=10),
    Column(
        "招聘人数", "headcount", "int", "必填。本岗位计划招聘总人数（正整数）。", True, example=80, width=9
    ),
    Column("已招人数", "filled", "int", "选填。已经招到的人数，默认0。", example=0, width=9),
    Column("月薪下限", "wage.min", "int", "必填。月收入下限（元）。", True, example=3500, width=9),
    Column(
        "月薪上限", "wage.max", "int", "必填。月收入上限（元），不低于下限。", True, example=6000, width=9
    ),
    Column(
        "是否计件",
        "wage.piece_rate",
        "bool",
        "选填。是/否：计件工资时填“是”，月薪填预计范围。",
        example="是",
        width=9,
    ),
    Column(
        "薪资说明",
        "wage.note",
        "text",
        "选填。如 计件，熟练工月入6000以上。",
        example="计件，多劳多得",
        width=16,
    ),
    Column(
        "福利待遇",
        "benefits",
        "enum_list",
        f"选填。可选：{_labels(BENEFITS)}。{_LIST_NOTE}。",
        choices=BENEFITS,
        example="五险一金、包吃住",
        width=16,
    ),
    Column(
        "班次",
        "shift",
        "enum",
        f"选填。可选：{_labels(SHIFTS)}（也可填宝妈班）。默认白班。",
        choices=SHIFTS,
        example="宝妈班",
        width=8,
    ),
    Column(
        "工作地区县代码",
        "location.adcode",
        "code",
        "必填。工作地6位区县代码（如瑞昌市360481）或9位乡镇代码。",
        True,
        example="360481",
        width=13,
    ),
    Column("工作地址", "location.address", "text", "选填。厂区地址。", example="瑞昌经济开发区", width=18),
    Column("所在园区", "location.park", "text", "选填。所在工业园区。", example="瑞昌经济开发区", width=14),
    Column("最低年龄", "requirements.min_age", "int", "选填。不低于16，默认16。", example=18, width=9),
    Column("最高年龄", "requirements.max_age", "int", "选填。不高于70，默认60。", example=50, width=9),
    Column(
        "证书要求",
        "requirements.certificates",
        "list",
        f"选填。必须持有的证书。{_LIST_NOTE}。",
        example="",
        width=12,
    ),
    Column(
        "需要体检",
        "requirements.health_check",
        "bool",
        "选填。是/否：入职是否需要体检或健康证。",
        example="否",
        width=9,
    ),
    Column("技能要求", "skills", "list", f"选填。希望具备的技能。{_LIST_NOTE}。", example="缝纫", width=12),
    Column("到岗日期", "start_date", "date", "选填。日期，如 2024-03-01。", example="2024-03-01", width=11),
    Column(
        "所属招聘活动",
        "recruitment_event",
        "text",
        "选填。如 春风行动专场招聘会。",
        example="春风行动园区专场",
        width=16,
    ),
    Column(
        "岗位描述",
        "description",
        "text",
        "选填。工作内容、工作时间、食宿等。",
        example="周一至周五白班，双休，适合需要照顾孩子的求职者。",
        width=30,
    ),
)


# --- cell conversion -------------------------------------------------------------------------

_SPLIT_RE = re.compile(r"[、，,;；\s]+")
_INT_FLOAT_RE = re.compile(r"^[+-]?\d+\.0*$")


def is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def _plain(raw: Any) -> str:
    """Text of a cell; Excel floats that are whole numbers lose their '.0'."""
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime):
        return raw.date().isoformat() if raw.time() == datetime.min.time() else raw.isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    text = str(raw).strip()
    return text.split(".")[0] if _INT_FLOAT_RE.match(text) else text


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise CellError("须为数字")
    if isinstance(raw, int | float):
        return float(raw)
    text = str(raw).strip().replace(",", "").replace("，", "")
    text = re.sub(r"(元|公里|km|千米|人|岁|年)$", "", text, flags=re.IGNORECASE).strip()
    try:
        return float(text)
    except ValueError:
        raise CellError(f"须为数字，实为「{raw}」") from None


def _int(raw: Any) -> int:
    value = _number(raw)
    if not value.is_integer():
        raise CellError(f"须为整数，实为「{raw}」")
    return int(value)


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _plain(raw).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellError(f"须填“是”或“否”，实为「{raw}」")


def _enum(raw: Any, choices: Mapping[str, str]) -> str:
    text = _plain(raw)
    if text in choices:
        return choices[text]
    if text.lower() in set(choices.values()):
        return text.lower()
    raise CellError(f"无法识别「{text}」，可选：{_labels(choices)}")


def _list(raw: Any) -> list[str]:
    return [part for part in _SPLIT_RE.split(_plain(raw)) if part]


def _digits_code(raw: Any, what: str) -> str:
    if isinstance(raw, float) and not raw.is_integer():
        raise CellError(f"{what}须为数字代码，实为「{raw}」")
    text = _plain(raw)
    if re.fullmatch(r"\d+(\.\d+)?[eE]\+?\d+", text):
        raise CellError(f"{what}被Excel显示成了科学计数法「{text}」，请把该列设为文本后重新填写")
    return text


def _id_number(raw: Any) -> str:
    # An 18-digit number has more digits than a float (or Excel) can hold: the tail is garbage.
    if isinstance(raw, float) or (isinstance(raw, int) and not isinstance(raw, bool) and raw >= 10**15):
        if isinstance(raw, int) and len(str(raw)) == 18:
            return str(raw)
        raise CellError("身份证号被Excel存成了数字，末几位已丢失；请把该列设为文本后重新填写")
    return _digits_code(raw, "身份证号").upper()


def _date(raw: Any) -> str:
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    text = _plain(raw)
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
    if not m:
        raise CellError(f"日期格式应为 2024-03-01，实为「{text}」")
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        raise CellError(f"不存在的日期「{text}」") from None


def convert(column: Column, raw: Any) -> Any:
    """The API value of one non-empty cell; ``CellError`` with a Chinese reason if impossible."""
    kind = column.kind
    if kind == "text":
        return _plain(raw)
    if kind == "int":
        return _int(raw)
    if kind == "float":
        return _number(raw)
    if kind == "bool":
        return _bool(raw)
    if kind == "list":
        return _list(raw)
    if kind == "enum":
        return _enum(raw, column.choices)
    if kind == "enum_list":
        values = [_enum(part, column.choices) for part in _list(raw)]
        return list(dict.fromkeys(values))
    if kind == "phone":
        return _digits_code(raw, "手机号")
    if kind == "id":
        return _id_number(raw)
    if kind == "code":
        return _digits_code(raw, "区县代码")
    if kind == "date":
        return _date(raw)
    raise AssertionError(kind)


def normalise_header(text: Any) -> str:
    """'* 手机号 ' and '手机号（必填）' both name 手机号; API names are matched case-insensitively."""
    h = re.sub(r"\s+", "", str(text or ""))
    h = h.strip("*＊")
    h = re.sub(r"[（(]必填[）)]$", "", h)
    return h.lower()


def header_index(columns: tuple[Column, ...]) -> dict[str, Column]:
    """Every name a column may be given: its Chinese header, its API path, and its last path
    segment when that is unambiguous (``adcode`` for ``home.adcode``)."""
    index: dict[str, Column] = {}
    last_counts: dict[str, int] = {}
    for col in columns:
        last = col.field.rsplit(".", 1)[-1]
        last_counts[last] = last_counts.get(last, 0) + 1
    for col in columns:
        index[normalise_header(col.header)] = col
        index[col.field.lower()] = col
        for alias in col.aliases:
            index.setdefault(normalise_header(alias), col)
        last = col.field.rsplit(".", 1)[-1]
        if last_counts[last] == 1:
            index.setdefault(last.lower(), col)
    return index
