"""The engine's compact forms give back exactly what went in, and loaded views that do not fit
them (an older card, no distance, unrounded or odd factors, another reason) come back unchanged."""

from __future__ import annotations

import random

import pytest

from services.match.compact import JsonPacker, PairCodec
from services.match.engine import MatchEngine
from services.match.scoring import load_policy
from services.match.scoring.explain import sentence
from shared.events import FactorScore, MatchView, PostingView, ProfileMatchView
from tests.unit.match_fixtures import world

POLICY = load_policy()


def _factors(rng: random.Random, digits: int | None) -> list[FactorScore]:
    texts = {"distance": "距家约15公里", "wage": "月薪3100–3800元，符合期望", "skills": "技能对口：普工"}
    out = []
    for name in ("distance", "wage", "skills", "shift", "benefits", "priority"):
        score = rng.random() if digits is None else round(rng.random(), digits)
        out.append(FactorScore(factor=name, score=score, weight=0.2, detail=texts.get(name, f"{name}说明")))
    return out


def test_pair_codec_round_trips_rounded_and_unrounded_factors() -> None:
    rng = random.Random(5)
    codec = PairCodec()
    for digits in (4, None, 2):
        factors = _factors(rng, digits)
        for reason in (sentence(factors), "另一种说法"):
            for distance in (12.3, None, 0.0):
                blob = codec.encode(0.612345, distance, factors, reason)
                assert codec.decode(blob) == (0.612345, distance, factors, reason)
                assert PairCodec.score(blob) == 0.612345


def test_pair_codec_keeps_a_breakdown_without_distance_or_wage() -> None:
    codec = PairCodec()
    factors = [FactorScore(factor="skills", score=0.5, weight=1.0, detail="技能")]
    assert codec.decode(codec.encode(0.5, 1.0, factors, "理由"))[2:] == (factors, "理由")
    assert codec.decode(codec.encode(0.5, 1.0, [], ""))[2:] == ([], "")


def test_rounded_pairs_are_smaller_than_their_json() -> None:
    codec = PairCodec()
    factors = _factors(random.Random(1), 4)
    blob = codec.encode(0.7, 14.7, factors, sentence(factors))
    as_json = sum(len(f.model_dump_json()) for f in factors) + len(sentence(factors).encode())
    assert len(blob) < as_json / 4


def test_json_packer_round_trips() -> None:
    packer = JsonPacker(b'{"id":"","version":1,"status":"looking"}')
    for raw in (b"", b'{"id":"s1","version":3,"status":"looking","skills":["\xe6\x99\xae\xe5\xb7\xa5"]}'):
        assert packer.unpack(packer.pack(raw)) == raw
    doc = b'{"id":"s1","version":3,"status":"looking"}'
    assert len(packer.pack(doc)) < len(doc)


def _active(postings: list[PostingView], profiles: list[ProfileMatchView]) -> list[MatchView]:
    """The active matches of an engine that applied every posting, then every seeker."""
    engine = MatchEngine(POLICY, year=2026)
    for p in postings:
        engine.apply_posting(p)
    for s in profiles:
        engine.apply_profile(s)
    return [m for s in profiles for m in engine.matches_for_profile(s.id)]


def _misfits(m: MatchView) -> tuple[dict[str, object], ...]:
    """Changes that keep a stored match out of the compact form: another card, no distance,
    a reason of an older version, unrounded factors."""
    card = m.posting.model_copy(update={"open_positions": m.posting.open_positions + 1})
    unrounded = [f.model_copy(update={"score": f.score + 1e-7}) for f in m.factors]
    return ({"posting": card}, {"distance_km": None}, {"reason": "旧版说明"}, {"factors": unrounded})


def test_loaded_views_that_do_not_fit_the_compact_form_come_back_as_loaded() -> None:
    postings, profiles = world(21, 60, 150)
    active = _active(postings, profiles)
    assert len(active) > 40
    odd: list[MatchView] = []
    for i, m in enumerate(active):
        changes = (*_misfits(m), {"factors": m.factors[:1]})
        odd.append(m.model_copy(update=changes[i % len(changes)]))
    b = MatchEngine(POLICY, year=2026)
    b.load(postings, profiles, odd)
    loaded = {(m.profile_id, m.posting_id): m for m in odd}
    for s in profiles:
        for m in b.matches_for_profile(s.id):
            assert m == loaded[(m.profile_id, m.posting_id)]
    assert sum(len(b.matches_for_profile(s.id)) for s in profiles) == len(odd)


def test_stored_documents_load_as_their_validated_views_do() -> None:
    """A restart encodes stored match documents without validating them: the engine must come
    back exactly as from the views, for documents that fit the compact form and those that do not."""
    postings, profiles = world(23, 60, 150)
    active = _active(postings, profiles)
    assert len(active) > 40
    views: list[MatchView] = []
    for i, m in enumerate(active):
        change: tuple[dict[str, object], ...] = ({}, {}, *_misfits(m))
        views.append(m.model_copy(update=change[i % len(change)]))
    docs = [v.model_dump(mode="json") for v in views]
    declined = [(active[0].profile_id, active[0].posting_id)]
    b = MatchEngine(POLICY, year=2026)
    b.load(postings, profiles, views, declined)
    c = MatchEngine(POLICY, year=2026)
    c.load(postings, profiles, docs, declined)
    assert c._profiles == b._profiles and c._holders == b._holders and c._odd == b._odd
    for s in profiles:
        assert c.matches_for_profile(s.id) == b.matches_for_profile(s.id)
    assert not c.matches_for_profile(active[0].profile_id) or all(
        m.posting_id != active[0].posting_id for m in c.matches_for_profile(active[0].profile_id)
    )
    for p in postings[:10]:
        closed = p.model_copy(update={"version": p.version + 1, "status": "closed"})
        assert c.apply_posting(closed) == b.apply_posting(closed)


def test_stored_documents_that_fit_are_not_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    postings, profiles = world(29, 40, 100)
    active = _active(postings, profiles)
    assert active
    docs = [m.model_dump(mode="json") for m in active]

    def refuse(*_: object, **__: object) -> MatchView:
        raise AssertionError("a document of the compact form was validated")

    monkeypatch.setattr(MatchView, "model_validate", refuse)
    b = MatchEngine(POLICY, year=2026)
    b.load(postings, profiles, docs)
    assert [m for s in profiles for m in b.matches_for_profile(s.id)] == active
