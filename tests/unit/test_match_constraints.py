"""Hard constraints are never violated, whatever the soft factors say."""

from __future__ import annotations

import random

from services.match.scoring import load_policy, score_pair
from shared.events import PostingView, ProfileMatchView
from shared.models import Location, Requirements
from tests.unit.match_fixtures import posting, profile, world

POLICY = load_policy()
YEAR = 2026


def _pair() -> tuple[ProfileMatchView, PostingView]:
    rng = random.Random(1)
    post = posting(
        rng,
        1,
        location={"adcode": "422801"},
        shift="day",
        status="open",
        requirements={"min_age": 18, "max_age": 50, "certificates": []},
    )
    prof = profile(
        rng,
        1,
        home={"adcode": "422801"},
        availability="any",
        status="looking",
        birth_year=1990,
        max_commute_km=30,
        whole_province=False,
        out_of_province=False,
        relocate=False,
    )
    return prof, post


def test_weekdays_only_never_gets_rotating_or_night() -> None:
    postings, profiles = world(2, 300, 300)
    for prof in profiles:
        for post in postings:
            r = score_pair(prof, post, POLICY, year=YEAR)
            if r is None:
                continue
            if prof.availability == "weekdays_only":
                assert post.shift == "weekday_day"
            if prof.availability == "day_only":
                assert post.shift in ("day", "weekday_day")


def test_shift_constraint_directly() -> None:
    prof, post = _pair()
    mum = prof.model_copy(update={"availability": "weekdays_only"})
    for s in ("day", "rotating", "night"):
        assert score_pair(mum, post.model_copy(update={"shift": s}), POLICY, year=YEAR) is None
    assert score_pair(mum, post.model_copy(update={"shift": "weekday_day"}), POLICY, year=YEAR) is not None


def test_far_job_only_with_region_flags_or_relocation() -> None:
    prof, post = _pair()
    far_same_province = post.model_copy(update={"location": Location(adcode="421088")})  # 监利, ~300 km
    other_province = post.model_copy(update={"location": Location(adcode="331082")})  # 台州临海
    assert score_pair(prof, far_same_province, POLICY, year=YEAR) is None
    assert score_pair(prof, other_province, POLICY, year=YEAR) is None
    whole = prof.model_copy(update={"whole_province": True})
    assert score_pair(whole, far_same_province, POLICY, year=YEAR) is not None
    assert score_pair(whole, other_province, POLICY, year=YEAR) is None
    out = prof.model_copy(update={"out_of_province": True})
    assert score_pair(out, other_province, POLICY, year=YEAR) is not None
    assert score_pair(out, far_same_province, POLICY, year=YEAR) is None
    mover = prof.model_copy(update={"relocate": True})  # would move, within the home province
    assert score_pair(mover, far_same_province, POLICY, year=YEAR) is not None
    assert score_pair(mover, other_province, POLICY, year=YEAR) is None
    anywhere = mover.model_copy(update={"out_of_province": True})
    assert score_pair(anywhere, other_province, POLICY, year=YEAR) is not None


def test_missing_licence_fails_and_synonym_passes() -> None:
    prof, post = _pair()
    req = {"min_age": 18, "max_age": 60, "certificates": ["电工证"]}
    needs = post.model_copy(update={"requirements": Requirements.model_validate(req)})
    assert score_pair(prof.model_copy(update={"certificates": []}), needs, POLICY, year=YEAR) is None
    assert score_pair(prof.model_copy(update={"certificates": ["叉车证"]}), needs, POLICY, year=YEAR) is None
    ok = prof.model_copy(update={"certificates": ["低压电工证"]})
    assert score_pair(ok, needs, POLICY, year=YEAR) is not None


def test_age_limits_use_the_reference_year() -> None:
    prof, post = _pair()
    old = prof.model_copy(update={"birth_year": 1970})
    assert score_pair(old, post, POLICY, year=YEAR) is None  # 56 > 50
    assert score_pair(old, post, POLICY, year=2019) is not None
    young = prof.model_copy(update={"birth_year": 2010})
    assert score_pair(young, post, POLICY, year=YEAR) is None  # 16 < 18


def test_closed_full_or_not_looking_never_match() -> None:
    prof, post = _pair()
    assert score_pair(prof, post, POLICY, year=YEAR) is not None
    assert score_pair(prof, post.model_copy(update={"status": "closed"}), POLICY, year=YEAR) is None
    assert score_pair(prof, post.model_copy(update={"filled": post.headcount}), POLICY, year=YEAR) is None
    assert score_pair(prof.model_copy(update={"status": "hired"}), post, POLICY, year=YEAR) is None
    nowhere = post.model_copy(update={"location": Location.model_construct(adcode="999999")})
    assert score_pair(prof, nowhere, POLICY, year=YEAR) is None
