"""Measurements of the match index against the pair-by-pair reference, one side at a time.

For each N a fresh index is filled from generated views (built lazily, so the views themselves
are never all alive at once), then queried with new seekers or new postings drawn from another
seed. Memory is the index's own ``nbytes()`` and the process's resident-set growth while it was
filled (read from ``/proc/self/statm``; no psutil). The baseline is ``score_pair`` called on
every candidate in plain Python: on a random subsample of candidates when N is large, its rate
then extrapolated linearly to all N (it has no index to prune with, so its cost is linear).
"""

from __future__ import annotations

import gc
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluation.generator import (
    CAMPAIGN_YEAR,
    PostingArrays,
    ProfileArrays,
    generate_arrays,
    iter_posting_views,
    iter_profile_views,
    posting_view,
    profile_view,
)
from services.match.index import PostingIndex, ProfileIndex
from services.match.scoring import Policy, score_pair

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


@dataclass(slots=True)
class SideResult:
    direction: str  # "profile_vs_postings" | "posting_vs_profiles"
    n: int
    p50_ms: float
    p99_ms: float
    pairs_per_second: float  # N candidates per query / query time
    index_bytes: int
    rss_delta_bytes: int
    load_seconds: float
    baseline_pairs_per_second: float
    baseline_pairs_measured: int
    agreement: list[bool] = field(default_factory=list)  # per checked query: same top 20


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _top20_reference(
    score: Callable[[int], float | None], candidates: int, ids: Callable[[int], str]
) -> list[tuple[str, float]]:
    scored = [(s, ids(j)) for j in range(candidates) if (s := score(j)) is not None]
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [(i, s) for s, i in scored[:20]]


def _same_top(index_top: list[tuple[str, float]], ref_top: list[tuple[str, float]]) -> bool:
    """Same ids in the same order, or (ties) the same scores position by position."""
    if [i for i, _ in index_top] == [i for i, _ in ref_top]:
        return True
    return len(index_top) == len(ref_top) and all(
        abs(a - b) <= 1e-6 for (_, a), (_, b) in zip(index_top, ref_top, strict=True)
    )


def _bench_side(
    name: str,
    index: Any,
    candidate: Callable[[int], Any],
    n: int,
    qviews: list[Any],
    top20: Callable[[Any], list[tuple[str, float]]],
    pair: Callable[[Any, Any], Any],
    *,
    baseline_pairs: int,
    check_agreement: int,
    seed: int,
) -> SideResult:
    """One direction: load N candidates, time the index's top 20 per query, then the baseline.

    ``pair(query, candidate)`` is ``score_pair`` with its arguments in this direction's order.
    """
    gc.collect()
    before = rss_bytes()
    t = time.perf_counter()
    index.bulk_load(candidate(j) for j in range(n))
    load = time.perf_counter() - t
    gc.collect()
    delta = rss_bytes() - before

    times: list[float] = []
    tops: list[list[tuple[str, float]]] = []
    for v in qviews:
        t = time.perf_counter()
        tops.append(top20(v))
        times.append(time.perf_counter() - t)

    rng = random.Random(seed)
    sample = [rng.randrange(n) for _ in range(min(baseline_pairs, n * len(qviews)))]
    sample_views = {j: candidate(j) for j in set(sample)}
    t = time.perf_counter()
    for k, j in enumerate(sample):
        pair(qviews[k % len(qviews)], sample_views[j])
    base_rate = len(sample) / (time.perf_counter() - t)

    agreement = []
    if check_agreement:
        all_views = [candidate(j) for j in range(n)]
        for qi in range(min(check_agreement, len(qviews))):
            q = qviews[qi]

            def score(j: int, q: Any = q) -> float | None:
                s = pair(q, all_views[j])
                return None if s is None else float(s.score)

            agreement.append(_same_top(tops[qi], _top20_reference(score, n, lambda j: all_views[j].id)))
    result = SideResult(
        name,
        n,
        percentile(times, 50) * 1e3,
        percentile(times, 99) * 1e3,
        n * len(times) / sum(times),
        index.nbytes(),
        delta,
        load,
        base_rate,
        len(sample),
        agreement,
    )
    del index
    gc.collect()
    return result


def bench_profile_vs_postings(
    policy: Policy,
    postings: PostingArrays,
    n: int,
    queries: ProfileArrays,
    *,
    baseline_pairs: int,
    check_agreement: int,
    seed: int,
) -> SideResult:
    index = PostingIndex(policy, year=CAMPAIGN_YEAR)
    return _bench_side(
        "profile_vs_postings",
        index,
        lambda j: posting_view(postings, j, validate=False),
        n,
        list(iter_profile_views(queries)),
        lambda q: index.top_postings_for_profile(q, k=20),
        lambda q, c: score_pair(q, c, policy, year=CAMPAIGN_YEAR),
        baseline_pairs=baseline_pairs,
        check_agreement=check_agreement,
        seed=seed,
    )


def bench_posting_vs_profiles(
    policy: Policy,
    profiles: ProfileArrays,
    n: int,
    queries: PostingArrays,
    *,
    baseline_pairs: int,
    check_agreement: int,
    seed: int,
) -> SideResult:
    index = ProfileIndex(policy, year=CAMPAIGN_YEAR)
    return _bench_side(
        "posting_vs_profiles",
        index,
        lambda i: profile_view(profiles, i, validate=False),
        n,
        list(iter_posting_views(queries)),
        lambda q: index.top_profiles_for_posting(q, k=20),
        lambda q, c: score_pair(c, q, policy, year=CAMPAIGN_YEAR),
        baseline_pairs=baseline_pairs,
        check_agreement=check_agreement,
        seed=seed,
    )


def campaign_columns(
    n: int, n_queries: int, seed: int
) -> tuple[ProfileArrays, PostingArrays, ProfileArrays, PostingArrays]:
    """Indexed entities (seed) and the new ones that query them (another seed)."""
    profiles, postings = generate_arrays(n, n, seed)
    new_profiles, new_postings = generate_arrays(n_queries, n_queries, seed + 1)
    # Queries are new postings: none is already full or closed.
    new_postings.filled[:] = 0
    return profiles, postings, new_profiles, new_postings
