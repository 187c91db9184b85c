"""The explanation: a factor breakdown and one Chinese sentence naming distance and wage."""

from __future__ import annotations

import re

from services.match.scoring import load_policy, score_pair
from shared.models import PostingIn, ProfileIn
from shared.views import posting_view, profile_match_view
from tests.examples import example
from tests.unit.match_fixtures import world


def test_example_pair_sentence() -> None:
    policy = load_policy()
    post = posting_view(
        PostingIn.model_validate(example("posting")),
        id="p1",
        version=1,
        status="open",
    )
    prof = profile_match_view(ProfileIn.model_validate(example("profile")), id="s1", version=1)
    r = score_pair(prof, post, policy, year=2026)
    assert r is not None
    assert r.reason.startswith(
        "距家约70公里 · 月薪3800–5200元，符合期望 · 周一至周五白班，双休 · 包吃住、五险一金"
    )
    assert {f.factor for f in r.factors} == {"distance", "wage", "skills", "shift", "benefits", "priority"}
    assert abs(sum(f.weight for f in r.factors) - 1) < 1e-9
    assert abs(r.score - sum(f.score * f.weight for f in r.factors)) < 1e-12
    assert 69 < r.distance_km < 71


def test_every_sentence_names_distance_and_wage() -> None:
    policy = load_policy()
    postings, profiles = world(8, 80, 80)
    n = 0
    for prof in profiles:
        for post in postings:
            r = score_pair(prof, post, policy, year=2026)
            if r is None:
                continue
            n += 1
            assert re.match(r"^距家约\d+公里", r.reason)
            assert re.search(r" · 月薪\d+(–\d+)?元", r.reason)
            assert all(0 <= f.score <= 1 and f.detail for f in r.factors)
    assert n > 50
