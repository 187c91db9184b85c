"""Hard constraints: a pair failing any of these is never recommended, whatever its score.

They encode an employer's lawful requirements (working age, a licence) and what the seeker
said they cannot do (a weekdays-only mother is never offered a night or rotating shift; a
seeker who will not move is never offered a job beyond their commute).

Each check reads the two sides as rows (``features.profile_row``/``posting_row``): numbers for
one pair, where ``violation`` names the first one failed, or columns for the index's candidate
rows, where ``feasible`` keeps the rows that pass them all. Certificates are sets of names for
one pair and bitmasks in the index; ``required & held == required`` means the same for both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .arrays import Num, logical_not
from .features import (
    AVAILABILITY_CODES,
    F_OUT,
    F_RELOCATE,
    F_SHORT,
    F_WHOLE,
    NOT_GIG,
    SHIFT_CODES,
    PostingFeatures,
    ProfileFeatures,
    Row,
)

# availability -> shifts it allows
ALLOWED_SHIFTS: dict[str, frozenset[str]] = {
    "any": frozenset({"day", "weekday_day", "rotating", "night"}),
    "day_only": frozenset({"day", "weekday_day"}),
    "weekdays_only": frozenset({"weekday_day"}),
}
# the same as [availability code, shift code] -> allowed
ALLOWED = np.array([[s in ALLOWED_SHIFTS[a] for s in SHIFT_CODES] for a in AVAILABILITY_CODES])


def ages_ok(profile: Row, posting: Row, year: int) -> Any:
    age = year - profile["birth_year"]
    return (posting["min_age"] <= age) & (age <= posting["max_age"])


def certificates_ok(profile: Row, posting: Row) -> Any:
    required = posting["certs"]
    return (required & profile["certs"]) == required


def shifts_ok(profile: Row, posting: Row) -> Any:
    return ALLOWED[profile["availability"], posting["shift"]]


def reach_ok(profile: Row, distance_km: Num, same_province: Any) -> Any:
    """Within the daily commute, or beyond it where the seeker said so.

    Willing to relocate lifts the commute limit inside the home province (the seeker would move
    to the job); leaving the province needs its own consent (``out_of_province``), as the seeds'
    cross-province transport (资中 to 台州) was for those who signed up for it.
    """
    flags = profile["flags"]
    return (
        (distance_km <= profile["commute"])
        | (same_province & ((flags & (F_WHOLE | F_RELOCATE)) != 0))
        | (logical_not(same_province) & ((flags & F_OUT) != 0))
    )


def gig_ok(profile: Row, posting: Row, distance_km: Num) -> Any:
    """零工: a short job only for seekers who said they take them, and only near home."""
    takes = (profile["flags"] & F_SHORT) != 0
    return (posting["gig_km"] == NOT_GIG) | (takes & (distance_km <= posting["gig_km"]))


def checks(
    profile: Row, posting: Row, distance_km: Num, same_province: Any, year: int
) -> Iterator[tuple[str, Any]]:
    """Every constraint on the pair's fields with its reason in Chinese, in the order reported.

    A generator, so that one pair stops at its first failure.
    """
    yield "年龄不符合岗位要求", ages_ok(profile, posting, year)
    yield "缺少岗位要求的证书", certificates_ok(profile, posting)
    yield "班次与可工作时间不符", shifts_ok(profile, posting)
    yield "超出通勤或外出意愿范围", reach_ok(profile, distance_km, same_province)
    yield "零工只推荐给愿打零工且住得近的求职者", gig_ok(profile, posting, distance_km)


def feasible(profile: Row, posting: Row, distance_km: Num, same_province: Any, year: int) -> Any:
    """Whether each pair passes every check (a column of them for the index's rows)."""
    ok: Any = True
    for _, passed in checks(profile, posting, distance_km, same_province, year):
        ok = ok & passed
    return ok


def violation(
    profile: ProfileFeatures, posting: PostingFeatures, distance_km: float | None, year: int
) -> str | None:
    """The first hard constraint the pair fails, in Chinese, or None when the pair may match."""
    reason = entity_violation(profile, posting, distance_km)
    if reason is not None or distance_km is None:
        return reason
    return pair_violation(profile.row, posting.row, distance_km, same_province(profile, posting), year)


def entity_violation(
    profile: ProfileFeatures, posting: PostingFeatures, distance_km: float | None
) -> str | None:
    """What rules out one side whatever the other: the index never holds such an entity."""
    if not posting.is_open:
        return "岗位未开放"
    if posting.open_positions <= 0:
        return "岗位已招满"
    if not profile.looking:
        return "求职者未在求职"
    if distance_km is None or profile.place is None or posting.place is None:
        return "地址无法识别"
    return None


def pair_violation(
    profile: Row, posting: Row, distance_km: float, same_province: bool, year: int
) -> str | None:
    """The first of ``checks`` one pair fails."""
    for reason, passed in checks(profile, posting, distance_km, same_province, year):
        if not passed:
            return reason
    return None


def same_province(profile: ProfileFeatures, posting: PostingFeatures) -> bool:
    if profile.place is None or posting.place is None:
        return False
    return profile.place.province == posting.place.province
