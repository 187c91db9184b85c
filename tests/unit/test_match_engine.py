"""Engine rules: top-K, employer cap, capacity, withdrawals, idempotency, load round trip."""

from __future__ import annotations

import random

from services.match.engine import MatchChange, MatchEngine
from services.match.scoring import load_policy
from shared.events import PostingView, ProfileMatchView
from tests.unit.match_fixtures import posting, profile, world

POLICY = load_policy()
YEAR = 2026
HOME = {"adcode": "422801"}


def _post(i: int, **over: object) -> PostingView:
    base: dict[str, object] = {
        "employer": {"name": f"企业{i}"},
        "title": "流水线普工",
        "headcount": 10,
        "filled": 0,
        "wage": {"min": 4000, "max": 5000},
        "benefits": ["social_insurance"],
        "shift": "day",
        "location": HOME,
        "requirements": {"min_age": 18, "max_age": 60, "certificates": []},
        "skills": ["普工"],
        "description": "",
    }
    base.update(over)
    return posting(random.Random(i), i, **base)


def _seeker(i: int, **over: object) -> ProfileMatchView:
    base: dict[str, object] = {
        "birth_year": 1990,
        "home": HOME,
        "desired_wage": 4000,
        "max_commute_km": 50,
        "whole_province": False,
        "out_of_province": False,
        "relocate": False,
        "skills": ["普工"],
        "certificates": [],
        "availability": "any",
        "needs_benefits": [],
        "groups": [],
        "intention": "",
    }
    base.update(over)
    return profile(random.Random(i), i, **base)


def _engine() -> MatchEngine:
    return MatchEngine(POLICY, year=YEAR)


def _kinds(changes: list[MatchChange]) -> list[tuple[str, str, str]]:
    return [(c.kind, c.match.profile_id, c.match.posting_id) for c in changes]


def test_top_k_ranked_above_threshold() -> None:
    e = _engine()
    for i in range(12):
        e.apply_posting(_post(i, wage={"min": 3000 + 100 * i, "max": 5000}))
    changes = e.apply_profile(_seeker(1))
    assert [c.kind for c in changes] == ["created"] * POLICY.top_k
    ms = e.matches_for_profile("s000001")
    assert [m.rank for m in ms] == [1, 2, 3, 4, 5]
    assert all(m.score >= POLICY.threshold for m in ms)
    assert [m.score for m in ms] == sorted((m.score for m in ms), reverse=True)
    assert {m.posting_id for m in ms} == {f"p{i:06d}" for i in range(7, 12)}  # best paid first
    assert ms[0].posting.place == "恩施市" and ms[0].posting.open_positions == 10


def test_employer_cap() -> None:
    e = _engine()
    for i in range(6):
        e.apply_posting(_post(i, employer={"name": "立讯精密"}, wage={"min": 5000, "max": 6000}))
    for i in range(6, 9):
        e.apply_posting(_post(i, wage={"min": 3000, "max": 4000}))
    e.apply_profile(_seeker(1))
    employers = [m.posting.employer for m in e.matches_for_profile("s000001")]
    assert employers.count("立讯精密") == POLICY.max_per_employer
    assert len(employers) == POLICY.max_per_employer + 3


def test_capacity_best_fits_first_and_bumping() -> None:
    e = _engine()
    e.apply_posting(_post(1, headcount=1))  # capacity 3
    for i in range(5):  # desired wages 4600..5000: lower desire -> better fit
        e.apply_profile(_seeker(10 + i, desired_wage=5000 - 100 * i))
    holders = [m.profile_id for m in e.matches_for_posting("p000001")]
    assert holders == ["s000014", "s000013", "s000012"]
    changes = e.apply_profile(_seeker(99, desired_wage=3000))
    assert ("created", "s000099", "p000001") in _kinds(changes)
    bumped = [c for c in changes if c.kind == "withdrawn"]
    got = [(c.match.profile_id, c.match.withdrawn_reason) for c in bumped]
    assert got == [("s000012", "岗位推荐名额已满")]
    assert len(e.matches_for_posting("p000001")) == 3
    # a second posting opens: the bumped seeker (and others) get it
    e.apply_posting(_post(2, headcount=2))
    assert "p000002" in [m.posting_id for m in e.matches_for_profile("s000012")]


def test_hired_seeker_gets_nothing_and_is_withdrawn() -> None:
    e = _engine()
    for i in range(3):
        e.apply_posting(_post(i))
    e.apply_profile(_seeker(1))
    assert len(e.matches_for_profile("s000001")) == 3
    changes = e.apply_profile(_seeker(1, version=2, status="hired"))
    assert {c.kind for c in changes} == {"withdrawn"}
    assert {c.match.withdrawn_reason for c in changes} == {"求职者已入职"}
    assert e.matches_for_profile("s000001") == []
    assert e.apply_posting(_post(7)) == []
    assert e.matches_for_posting("p000000") == []


