"""Nobody left behind: wider offers after the wait, their withdrawals, and the fallback list.

The rig: postings with one open position each (regular capacity 3 seekers), more identical
seekers than that, so the engine leaves the last ones (by id) with nothing although a posting
fits them; and one posting requiring a certificate nobody holds, which must never be offered.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from services.match.app import create_app
from services.match.consumer import MatchProcessor
from services.match.engine import REASON_DECLINED, REASON_POSTING, REASON_PROFILE, MatchEngine
from services.match.settings import MatchSettings
from services.match.wider import REASON_REGULAR, WIDER_MARK, WiderOffers, due
from shared.auth import KeyRing, Role, headers
from shared.bus.memory import MemoryBus
from shared.events import TOPIC_MATCHES, MatchCreated, PostingUpserted, PostingView, ProfileUpserted, parse
from shared.store.memory import MemoryStore
from tests.unit.test_match_engine import POLICY, YEAR, _post, _seeker

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CERT_ONLY = "p000009"


def _postings() -> list[PostingView]:
    return [
        _post(0, headcount=1),
        _post(3, headcount=1),
        _post(9, headcount=10, requirements={"min_age": 18, "max_age": 60, "certificates": ["焊工证"]}),
    ]


def _rig(n_seekers: int = 5, **seeker: object) -> tuple[MatchEngine, WiderOffers]:
    engine = MatchEngine(POLICY, year=YEAR)
    wider = WiderOffers(engine)
    for view in _postings():
        wider.reconcile(engine.apply_posting(view), T0, postings=[view.id])
    for i in range(1, n_seekers + 1):
        view = _seeker(i, **seeker)
        wider.reconcile(engine.apply_profile(view), T0, profiles=[view.id])
    return engine, wider


def test_due_counts_whole_waits() -> None:
    assert not due(T0, T0 + 7 * DAY - timedelta(seconds=1), 7)
    assert due(T0, T0 + 7 * DAY, 7)
    assert due(T0, T0, 0)


def test_the_engine_leaves_the_last_seekers_waiting_since_they_registered() -> None:
    engine, wider = _rig()
    assert [bool(engine.matches_for_profile(f"s00000{i}")) for i in range(1, 6)] == [True] * 3 + [False] * 2
    assert wider.waiting == {"s000004": T0, "s000005": T0}


def test_wider_offers_come_only_after_the_wait_one_per_seeker_first_and_once() -> None:
    _, wider = _rig()
    assert wider.sweep(T0 + 6 * DAY) == []
    changes = wider.sweep(T0 + 7 * DAY)
    got = {(c.kind, c.match.profile_id, c.match.posting_id) for c in changes}
    # one open position each: wider room for one seeker per posting, so each waiting seeker
    # gets one, rather than the first taking both
    assert got == {("created", "s000004", "p000000"), ("created", "s000005", "p000003")}
    for c in changes:
        assert c.match.wider and c.match.rank == 1
        assert c.match.reason.startswith(WIDER_MARK + " · 距家")
        assert c.match.posting_id != CERT_ONLY  # a hard constraint is never relaxed
    assert wider.sweep(T0 + 8 * DAY) == []  # nothing new: nothing re-offered
    assert [m.posting_id for m in wider.matches_for_profile("s000004")] == ["p000000"]
    assert [m.profile_id for m in wider.matches_for_posting("p000003")] == ["s000005"]


def test_a_closed_posting_a_hire_and_a_decline_withdraw_wider_offers_with_their_reason() -> None:
    engine, wider = _rig()
    wider.sweep(T0 + 7 * DAY)
    at = T0 + 8 * DAY

    closed = _post(0, headcount=1, status="closed", version=2)
    out = wider.reconcile(engine.apply_posting(closed), at, postings=[closed.id])
    mine = [c for c in out if c.match.wider]
    assert [(c.kind, c.match.profile_id, c.match.withdrawn_reason) for c in mine] == [
        ("withdrawn", "s000004", REASON_POSTING["closed"])
    ]

    hired = _seeker(5, status="hired", version=2)
    out = wider.reconcile(engine.apply_profile(hired), at, profiles=[hired.id])
    assert [(c.kind, c.match.posting_id, c.match.withdrawn_reason) for c in out] == [
        ("withdrawn", "p000003", REASON_PROFILE["hired"])
    ]
    assert "s000005" not in wider.waiting

    # s000004 is offered p000003 now that s000005 left it, then declines it: gone for good
    offered = wider.sweep(at)
    assert [(c.kind, c.match.profile_id, c.match.posting_id) for c in offered] == [
        ("created", "s000004", "p000003")
    ]
    out = wider.reconcile(engine.decline("s000004", "p000003"), at, profiles=["s000004"])
    assert [(c.kind, c.match.withdrawn_reason) for c in out] == [("withdrawn", REASON_DECLINED)]
    assert wider.sweep(at + DAY) == []


def test_a_regular_recommendation_supersedes_the_wider_offers_and_ends_the_wait() -> None:
    engine, wider = _rig()
    wider.sweep(T0 + 7 * DAY)
    fresh = _post(5, headcount=20)
    changes = engine.apply_posting(fresh)
    out = wider.reconcile(changes, T0 + 8 * DAY, postings=[fresh.id])
    assert {c.match.profile_id for c in changes if c.kind == "created"} >= {"s000004", "s000005"}
    assert {(c.kind, c.match.profile_id, c.match.withdrawn_reason) for c in out} == {
        ("withdrawn", "s000004", REASON_REGULAR),
        ("withdrawn", "s000005", REASON_REGULAR),
    }
    assert wider.waiting == {}
    assert wider.dirty >= {"s000004", "s000005"}


def test_the_fallback_lists_priority_group_seekers_nothing_fits_and_why() -> None:
    # aged 66: over every posting's maximum age, so nothing is feasible, not even widely
    engine, wider = _rig(n_seekers=0)
    old = {"birth_year": YEAR - 66}
    for i, groups in ((7, ["hard_to_employ"]), (8, ["graduate"])):
        view = _seeker(i, groups=groups, **old)
        wider.reconcile(engine.apply_profile(view), T0, profiles=[view.id])
    assert wider.sweep(T0 + 7 * DAY) == []
    assert wider.fallback(T0 + 13 * DAY) == []
    (entry,) = wider.fallback(T0 + 14 * DAY)  # the graduate is not in a fallback group
    assert (entry.profile_id, entry.groups, entry.days_waiting) == ("s000007", ["就业困难人员"], 14)
    assert entry.excluded_by == {"年龄不符合岗位要求": 3}
    assert entry.reason == "就业困难人员 · 已14天无任何推荐 · 最近的3个岗位：年龄不符合岗位要求3个"


def test_a_seeker_holding_a_wider_offer_is_not_on_the_fallback_list() -> None:
    _, wider = _rig(groups=["zero_employment_family"])
    assert {e.profile_id for e in wider.fallback(T0 + 14 * DAY)} == {"s000004", "s000005"}
    wider.sweep(T0 + 14 * DAY)
    assert wider.fallback(T0 + 14 * DAY) == []


async def test_the_processor_publishes_persists_and_rebuilds_wider_offers_and_waits() -> None:
    bus, store = MemoryBus(), MemoryStore()
    engine = MatchEngine(POLICY, year=YEAR)
    proc = MatchProcessor(engine, store, bus.publisher("match"), WiderOffers(engine))
    await proc.setup()
    for view in _postings():
        await proc.handle(PostingUpserted(key=view.id, payload=view, producer="t", occurred_at=T0))
    for i in range(1, 6):
        seeker = _seeker(i)
        await proc.handle(ProfileUpserted(key=seeker.id, payload=seeker, producer="t", occurred_at=T0))
    assert await proc.sweep_wider("sweep-1", T0 + 7 * DAY) == 2
    published = [parse(TOPIC_MATCHES, r.value) for r in bus.records(TOPIC_MATCHES)]
    wider_events = [e for e in published if isinstance(e, MatchCreated) and e.payload.wider]
    assert sorted((e.type, e.key) for e in wider_events) == [
        ("match.created", "s000004"),
        ("match.created", "s000005"),
    ]

    again = MatchEngine(POLICY, year=YEAR)
    reborn = MatchProcessor(again, store, bus.publisher("match"), WiderOffers(again))
    await reborn.rebuild()
    assert reborn.wider is not None and proc.wider is not None
    assert reborn.wider.waiting == proc.wider.waiting == {"s000004": T0, "s000005": T0}
    for sid in ("s000004", "s000005"):
        assert reborn.wider.matches_for_profile(sid) == proc.wider.matches_for_profile(sid)
    assert again.matches_for_profile("s000004") == []  # a wider offer is not a regular match
    assert await reborn.sweep_wider("sweep-2", T0 + 8 * DAY) == 0


def test_officials_read_the_fallback_list_of_their_counties_only() -> None:
    ring = KeyRing()
    keys = {
        "enshi": ring.issue("official-enshi", Role.official, ["4228"]),
        "jiujiang": ring.issue("official-jiujiang", Role.official, ["3604"]),
        "seeker": ring.issue("seeker-1", Role.seeker, ["s000007"]),
    }
    app = create_app(MatchSettings(), bus=MemoryBus(), store=MemoryStore(), keyring=ring)
    with TestClient(app) as client:
        engine, wider = app.state.engine, app.state.wider
        long_ago = datetime.now(UTC) - 30 * DAY
        for view in _postings():
            wider.reconcile(engine.apply_posting(view), long_ago, postings=[view.id])
        view = _seeker(7, groups=["hard_to_employ"], birth_year=YEAR - 66)  # home 422801 (恩施市)
        wider.reconcile(engine.apply_profile(view), long_ago, profiles=[view.id])

        r = client.get("/v1/fallback", headers=headers(keys["enshi"]))
        assert r.status_code == 200
        assert [(e["profile_id"], e["groups"]) for e in r.json()] == [("s000007", ["就业困难人员"])]
        assert r.json()[0]["excluded_by"] == {"年龄不符合岗位要求": 3}
        assert client.get("/v1/fallback", headers=headers(keys["jiujiang"])).json() == []
        assert client.get("/v1/fallback?adcode=422802", headers=headers(keys["enshi"])).json() == []
        assert client.get("/v1/fallback", headers=headers(keys["seeker"])).status_code == 403
        assert client.get("/v1/fallback").status_code == 401
        assert client.get("/v1/fallback?adcode=x", headers=headers(keys["enshi"])).status_code == 422


def test_a_sweep_limited_to_one_seeker_serves_one_without_any_offer_first() -> None:
    _, wider = _rig()
    first = wider.sweep(T0 + 7 * DAY, limit=1)
    assert [(c.match.profile_id, c.match.posting_id) for c in first] == [("s000004", "p000000")]
    # s000004 may still take a second offer, but s000005 holds none: s000005 goes first
    second = wider.sweep(T0 + 7 * DAY, limit=1)
    assert [(c.match.profile_id, c.match.posting_id) for c in second] == [("s000005", "p000003")]
