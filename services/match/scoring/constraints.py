"""Hard constraints: a pair failing any of these is never recommended, whatever its score.

They encode an employer's lawful requirements (working age, a licence) and what the seeker
said they cannot do (a weekdays-only mother is never offered a night or rotating shift; a
seeker who will not move is never offered a job beyond their commute).
"""

from __future__ import annotations

from .features import PostingFeatures, ProfileFeatures

# availability -> shifts it allows
ALLOWED_SHIFTS: dict[str, frozenset[str]] = {
    "any": frozenset({"day", "weekday_day", "rotating", "night"}),
    "day_only": frozenset({"day", "weekday_day"}),
    "weekdays_only": frozenset({"weekday_day"}),
}


def age_ok(profile: ProfileFeatures, posting: PostingFeatures, year: int) -> bool:
    age = year - profile.birth_year
    return posting.min_age <= age <= posting.max_age


def certificates_ok(profile: ProfileFeatures, posting: PostingFeatures) -> bool:
    return posting.certificates <= profile.certificates


def region_ok(profile: ProfileFeatures, posting: PostingFeatures, distance_km: float) -> bool:
    """Within the daily commute, or beyond it where the seeker said so.

    Willing to relocate lifts the commute limit inside the home province (the seeker would move
    to the job); leaving the province needs its own consent (``out_of_province``), as the seeds'
    cross-province transport (资中 to 台州) was for those who signed up for it.
    """
    if distance_km <= profile.max_commute_km:
        return True
    if profile.place is None or posting.place is None:
        return False
    same_province = profile.place.province == posting.place.province
    if same_province:
        return profile.whole_province or profile.relocate
    return profile.out_of_province


def shift_ok(profile: ProfileFeatures, posting: PostingFeatures) -> bool:
    return posting.shift in ALLOWED_SHIFTS.get(profile.availability, ALLOWED_SHIFTS["any"])


def violation(
    profile: ProfileFeatures, posting: PostingFeatures, distance_km: float | None, year: int
) -> str | None:
    """The first hard constraint the pair fails, in Chinese, or None when the pair may match."""
    if not posting.is_open:
        return "岗位未开放"
    if posting.open_positions <= 0:
        return "岗位已招满"
    if not profile.looking:
        return "求职者未在求职"
    if distance_km is None:
        return "地址无法识别"
    if not age_ok(profile, posting, year):
        return "年龄不符合岗位要求"
    if not certificates_ok(profile, posting):
        return "缺少岗位要求的证书"
    if not shift_ok(profile, posting):
        return "班次与可工作时间不符"
    if not region_ok(profile, posting, distance_km):
        return "超出通勤或外出意愿范围"
    return None
