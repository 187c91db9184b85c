"""The vectorised index must agree with the pair-by-pair reference path."""

from __future__ import annotations

import pytest

from services.match.index import MatchIndex
from services.match.scoring import load_policy, score_pair
from shared.models import Location
from tests.unit.match_fixtures import world

YEAR = 2026


def _reference(pairs: list[tuple[str, float]], k: int) -> list[tuple[str, float]]:
    return sorted(pairs, key=lambda p: (-p[1], p[0]))[:k]


def _same_top(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    assert len(got) == len(want)
    for (gid, gs), (wid, ws) in zip(got, want, strict=True):
        assert gs == pytest.approx(ws, abs=1e-5)
        if gid != wid:  # only a float32 near-tie may swap neighbours
            assert abs(gs - ws) < 1e-5


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    """Pair-by-pair top 20 for 60 seekers and 60 postings (computed once for both index setups)."""
    policy = load_policy()
    postings, profiles = world(7, 1500, 1500)
    by_profile, by_posting = {}, {}
    for prof in profiles[:60]:
        scored = [(p.id, score_pair(prof, p, policy, year=YEAR)) for p in postings]
        by_profile[prof.id] = _reference([(i, s.score) for i, s in scored if s is not None], 20)
    for post in postings[:60]:
        scored = [(s.id, score_pair(s, post, policy, year=YEAR)) for s in profiles]
        by_posting[post.id] = _reference([(i, r.score) for i, r in scored if r is not None], 20)
    return policy, postings, profiles, by_profile, by_posting


@pytest.fixture(scope="module", params=[16_384, 40], ids=["one-pass", "pruned"])
def loaded(request, reference):  # type: ignore[no-untyped-def]
    """Small chunks make the nearest-first search stop early on its bound: it must stay exact."""
    policy, postings, profiles, by_profile, by_posting = reference
    index = MatchIndex(policy, year=YEAR)
    index.postings.bulk_load(postings)
    index.profiles.bulk_load(profiles)
    index.postings.chunk = index.profiles.chunk = request.param
    return index, profiles, postings, by_profile, by_posting


def test_top_postings_equal_pair_by_pair(loaded) -> None:  # type: ignore[no-untyped-def]
    index, profiles, _, by_profile, _ = loaded
    checked = 0
    for prof in profiles[:60]:
        want = by_profile[prof.id]
        _same_top(index.top_postings_for_profile(prof, 20), want)
        checked += len(want)
    assert checked > 300


def test_top_profiles_equal_pair_by_pair(loaded) -> None:  # type: ignore[no-untyped-def]
    index, _, postings, _, by_posting = loaded
    checked = 0
    for post in postings[:60]:
        want = by_posting[post.id]
        _same_top(index.top_profiles_for_posting(post, 20), want)
        checked += len(want)
    assert checked > 300


def test_remove_update_and_exclude() -> None:
    policy = load_policy()
    postings, profiles = world(3, 200, 50)
    index = MatchIndex(policy, year=YEAR)
    index.postings.bulk_load(postings)
    prof = next(p for p in profiles if index.top_postings_for_profile(p, 5))
    top = index.top_postings_for_profile(prof, 5)
    best = top[0][0]
    assert best not in [i for i, _ in index.top_postings_for_profile(prof, 5, exclude=[best])]
    assert index.postings.remove(best)
    assert best not in [i for i, _ in index.top_postings_for_profile(prof, 5)]
    # re-adding a moved posting (new county) must not duplicate it
    best_view = next(p for p in postings if p.id == best)
    moved = best_view.model_copy(update={"location": Location(adcode="330702")})
    index.postings.add(moved)
    index.postings.add(moved)
    ids = [
        i
        for i, _ in index.top_postings_for_profile(
            prof.model_copy(update={"relocate": True, "out_of_province": True}), 300
        )
    ]
    assert ids.count(best) == 1


def test_compaction_keeps_answers() -> None:
    policy = load_policy()
    postings, profiles = world(5, 300, 30)
    index = MatchIndex(policy, year=YEAR)
    index.postings.bulk_load(postings)
    before = [index.top_postings_for_profile(p, 10) for p in profiles]
    for p in postings[:5]:
        index.postings.remove(p.id)
        index.postings.add(p)
    index.postings.compact()
    assert len(index.postings) == len([p for p in postings])
    assert [index.top_postings_for_profile(p, 10) for p in profiles] == before


def test_skills_csr_shape() -> None:
    policy = load_policy()
    postings, _ = world(9, 50, 0)
    index = MatchIndex(policy, year=YEAR)
    index.postings.bulk_load(postings)
    m = index.postings.skills_csr()
    assert m.shape[0] == 50
    assert m.nnz > 0
