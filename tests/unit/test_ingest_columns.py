"""Cell conversion: Chinese labels, Excel floats, lists and dates become API values."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.ingest.columns import (
    POSTING_COLUMNS,
    PROFILE_COLUMNS,
    CellError,
    Column,
    convert,
    header_index,
    normalise_header,
)


def col(columns: tuple[Column, ...], header: str) -> Column:
    return next(c for c in columns if c.header == header)


P = PROFILE_COLUMNS
J = POSTING_COLUMNS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(4000, 4000), (4000.0, 4000), ("4000", 4000), ("4000.0", 4000), ("4,000", 4000), ("4000元", 4000)],
)
def test_int_accepts_excel_floats_and_units(raw: object, expected: int) -> None:
    assert convert(col(P, "期望月薪"), raw) == expected


def test_int_refuses_fractions_and_words() -> None:
    with pytest.raises(CellError, match="整数"):
        convert(col(P, "期望月薪"), 4000.5)
    with pytest.raises(CellError, match="数字"):
        convert(col(P, "期望月薪"), "面议")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(13912345678, "13912345678"), (13912345678.0, "13912345678"), ("139 1234 5678", "139 1234 5678")],
)
def test_phone_stored_as_number_becomes_text(raw: object, expected: str) -> None:
    assert convert(col(P, "手机号"), raw) == expected


def test_phone_in_scientific_notation_is_refused_with_advice() -> None:
    with pytest.raises(CellError, match="科学计数法"):
        convert(col(P, "手机号"), "1.39123E+10")


def test_id_number_as_float_lost_digits() -> None:
    with pytest.raises(CellError, match="文本"):
        convert(col(P, "身份证号"), 4.22801199001011e17)
    assert convert(col(P, "身份证号"), "42280119900101001x") == "42280119900101001X"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("是", True), ("否", False), ("Y", True), (1, True), (0.0, False), ("√", True), (True, True)],
)
def test_bool_labels(raw: object, expected: bool) -> None:
    assert convert(col(P, "接受省外就业"), raw) is expected


def test_bool_refuses_unknown() -> None:
    with pytest.raises(CellError, match="是"):
        convert(col(P, "接受省外就业"), "看情况")


def test_enums_map_chinese_labels_and_accept_api_values() -> None:
    assert convert(col(J, "班次"), "宝妈班") == "weekday_day"
    assert convert(col(J, "班次"), "夜班") == "night"
    assert convert(col(J, "班次"), "Rotating") == "rotating"
    assert convert(col(P, "可工作时间"), "仅工作日") == "weekdays_only"
    with pytest.raises(CellError, match="白班"):
        convert(col(J, "班次"), "早班")


def test_enum_lists_split_on_chinese_and_ascii_separators() -> None:
    groups = col(P, "重点群体")
    assert convert(groups, "脱贫人口、返乡农民工；高校毕业生 残疾人") == [
        "poverty_alleviated",
        "returning_migrant",
        "graduate",
        "disabled",
    ]
    assert convert(col(J, "福利待遇"), "五险一金,包吃住，班车") == [
        "social_insurance",
        "room_and_board",
        "shuttle_bus",
    ]
    assert convert(col(P, "接收渠道"), "短信 微信 短信") == ["sms", "wechat"]
    with pytest.raises(CellError, match="无法识别"):
        convert(col(P, "需要的福利"), "年终奖")


def test_free_lists_split() -> None:
    assert convert(col(P, "技能"), "电子装配、缝纫, 会开叉车") == ["电子装配", "缝纫", "会开叉车"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-01", "2024-03-01"),
        ("2024/3/1", "2024-03-01"),
        ("2024年3月1日", "2024-03-01"),
        (date(2024, 3, 1), "2024-03-01"),
        (datetime(2024, 3, 1), "2024-03-01"),
    ],
)
def test_dates(raw: object, expected: str) -> None:
    assert convert(col(J, "到岗日期"), raw) == expected


def test_bad_date() -> None:
    with pytest.raises(CellError):
        convert(col(J, "到岗日期"), "2024-02-30")
    with pytest.raises(CellError):
        convert(col(J, "到岗日期"), "下个月")


def test_adcode_as_number_and_float() -> None:
    assert convert(col(P, "户籍区县代码"), 422801.0) == "422801"
    assert convert(col(J, "工作地区县代码"), 360481) == "360481"


def test_headers_match_chinese_api_paths_and_short_names() -> None:
    index = header_index(PROFILE_COLUMNS)
    assert index[normalise_header("* 手机号 ")].field == "phone"
    assert index[normalise_header("手机号（必填）")].field == "phone"
    assert index[normalise_header("home.adcode")].field == "home.adcode"
    assert index[normalise_header("ADCODE")].field == "home.adcode"
    assert header_index(POSTING_COLUMNS)["adcode"].field == "location.adcode"


def test_every_column_points_at_a_model_field() -> None:
    from shared.models import PostingIn, ProfileIn

    for columns, model in ((PROFILE_COLUMNS, ProfileIn), (POSTING_COLUMNS, PostingIn)):
        for c in columns:
            cls: type = model
            *parents, leaf = c.field.split(".")
            for p in parents:
                cls = cls.model_fields[p].annotation  # type: ignore[attr-defined]
            assert leaf in cls.model_fields, c.field  # type: ignore[attr-defined]
