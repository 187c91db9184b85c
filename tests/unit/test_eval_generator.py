from collections import Counter

from evaluation.generator import generate_arrays, generate_campaign, posting_view, profile_view
from shared import places
from shared.models import Group


def test_same_seed_same_campaign() -> None:
    a = generate_campaign(300, 60, seed=5)
    b = generate_campaign(300, 60, seed=5)
    assert [p.model_dump() for p in a.profiles] == [p.model_dump() for p in b.profiles]
    assert [p.model_dump() for p in a.postings] == [p.model_dump() for p in b.postings]
    c = generate_campaign(300, 60, seed=6)
    assert [p.model_dump() for p in a.profiles] != [p.model_dump() for p in c.profiles]


def test_campaign_looks_like_the_reports() -> None:
    c = generate_campaign(3000, 400, seed=1)
    homes = {p.home.adcode for p in c.profiles}
    sites = {p.location.adcode for p in c.postings}
    assert all(places.resolve(code) is not None for code in homes | sites)
    assert {"511025", "422801", "360481", "361104"} <= homes
    assert any(code.startswith("33") for code in sites)  # 浙江 destinations
    groups = Counter(g for p in c.profiles for g in p.groups)
    for g in ("poverty_alleviated", "returning_migrant", "graduate", "low_income"):
        assert groups[g] > 30, g
    assert set(groups) <= {g.value for g in Group}
    assert sum(p.availability == "weekdays_only" for p in c.profiles) > 0.08 * len(c.profiles)
    assert any(p.out_of_province for p in c.profiles)
    big = [p for p in c.postings if p.headcount >= 200]
    assert big and all(p.employer.key_enterprise for p in big)
    assert any(p.employer.name.startswith("立讯精密") and p.headcount == 5100 for p in c.postings)
    small = [p.headcount for p in c.postings if not p.employer.key_enterprise]
    assert sum(5 <= h <= 100 for h in small) > 0.9 * len(small)
    assert all(2500 <= p.wage.min <= p.wage.max <= 8000 for p in c.postings)
    assert any(p.shift == "weekday_day" for p in c.postings)
    assert any("电工证" in p.requirements.certificates for p in c.postings)


def test_arrays_are_fast_and_match_the_views() -> None:
    profiles, postings = generate_arrays(50_000, 50_000, seed=3)
    assert len(profiles) == len(postings) == 50_000
    small = generate_campaign(200, 100, seed=3)
    arrays = generate_arrays(200, 100, seed=3)
    assert small.profiles[7] == profile_view(arrays[0], 7)
    assert small.postings[7] == posting_view(arrays[1], 7)
    assert int(arrays[0].birth_year[7]) == small.profiles[7].birth_year


def test_unvalidated_views_equal_validated_ones() -> None:
    """The benchmark builds its million views unvalidated; they must be the same objects' shape."""
    profiles, postings = generate_arrays(50, 50, seed=3)
    for i in range(50):
        fast, checked = posting_view(postings, i, validate=False), posting_view(postings, i)
        assert fast == checked and type(fast.requirements) is type(checked.requirements)
        assert profile_view(profiles, i, validate=False) == profile_view(profiles, i)
