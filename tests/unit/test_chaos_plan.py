"""The chaos accounting's premise: each seeker fits exactly its cell's postings, nothing else.

``make chaos`` counts a pair lost when an expected (seeker, posting) pair is missing, and that is
only proof of loss if the expected pairs are exactly those the matcher must produce: these tests
score every seeker of a run against every posting of it with the real policy.
"""

from __future__ import annotations

from chaos.data import Cell, cell_counties, posting_json, profile_json
from chaos.load import Load
from services.match.scoring import load_policy, score_pair
from services.match.settings import MatchSettings
from shared.models import PostingIn, ProfileIn
from shared.places import distance_km, resolve
from shared.views import posting_view, profile_match_view


def test_each_seeker_fits_its_own_cells_postings_only_and_well_above_the_threshold() -> None:
    policy = load_policy(MatchSettings().policy_path)
    load = Load(run="t", run_no=1, postings_per_cell=2, profiles_per_cell=2)
    plan = load.plan(4 * 40)  # 40 cells
    counties = cell_counties()
    postings = [
        posting_view(
            PostingIn.model_validate(posting_json("t", cell, counties[cell], n)),
            id=f"{cell}-{n}",
            version=1,
            status="open",
        )
        for kind, cell, n in plan
        if kind == "posting"
    ]
    seekers = [
        (
            cell,
            profile_match_view(
                ProfileIn.model_validate(profile_json(1, i, counties[cell])), id=str(i), version=1
            ),
        )
        for i, (kind, cell, _n) in enumerate(plan)
        if kind == "profile"
    ]
    assert len(postings) == 80 and len(seekers) == 80
    for cell, seeker in seekers:
        fitting = {p.id: score_pair(seeker, p, policy) for p in postings}
        fitting = {pid: s for pid, s in fitting.items() if s is not None}
        assert set(fitting) == {f"{cell}-0", f"{cell}-1"}
        assert all(s.score >= policy.threshold + 0.2 for s in fitting.values())


def test_the_plan_puts_one_seeker_before_its_cells_postings_and_the_rest_after() -> None:
    load = Load(run="t", run_no=1, postings_per_cell=1, profiles_per_cell=4)
    assert load.plan(7) == [
        ("profile", 0, 0),
        ("posting", 0, 0),
        ("profile", 0, 1),
        ("profile", 0, 2),
        ("profile", 0, 3),
        ("profile", 1, 0),
        ("posting", 1, 0),
    ]


def test_expected_pairs_are_the_accepted_postings_of_each_accepted_seekers_cell() -> None:
    load = Load(run="t", run_no=1)
    load.cells = [Cell("a", postings=["j1"], profiles=["p1", "p2"]), Cell("b", postings=[], profiles=["p3"])]
    load.profile_cell = {"p1": 0, "p2": 0, "p3": 1}
    assert load.expected() == {"p1": {"j1"}, "p2": {"j1"}, "p3": set()}  # p3's posting was refused


def test_cell_counties_are_far_apart() -> None:
    places = [resolve(c) for c in cell_counties()[:120]]
    assert all(p is not None for p in places)
    for i, a in enumerate(places):
        for b in places[i + 1 :]:
            assert a is not None and b is not None
            assert distance_km(a, b) >= 40
