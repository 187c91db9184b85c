"""零工超市: a short job reaches only seekers who take short jobs and live close, and a filled one
closes (ingest turns the funnel's hire into a closed posting, so match withdraws it)."""

from __future__ import annotations

import random

from services.match.engine import MatchEngine
from services.match.scoring.constraints import violation
from services.match.scoring.features import distance, posting_features, profile_features
from shared.bus.memory import MemoryBus
from shared.events import TOPIC_FUNNEL, TOPIC_POSTINGS, PostingClosed, parse
from tests.examples import example
from tests.unit.match_fixtures import posting, profile
from tests.unit.test_ingest_funnel import ingest, step, until  # noqa: F401  (ingest: the fixture)
from tests.unit.test_match_engine import POLICY, YEAR, _post, _seeker

GIG = "零工只推荐给愿打零工且住得近的求职者"


def _why(seeker_over: dict[str, object], posting_over: dict[str, object]) -> str | None:
    seeker = profile_features(_seeker(1, **seeker_over), POLICY)
    job = posting_features(_post(1, **posting_over), POLICY)
    return violation(seeker, job, distance(seeker, job, POLICY), YEAR)


def test_a_gig_is_for_seekers_who_take_short_jobs_and_live_within_the_gig_radius() -> None:
    gig = {"gig_days": 1}
    assert _why({"takes_short_jobs": True}, gig) is None
    assert _why({}, gig) == GIG
    # 建始县 is 41 km from 恩施市: within this seeker's commute, beyond the policy's 15 km for gigs
    far = {"takes_short_jobs": True, "home": {"adcode": "422822"}, "max_commute_km": 80}
    assert POLICY.gig.max_km < 41
    assert _why(far, gig) == GIG
    assert _why(far, {}) is None  # an ordinary job at that distance is fine
    assert _why({}, {}) is None


def test_the_engine_offers_a_gig_only_to_the_nearby_seekers_who_take_short_jobs() -> None:
    engine = MatchEngine(POLICY, year=YEAR)
    job = _post(1, gig_days=0.5, title="搬运零工", headcount=2)
    engine.apply_posting(job)
    rng = random.Random(5)
    seekers = [
        _seeker(1, takes_short_jobs=True),
        _seeker(2),
        _seeker(3, takes_short_jobs=True, home={"adcode": "422822"}, max_commute_km=80),
        profile(rng, 4, takes_short_jobs=True, home={"adcode": "422801"}, status="hired"),
    ]
    for s in seekers:
        engine.apply_profile(s)
    assert [m.profile_id for m in engine.matches_for_posting(job.id)] == ["s000001"]
    # and the index agrees with the pair-by-pair constraints on every seeker
    assert [pid for pid, _ in engine.index.top_profiles_for_posting(posting_features(job, POLICY), 10)] == [
        "s000001"
    ]
    assert posting(rng, 9).gig_days is None


async def test_a_filled_gig_is_closed(ingest: tuple[object, MemoryBus]) -> None:  # noqa: F811
    http, bus = ingest
    body = {**example("posting"), "headcount": 1, "gig_days": 1, "title": "搬运零工（一天）"}
    r = await http.post("/v1/postings", json=body)  # type: ignore[attr-defined]
    assert r.status_code == 201, r.text
    posting_id = r.json()["id"]
    await bus.publisher("campaign").publish(TOPIC_FUNNEL, "pa", step("hired", "pa", posting_id))
    done = await until(http, f"/v1/postings/{posting_id}", lambda b: b["status"] == "closed")  # type: ignore[arg-type]
    assert (done["filled"], done["gig_days"]) == (1, 1)
    events = [parse(TOPIC_POSTINGS, r.value) for r in bus.records(TOPIC_POSTINGS)]
    assert any(isinstance(e, PostingClosed) and e.payload.filled == 1 for e in events)
