"""A seeded, realistic Spring Breeze campaign: seekers and postings across the seeds' counties.

Everything is drawn column-wise with numpy first (``generate_arrays``), so that the bench can
make a million of each in seconds; the event views the matcher consumes are then projections of
single rows (``profile_view``/``posting_view``). One source of truth means the small eval
campaign and the 1M bench campaign have the same mix. Pure: the same seed gives the same
campaign on every machine (numpy's PCG64 stream is stable across platforms).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from evaluation.catalogue import (
    AVAILABILITY,
    BENEFITS,
    CERTIFICATES,
    COUNTIES,
    EMPLOYER_WORDS,
    GROUPS,
    JOB_KINDS,
    KEY_ENTERPRISES,
    PERSONAS,
    SHIFTS,
    SKILL_CERTIFICATE,
    SKILLS,
)
from shared.events import HomeArea, PostingView, ProfileMatchView
from shared.models import Employer, Location, Requirements, Wage

# The reports are from the 2022 campaign; ages are computed against it, not against today.
CAMPAIGN_YEAR = 2022
KEY_EVERY = 40  # one posting in 40 is a key enterprise's (hundreds of positions each)
WAGE_FLOOR, WAGE_CEILING = 2500, 8000

_SYLLABLES = "华兴盛达鑫源通瑞宏泰恒信丰德昌隆安康明辉金銮永和嘉禾润天鸿博"

IntArray = NDArray[np.int64]


@dataclass(slots=True)
class ProfileArrays:
    county: NDArray[np.int16]  # index into COUNTIES
    persona: NDArray[np.int8]  # index into PERSONAS
    birth_year: NDArray[np.int16]
    desired_wage: NDArray[np.int32]  # 0: not stated
    max_commute_km: NDArray[np.float32]
    whole_province: NDArray[np.bool_]
    out_of_province: NDArray[np.bool_]
    relocate: NDArray[np.bool_]
    availability: NDArray[np.int8]  # index into AVAILABILITY
    skills: NDArray[np.uint32]  # bit i: SKILLS[i]
    certificates: NDArray[np.uint8]  # bit i: CERTIFICATES[i]
    needs_benefits: NDArray[np.uint8]  # bit i: BENEFITS[i]
    groups: NDArray[np.uint8]  # bit i: GROUPS[i]

    def __len__(self) -> int:
        return len(self.county)


@dataclass(slots=True)
class PostingArrays:
    county: NDArray[np.int16]
    kind: NDArray[np.int8]  # index into JOB_KINDS
    key: NDArray[np.int16]  # index into KEY_ENTERPRISES, -1 for an ordinary employer
    employer: NDArray[np.int32]  # employer number within the county (ordinary employers)
    headcount: NDArray[np.int32]
    filled: NDArray[np.int32]
    wage_min: NDArray[np.int32]
    wage_max: NDArray[np.int32]
    benefits: NDArray[np.uint8]
    shift: NDArray[np.int8]  # index into SHIFTS
    min_age: NDArray[np.int8]
    max_age: NDArray[np.int8]
    health_check: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.county)


@dataclass(slots=True)
class Campaign:
    seed: int
    profiles: list[ProfileMatchView]
    postings: list[PostingView]
    profile_arrays: ProfileArrays = field(repr=False)
    posting_arrays: PostingArrays = field(repr=False)


def _weights(values: Sequence[float]) -> NDArray[np.float64]:
    w = np.asarray(values, dtype=np.float64)
    return w / w.sum()


def _pick(
    rng: np.random.Generator, cumulative: NDArray[np.float64], rows: IntArray | None, n: int
) -> IntArray:
    """Vectorised categorical draw; ``cumulative`` is one row per category set (or a single row)."""
    u = rng.random(n)
    cum = cumulative if rows is None else cumulative[rows]
    if cum.ndim == 1:
        return np.searchsorted(cum, u, side="right").astype(np.int64)
    return (u[:, None] >= cum).sum(axis=1).astype(np.int64)


def _bits(rng: np.random.Generator, prob: NDArray[np.float64], rows: IntArray, dtype: type) -> NDArray:
    """A bitmask per row: bit j set with probability ``prob[rows, j]``."""
    n, width = len(rows), prob.shape[1]
    out = np.zeros(n, dtype=np.uint64)
    for j in range(width):
        hit = rng.random(n, dtype=np.float32) < prob[rows, j]
        out |= hit.astype(np.uint64) << np.uint64(j)
    return out.astype(dtype)


def generate_profile_arrays(n: int, rng: np.random.Generator) -> ProfileArrays:
    county = _pick(rng, np.cumsum(_weights([c.seekers for c in COUNTIES]))[:-1], None, n)
    persona = _pick(rng, np.cumsum(_weights([p.weight for p in PERSONAS]))[:-1], None, n)
    lo = np.array([p.age[0] for p in PERSONAS])[persona]
    hi = np.array([p.age[1] for p in PERSONAS])[persona]
    age = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)

    skill_p = np.array([[dict(p.skills).get(s, 0.0) for s in SKILLS] for p in PERSONAS])
    skills = _bits(rng, skill_p, persona, np.uint32)
    skills[skills == 0] = 1 << SKILLS.index("普工")
    certs = np.zeros(n, dtype=np.uint8)
    for skill, (cert, p) in SKILL_CERTIFICATE.items():
        has = ((skills >> SKILLS.index(skill)) & 1).astype(bool) & (rng.random(n) < p)
        certs |= (has.astype(np.uint8) << CERTIFICATES.index(cert)).astype(np.uint8)

    avail_cum = np.cumsum(np.array([p.availability for p in PERSONAS]), axis=1)[:, :-1]
    availability = _pick(rng, avail_cum, persona, n)
    c_lo = np.array([p.commute_km[0] for p in PERSONAS])[persona]
    c_hi = np.array([p.commute_km[1] for p in PERSONAS])[persona]
    commute = np.round(c_lo + rng.random(n) * (c_hi - c_lo), 0)

    level = np.array([c.wage for c in COUNTIES])[county] * np.array([p.wage for p in PERSONAS])[persona]
    wage = np.round(level * rng.lognormal(0.0, 0.12, n) / 100) * 100
    wage = np.clip(wage, WAGE_FLOOR, WAGE_CEILING)
    wage[rng.random(n) < 0.1] = 0  # "工资面议": not stated

    migrant = persona == [p.name for p in PERSONAS].index("外出务工人员")
    out_p = np.array([c.out_of_province for c in COUNTIES])[county]
    out_of_province = migrant | (rng.random(n) < out_p)
    whole_province = out_of_province | (rng.random(n) < 0.15)
    relocate = rng.random(n) < np.where(out_of_province, 0.7, 0.1)

    graduate = persona == [p.name for p in PERSONAS].index("高校毕业生")
    mother = persona == [p.name for p in PERSONAS].index("宝妈")
    need = np.zeros(n, dtype=np.uint8)
    for b, prob in (
        ("social_insurance", np.where(graduate, 0.85, 0.4)),
        ("room_and_board", np.where(out_of_province, 0.7, 0.2)),
        ("dormitory", np.where(relocate, 0.4, 0.05)),
        ("shuttle_bus", np.where(mother, 0.25, 0.08)),
    ):
        need |= ((rng.random(n) < prob).astype(np.uint8) << BENEFITS.index(b)).astype(np.uint8)

    group_p = np.array([[dict(p.groups).get(g, 0.0) for g in GROUPS] for p in PERSONAS])
    groups = _bits(rng, group_p, persona, np.uint8)

    return ProfileArrays(
        county=county.astype(np.int16),
        persona=persona.astype(np.int8),
        birth_year=(CAMPAIGN_YEAR - age).astype(np.int16),
        desired_wage=wage.astype(np.int32),
        max_commute_km=commute.astype(np.float32),
        whole_province=whole_province,
        out_of_province=out_of_province,
        relocate=relocate,
        availability=availability.astype(np.int8),
        skills=skills,
        certificates=certs,
        needs_benefits=need,
        groups=groups,
    )


def generate_posting_arrays(n: int, rng: np.random.Generator) -> PostingArrays:
    # Every 40th posting (2.5%) is a key enterprise's, so that any prefix of a campaign has the mix.
    rows = np.arange(n)
    key = np.where(rows % KEY_EVERY == 0, (rows // KEY_EVERY) % len(KEY_ENTERPRISES), -1)
    is_key = key >= 0
    code_index = {c.adcode: i for i, c in enumerate(COUNTIES)}
    kind_index = {k.title: i for i, k in enumerate(JOB_KINDS)}

    county = _pick(rng, np.cumsum(_weights([c.postings for c in COUNTIES]))[:-1], None, n)
    kind = _pick(rng, np.cumsum(_weights([k.weight for k in JOB_KINDS]))[:-1], None, n)
    key_county = np.array([code_index[e.adcode] for e in KEY_ENTERPRISES])
    key_kind = np.array([kind_index[e.kind] for e in KEY_ENTERPRISES])
    county[is_key] = key_county[key[is_key]]
    kind[is_key] = key_kind[key[is_key]]

    # Ordinary postings: most need 5–30 people, some up to 100, a few up to 200.
    headcount = np.clip(np.round(rng.lognormal(np.log(16), 0.75, n)), 5, 100)
    big = rng.random(n) < 0.04
    headcount[big] = rng.integers(100, 200, int(big.sum()))
    # Key enterprises: the first posting of each has the reported need (立讯: 5,100); repeats at
    # large N need hundreds each.
    reported = np.array([e.headcount for e in KEY_ENTERPRISES])
    first = is_key & (rows // KEY_EVERY < len(KEY_ENTERPRISES))
    headcount[first] = reported[key[first]]
    repeat = is_key & ~first
    headcount[repeat] = rng.integers(200, 1000, int(repeat.sum()))
    filled = np.where(rng.random(n) < 0.2, np.floor(headcount * rng.random(n) * 0.3), 0)

    level = np.array([c.wage for c in COUNTIES])[county] * np.array([k.wage for k in JOB_KINDS])[kind]
    level = level * rng.lognormal(0.0, 0.1, n) * np.where(is_key, 1.05, 1.0)
    wage_min = np.clip(np.round(level * 0.9 / 100) * 100, WAGE_FLOOR, WAGE_CEILING - 500)
    spread = np.round((0.15 + 0.25 * rng.random(n)) * wage_min / 100) * 100
    wage_max = np.clip(wage_min + spread, wage_min, WAGE_CEILING)

    zhejiang = np.array([c.region == "浙江" for c in COUNTIES])[county]
    benefits = np.zeros(n, dtype=np.uint8)
    for b, prob in (
        ("social_insurance", np.where(is_key, 1.0, 0.65)),
        ("room_and_board", np.where(is_key | zhejiang, 0.85, 0.35)),
        ("dormitory", np.where(is_key | zhejiang, 0.8, 0.3)),
        ("shuttle_bus", np.where(is_key, 0.6, 0.2)),
    ):
        benefits |= ((rng.random(n) < prob).astype(np.uint8) << BENEFITS.index(b)).astype(np.uint8)

    shift_cum = np.cumsum(np.array([k.shifts for k in JOB_KINDS]), axis=1)[:, :-1]
    shift = _pick(rng, shift_cum, kind, n)
    min_age = np.where(rng.random(n) < 0.1, 16, 18)
    max_age = np.array([k.max_age for k in JOB_KINDS])[kind]
    max_age = np.where(is_key, np.minimum(max_age, 50), max_age)

    return PostingArrays(
        county=county.astype(np.int16),
        kind=kind.astype(np.int8),
        key=key.astype(np.int16),
        employer=rng.integers(0, max(1, n // 40) * 3, n).astype(np.int32),
        headcount=headcount.astype(np.int32),
        filled=filled.astype(np.int32),
        wage_min=wage_min.astype(np.int32),
        wage_max=wage_max.astype(np.int32),
        benefits=benefits,
        shift=shift.astype(np.int8),
        min_age=min_age.astype(np.int8),
        max_age=max_age.astype(np.int8),
        health_check=is_key | (rng.random(n) < 0.2),
    )


def generate_arrays(n_profiles: int, n_postings: int, seed: int) -> tuple[ProfileArrays, PostingArrays]:
    """Columns for a campaign; a million of each take a few seconds."""
    profile_rng, posting_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    return generate_profile_arrays(n_profiles, profile_rng), generate_posting_arrays(n_postings, posting_rng)


def _names(mask: int, names: Sequence[str]) -> list[str]:
    return [name for i, name in enumerate(names) if mask >> i & 1]


def profile_id(i: int) -> str:
    return f"s{i:07d}"


def posting_id(i: int) -> str:
    return f"j{i:07d}"


def employer_name(a: PostingArrays, i: int) -> str:
    k = int(a.key[i])
    if k >= 0:
        return KEY_ENTERPRISES[k].name
    county = COUNTIES[int(a.county[i])]
    e = int(a.employer[i])
    n = len(_SYLLABLES)
    word = EMPLOYER_WORDS[e % len(EMPLOYER_WORDS)]
    return f"{county.name[:2]}{_SYLLABLES[e % n]}{_SYLLABLES[(e // n) % n]}{word}有限公司"


def profile_view(a: ProfileArrays, i: int, *, validate: bool = True) -> ProfileMatchView:
    persona = PERSONAS[int(a.persona[i])]
    skills = _names(int(a.skills[i]), SKILLS)
    data: dict[str, Any] = {
        "id": profile_id(i),
        "version": 1,
        "status": "looking",
        "birth_year": int(a.birth_year[i]),
        "home": {"adcode": COUNTIES[int(a.county[i])].adcode, "town": None},
        "desired_wage": int(a.desired_wage[i]) or None,
        "max_commute_km": float(a.max_commute_km[i]),
        "whole_province": bool(a.whole_province[i]),
        "out_of_province": bool(a.out_of_province[i]),
        "relocate": bool(a.relocate[i]),
        "skills": skills,
        "experience": f"做过{'、'.join(skills)}" if persona.name != "高校毕业生" else "应届毕业",
        "certificates": _names(int(a.certificates[i]), CERTIFICATES),
        "availability": AVAILABILITY[int(a.availability[i])],
        "needs_benefits": _names(int(a.needs_benefits[i]), BENEFITS),
        "groups": _names(int(a.groups[i]), GROUPS),
        "intention": persona.intention,
    }
    if validate:
        return ProfileMatchView.model_validate(data)
    # Unvalidated (the benchmark's million rows): nested models are built too, as validation would.
    return ProfileMatchView.model_construct(**{**data, "home": HomeArea.model_construct(**data["home"])})


_SHIFT_TEXT = {"day": "长白班", "night": "夜班", "rotating": "两班倒", "weekday_day": "周一至周五白班，双休"}
_BENEFIT_TEXT = {
    "social_insurance": "缴纳五险一金",
    "room_and_board": "包吃住",
    "dormitory": "提供宿舍",
    "shuttle_bus": "班车接送",
}


def posting_view(a: PostingArrays, i: int, *, validate: bool = True) -> PostingView:
    kind = JOB_KINDS[int(a.kind[i])]
    county = COUNTIES[int(a.county[i])]
    k = int(a.key[i])
    shift = SHIFTS[int(a.shift[i])]
    benefits = _names(int(a.benefits[i]), BENEFITS)
    title = kind.title
    if shift == "weekday_day" and "宝妈" not in title:
        title = f"{title}（宝妈班）"
    data: dict[str, Any] = {
        "id": posting_id(i),
        "version": 1,
        "status": "open",
        "employer": {
            "name": employer_name(a, i),
            "key_enterprise": k >= 0,
            "industry": KEY_ENTERPRISES[k].industry if k >= 0 else kind.industry,
        },
        "title": title,
        "occupation": kind.occupation,
        "headcount": int(a.headcount[i]),
        "filled": int(a.filled[i]),
        "wage": {
            "min": int(a.wage_min[i]),
            "max": int(a.wage_max[i]),
            "piece_rate": kind.occupation == "缝纫工",
        },
        "benefits": benefits,
        "shift": shift,
        "location": {
            "adcode": county.adcode,
            "address": f"{county.name}工业园区",
            "park": f"{county.name}工业园区",
        },
        "requirements": {
            "min_age": int(a.min_age[i]),
            "max_age": int(a.max_age[i]),
            "certificates": list(kind.certificates),
            "health_check": bool(a.health_check[i]),
        },
        "skills": list(kind.skills),
        "recruitment_event": f"{CAMPAIGN_YEAR}年{county.region}春风行动招聘会",
        "description": "，".join([_SHIFT_TEXT[shift], *(_BENEFIT_TEXT[b] for b in benefits)]) + "。",
    }
    if validate:
        return PostingView.model_validate(data)
    # Unvalidated (the benchmark's million rows): nested models are built too, as validation would.
    nested: dict[str, type[BaseModel]] = {
        "employer": Employer,
        "wage": Wage,
        "location": Location,
        "requirements": Requirements,
    }
    built = {k: model.model_construct(**data[k]) for k, model in nested.items()}
    return PostingView.model_construct(**{**data, **built})


def iter_profile_views(a: ProfileArrays, *, validate: bool = False) -> Iterator[ProfileMatchView]:
    return (profile_view(a, i, validate=validate) for i in range(len(a)))


def iter_posting_views(a: PostingArrays, *, validate: bool = False) -> Iterator[PostingView]:
    return (posting_view(a, i, validate=validate) for i in range(len(a)))


def generate_campaign(n_profiles: int, n_postings: int, seed: int) -> Campaign:
    profiles_a, postings_a = generate_arrays(n_profiles, n_postings, seed)
    return Campaign(
        seed=seed,
        profiles=[profile_view(profiles_a, i) for i in range(n_profiles)],
        postings=[posting_view(postings_a, i) for i in range(n_postings)],
        profile_arrays=profiles_a,
        posting_arrays=postings_a,
    )
