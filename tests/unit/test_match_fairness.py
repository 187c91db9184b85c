"""Gender and ethnicity are never inputs: seekers differing only in them score identically."""

from __future__ import annotations

from services.match.engine import MatchEngine
from services.match.scoring import load_policy, score_pair
from shared.events import ProfileMatchView
from shared.models import ProfileIn
from shared.views import profile_match_view
from tests.examples import example
from tests.unit.match_fixtures import world

BASE = {
    "name": "示例求职者",
    "phone": "13912345678",
    "birth_year": 1990,
    "home": {"adcode": "361104"},
    "desired_wage": 4000,
    "max_commute_km": 120,
    "availability": "any",
    "skills": ["电子装配", "叉车"],
    "certificates": ["叉车证"],
    "groups": ["poverty_alleviated"],
    "intention": "想找离家近的工作",
}


def _profile(**over: object) -> ProfileIn:
    data = example("profile")
    data.update(BASE)
    data.update(over)
    return ProfileIn.model_validate(data)


def test_view_has_no_protected_traits() -> None:
    assert not {"gender", "ethnicity", "name", "phone", "id_number"} & set(ProfileMatchView.model_fields)


def test_gender_and_ethnicity_do_not_change_scores() -> None:
    policy = load_policy()
    a = profile_match_view(_profile(gender="女", ethnicity="汉族"), id="s1", version=1)
    b = profile_match_view(_profile(gender="男", ethnicity="土家族"), id="s1", version=1)
    assert a == b
    postings, _ = world(4, 400, 0)
    scored = 0
    for post in postings:
        ra, rb = score_pair(a, post, policy, year=2026), score_pair(b, post, policy, year=2026)
        assert ra == rb
        scored += ra is not None
    assert scored > 10


def test_engine_recommends_the_same_to_both() -> None:
    policy = load_policy()
    postings, _ = world(4, 400, 0)
    lists = []
    for gender, ethnicity in (("女", "汉族"), ("男", "苗族")):
        engine = MatchEngine(policy, year=2026)
        for post in postings:
            engine.apply_posting(post)
        view = profile_match_view(_profile(gender=gender, ethnicity=ethnicity), id="s1", version=1)
        engine.apply_profile(view)
        lists.append([(m.posting_id, m.score, m.reason) for m in engine.matches_for_profile("s1")])
    assert lists[0] and lists[0] == lists[1]
