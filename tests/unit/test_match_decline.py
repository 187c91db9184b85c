"""A declined recommendation (不感兴趣) is withdrawn, replaced by the next best and never offered again."""

from __future__ import annotations

from services.match.engine import REASON_DECLINED, MatchEngine
from tests.unit.test_match_engine import POLICY, YEAR, _kinds, _post, _seeker

S = "s000001"


def _campaign() -> MatchEngine:
    """One seeker, 8 postings from distinct employers: wages rank them p7 > p6 > … > p0."""
    e = MatchEngine(POLICY, year=YEAR)
    for i in range(8):
        e.apply_posting(_post(i, wage={"min": 3000 + 100 * i, "max": 5000}))
    e.apply_profile(_seeker(1))
    return e


def _held(e: MatchEngine, profile_id: str = S) -> list[str]:
    return [m.posting_id for m in e.matches_for_profile(profile_id)]


def test_decline_withdraws_and_refills_with_the_next_best() -> None:
    e = _campaign()
    assert _held(e) == ["p000007", "p000006", "p000005", "p000004", "p000003"]
    changes = e.decline(S, "p000007")
    kinds = _kinds(changes)
    assert ("withdrawn", S, "p000007") in kinds
    assert ("created", S, "p000002") in kinds  # the next best not yet held
    gone = next(c.match for c in changes if c.kind == "withdrawn")
    assert gone.withdrawn_reason == REASON_DECLINED
    assert _held(e) == ["p000006", "p000005", "p000004", "p000003", "p000002"]
    assert len(_held(e)) == POLICY.top_k


def test_decline_is_idempotent() -> None:
    e = _campaign()
    assert e.decline(S, "p000007")
    assert e.decline(S, "p000007") == []
    assert _held(e) == ["p000006", "p000005", "p000004", "p000003", "p000002"]


def test_declined_pair_never_comes_back_after_either_side_changes() -> None:
    e = _campaign()
    e.decline(S, "p000007")
    # The posting gets better and is re-scored against the seekers.
    better = _post(7, version=2, wage={"min": 5000, "max": 6000})
    assert all(c.match.profile_id != S or c.kind != "created" for c in e.apply_posting(better))
    assert "p000007" not in _held(e)
    # The seeker changes her profile and is re-scored against every posting.
    changes = e.apply_profile(_seeker(1, version=2, desired_wage=3500))
    assert ("created", S, "p000007") not in _kinds(changes)
    assert "p000007" not in _held(e) and len(_held(e)) == POLICY.top_k


def test_posting_side_fill_skips_the_seeker_who_declined() -> None:
    e = MatchEngine(POLICY, year=YEAR)
    e.apply_posting(_post(1, headcount=1))  # capacity 3
    for i in range(4):
        e.apply_profile(_seeker(10 + i, desired_wage=5000 - 100 * i))
    holders = [m.profile_id for m in e.matches_for_posting("p000001")]
    assert holders == ["s000013", "s000012", "s000011"]
    changes = e.decline("s000013", "p000001")
    assert ("withdrawn", "s000013", "p000001") in _kinds(changes)
    assert ("created", "s000010", "p000001") in _kinds(changes)  # the room goes to the next seeker
    # The posting reopens with more room: the seeker who declined is still not offered it.
    changes = e.apply_posting(_post(1, version=2, headcount=5))
    assert ("created", "s000013", "p000001") not in _kinds(changes)
    assert "s000013" not in [m.profile_id for m in e.matches_for_posting("p000001")]


def test_decline_of_a_pair_not_held_only_remembers_it() -> None:
    e = _campaign()
    assert e.decline(S, "p000000") == []  # not in her list: nothing to withdraw
    e.decline(S, "p000007")
    e.decline(S, "p000006")
    e.decline(S, "p000005")
    assert "p000000" not in _held(e) and len(_held(e)) == 4  # p4..p1: p0 stays declined


def test_declines_survive_load() -> None:
    a = _campaign()
    a.decline(S, "p000007")
    b = MatchEngine(POLICY, year=YEAR)
    postings = [_post(i, wage={"min": 3000 + 100 * i, "max": 5000}) for i in range(8)]
    active = [m for p in [S] for m in a.matches_for_profile(p)]
    b.load(postings, [_seeker(1)], active, declined=[(S, "p000007")])
    assert _held(b) == _held(a)
    assert b.decline(S, "p000007") == []
    changes = b.apply_profile(_seeker(1, version=2, desired_wage=3500))
    assert "p000007" not in _held(b) and ("created", S, "p000007") not in _kinds(changes)
    # The existing three-argument call still works.
    c = MatchEngine(POLICY, year=YEAR)
    c.load(postings, [_seeker(1)], active)
    assert _held(c) == _held(a)
