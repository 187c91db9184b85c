"""Mainland resident identity numbers (居民身份证号码, GB 11643-1999): what the standard fixes.

Why not ``stdnum.cn.ric.validate`` alone: besides the check digit and the birth date it looks the
first six digits up in its own table of places, which lacks many real counties (赤壁市 421281,
江夏区 420115, 宝安区 440306 …, measured with python-stdnum 2.2), so it refuses the valid numbers
of people born there. An ID number keeps the code of the county where it was issued for life,
even after the county is renamed or merged, so no current table can judge it. The standard's own
checks are kept: 17 digits and a check digit (ISO 7064 MOD 11-2, ``X`` for 10), a real birth date
not in the future, and a province code that exists.
"""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric

# 11–15 华北, 21–23 东北, 31–37 华东, 41–46 中南, 50–54 西南, 61–65 西北, 71 台湾, 81–83 港澳台居民居住证
PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}
    | {"71", "81", "82", "83"}
)


def validate(number: str, *, today: date | None = None) -> str:
    """The number in canonical form (upper-case ``X``), or ``ValueError`` saying what is wrong."""
    n = number.strip().upper()
    if len(n) != 18 or not n[:17].isdigit() or not (n[17].isdigit() or n[17] == "X"):
        raise ValueError("an identity-card number has 17 digits and a digit or X")
    if n[:2] not in PROVINCES:
        raise ValueError(f"no province has the code {n[:2]}")
    if ric.calc_check_digit(n) != n[17]:
        raise ValueError("wrong check digit")
    born = birth_date(n)
    if born.year < 1900 or born > (today or date.today()):
        raise ValueError("impossible birth date")
    return n


def birth_date(number: str) -> date:
    """The birth date digits 7–14 encode; ``ValueError`` if they are no date."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError("impossible birth date") from None
