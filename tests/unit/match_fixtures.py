"""Deterministic synthetic postings and seekers for the matching core's unit tests."""

from __future__ import annotations

import random

from shared.events import PostingView, ProfileMatchView

COUNTIES = [
    "360481",
    "360402",
    "360429",
    "360483",
    "360426",
    "361104",
    "361103",
    "361130",
    "361128",
    "361126",
    "361123",
    "361129",
    "361125",
    "361181",
    "361102",
    "422801",
    "422802",
    "422822",
    "422823",
    "422825",
    "422826",
    "422827",
    "422828",
    "511025",
    "331082",
    "331083",
    "330782",
    "330702",
]
TITLES = [
    "流水线普工",
    "操作工",
    "电工",
    "叉车司机",
    "电焊工",
    "品检员",
    "客服专员",
    "电子装配工",
    "仓库管理员",
    "缝纫车工",
    "数控车床操作工",
    "厨师",
    "保洁员",
    "货车司机",
]
SKILLS = [
    "普工",
    "电工",
    "叉车",
    "焊接",
    "质检",
    "话务",
    "组装",
    "仓管",
    "缝纫",
    "数控",
    "厨师",
    "保洁",
    "驾驶",
]
CERTS = ["电工证", "低压电工证", "叉车证", "焊工证", "健康证", "C1驾照"]
SHIFTS = ["day", "weekday_day", "rotating", "night"]
AVAIL = ["any", "any", "day_only", "weekdays_only"]
BENEFITS = ["social_insurance", "room_and_board", "dormitory", "shuttle_bus"]
GROUPS = ["poverty_alleviated", "low_income", "returning_migrant", "graduate", "hard_to_employ"]


def posting(rng: random.Random, i: int, **over: object) -> PostingView:
    lo = rng.randrange(2500, 6000, 100)
    data: dict[str, object] = {
        "id": f"p{i:06d}",
        "version": 1,
        "status": "open",
        "employer": {"name": f"企业{rng.randrange(40)}", "key_enterprise": rng.random() < 0.2},
        "title": rng.choice(TITLES),
        "headcount": rng.randint(1, 30),
        "filled": 0,
        "wage": {"min": lo, "max": lo + rng.randrange(0, 2500, 100)},
        "benefits": sorted(rng.sample(BENEFITS, rng.randint(0, 3))),
        "shift": rng.choice(SHIFTS),
        "location": {"adcode": rng.choice(COUNTIES)},
        "requirements": {
            "min_age": 18,
            "max_age": rng.choice([45, 50, 55, 60]),
            "certificates": rng.sample(CERTS, 1) if rng.random() < 0.15 else [],
        },
        "skills": rng.sample(SKILLS, rng.randint(0, 2)),
        "description": rng.choice(["", "周一至周五白班，双休", "包吃住，多劳多得", "电子产品组装、刷屏测试"]),
    }
    data.update(over)
    return PostingView.model_validate(data)


def profile(rng: random.Random, i: int, **over: object) -> ProfileMatchView:
    data: dict[str, object] = {
        "id": f"s{i:06d}",
        "version": 1,
        "status": "looking",
        "birth_year": rng.randint(1965, 2006),
        "home": {"adcode": rng.choice(COUNTIES)},
        "desired_wage": rng.choice([None, 3000, 3500, 4000, 4500, 5000, 6000]),
        "max_commute_km": rng.choice([10, 30, 50, 80, 120, 300]),
        "whole_province": rng.random() < 0.2,
        "out_of_province": rng.random() < 0.1,
        "relocate": rng.random() < 0.05,
        "skills": rng.sample(SKILLS, rng.randint(0, 3)),
        "certificates": rng.sample(CERTS, 1) if rng.random() < 0.3 else [],
        "availability": rng.choice(AVAIL),
        "needs_benefits": sorted(rng.sample(BENEFITS, rng.randint(0, 2))),
        "groups": sorted(rng.sample(GROUPS, rng.randint(0, 1))),
        "intention": rng.choice(["", "想找离家近的工作，方便照顾孩子", "希望工资高一点", "做过电子厂流水线"]),
    }
    data.update(over)
    return ProfileMatchView.model_validate(data)


def world(seed: int, n_postings: int, n_profiles: int) -> tuple[list[PostingView], list[ProfileMatchView]]:
    rng = random.Random(seed)
    return ([posting(rng, i) for i in range(n_postings)], [profile(rng, i) for i in range(n_profiles)])