def test_withdrawal_on_close_and_fill_moves_seeker_on() -> None:
    e = _engine()
    for i in range(7):
        e.apply_posting(_post(i, wage={"min": 3000 + 100 * i, "max": 5000}))
    e.apply_profile(_seeker(1))
    top = e.matches_for_profile("s000001")[0].posting_id
    changes = e.apply_posting(
        _post(int(top[1:]), version=2, status="closed", wage={"min": 3000 + 100 * int(top[1:]), "max": 5000})
    )
    withdrawn = [c for c in changes if c.kind == "withdrawn"]
    assert [(c.match.posting_id, c.match.withdrawn_reason) for c in withdrawn] == [(top, "岗位已关闭")]
    assert any(c.kind == "created" for c in changes)  # next-best posting offered
    ms = e.matches_for_profile("s000001")
    assert len(ms) == 5 and top not in [m.posting_id for m in ms] and ms[0].rank == 1
    nxt = ms[0].posting_id
    full = e.apply_posting(
        _post(int(nxt[1:]), version=2, filled=10, wage={"min": 3000 + 100 * int(nxt[1:]), "max": 5000})
    )
    assert ("岗位已招满") in [c.match.withdrawn_reason for c in full if c.kind == "withdrawn"]


def test_idempotent_and_versions() -> None:
    e = _engine()
    p, s = _post(1), _seeker(1)
    assert e.apply_posting(p) == []
    assert len(e.apply_profile(s)) == 1
    assert e.apply_posting(p) == [] and e.apply_profile(s) == []
    older = _seeker(1, version=0, status="hired")
    assert e.apply_profile(older) == []
    assert len(e.matches_for_profile("s000001")) == 1
    # a small, immaterial change (one more hire, same capacity ranking) emits nothing
    assert e.apply_posting(_post(1, version=2, filled=1)) == []


def test_load_round_trip() -> None:
    postings, profiles = world(21, 120, 300)
    a = _engine()
    for p in postings:
        a.apply_posting(p)
    for s in profiles:
        a.apply_profile(s)
    active = [m for s in profiles for m in a.matches_for_profile(s.id)]
    assert len(active) > 100
    b = _engine()
    b.load(postings, profiles, active)
    for s in profiles:
        assert b.matches_for_profile(s.id) == a.matches_for_profile(s.id)
    for p in postings[:20]:
        assert b.matches_for_posting(p.id) == a.matches_for_posting(p.id)
    assert all(b.apply_profile(s) == [] for s in profiles)
    closing = postings[0].model_copy(update={"version": 2, "status": "closed"})
    assert _kinds(a.apply_posting(closing)) == _kinds(b.apply_posting(closing))


def test_capacity_and_constraints_hold_on_a_random_campaign() -> None:
    postings, profiles = world(31, 150, 600)
    e = _engine()
    for p in postings:
        e.apply_posting(p)
    for s in profiles:
        e.apply_profile(s)
    by_id = {p.id: p for p in postings}
    for p in postings:
        assert len(e.matches_for_posting(p.id)) <= POLICY.capacity(p.headcount - p.filled)
    for s in profiles:
        ms = e.matches_for_profile(s.id)
        assert len(ms) <= POLICY.top_k
        employers = [by_id[m.posting_id].employer.name for m in ms]
        assert all(employers.count(x) <= POLICY.max_per_employer for x in employers)
        if s.availability == "weekdays_only":
            assert all(by_id[m.posting_id].shift == "weekday_day" for m in ms)


def test_an_immaterial_change_keeps_the_last_emitted_card_until_a_material_one() -> None:
    """The engine keeps what it last emitted, not what the posting is now: a seeker's matches
    are derived from her list unless they differ, and an unpublished card change is such a case."""
    e = _engine()
    e.apply_posting(_post(1))
    e.apply_posting(_post(2, wage={"min": 3000, "max": 4500}))
    e.apply_profile(_seeker(1))
    assert [m.posting.open_positions for m in e.matches_for_profile("s000001")] == [10, 10]
    assert e.apply_posting(_post(1, version=2, filled=1)) == []  # one hire: emitted nothing
    seen = {m.posting_id: m for m in e.matches_for_profile("s000001")}
    assert seen["p000001"].posting.open_positions == 10 and seen["p000002"].posting.open_positions == 10
    assert e.matches_for_posting("p000001") == [seen["p000001"]]
    changes = e.apply_posting(_post(1, version=3, filled=2, title="包装工"))
    assert _kinds(changes) == [("updated", "s000001", "p000001")]
    assert changes[0].match.posting.open_positions == 8 and changes[0].match.posting.title == "包装工"
    assert e.matches_for_profile("s000001")[0 if seen["p000001"].rank == 1 else 1] == changes[0].match
    assert e.apply_posting(_post(1, version=3, filled=2, title="包装工")) == []
