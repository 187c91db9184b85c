"""Match's resident memory after a restart with 1M seekers and 100k postings (issue 7, item 6).

``python -m bench memory`` runs the measurement in a fresh interpreter (``python -m bench.memory
--child``), so nothing the parent allocated is counted and freed memory of earlier benchmarks
cannot be reused. The child:

1. generates the campaign's columns (``evaluation.generator``: the eval's counties, job kinds,
   personas, wages) for N seekers and N/10 postings;
2. derives a steady campaign's **active matches** cheaply (running the engine over a million
   seekers would take hours): each seeker gets up to ``top_k`` postings of their home county,
   drawn at random among those with room left (at most ``capacity_multiple x open positions``
   seekers per posting, at most ``max_per_employer`` per employer in one list), ranked by score.
   Scoring every such pair exactly would cost ~60 us each, so each posting is first scored
   (``score_features``, as the engine scores, rounded as it stores) against up to
   ``TEMPLATE_TRIES`` seekers of its county, and a pair takes the score, factors, reason and
   distance of one of its posting's feasible results: the match documents have the real sizes
   and strings, but a pair is not itself checked against the hard constraints;
3. declines: ``DECLINED_SHARE`` of the seekers have declined one posting of their county;
4. measures VmRSS (``/proc/self/status``, after ``gc.collect()`` and ``malloc_trim``): the
   baseline, then ``MatchEngine.load`` fed the postings, profiles, active matches and declines
   as match's ``rebuild`` feeds it (posting and profile views validated from JSON-shaped data,
   active matches as their stored documents, freshly parsed each, as read from the store, by
   ``pydantic_core.from_json``, checked equal to ``json.loads`` per template; generated lazily, so
   the inputs are never all alive at once: their generation is inside the measured load time,
   about a quarter of it with ``json.loads`` by py-spy at 60,000 seekers), then VmRSS again;
5. reports (after − baseline) / N seekers as ``match_rss_bytes_per_seeker_<N>``, and a breakdown:
   the index's ``nbytes()`` and the deep size of each of the engine's structures.

Only the measured N is reported: nothing is extrapolated. Last measured at 1M on the shared
2-core machine (README, "Match's memory at 1M seekers"): 1,007 bytes per seeker (1,622 before
the per-seeker record), load 323.8 s wall / 250.5 s CPU, the whole run 387.1 s, at a 1-min load
average of 1.5 at its start and 4–6 during it.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from bench.results import Report, Row, metric

NAME = "memory"
SECTION = "Match memory"
TARGET = 400.0  # bytes per seeker, index and engine together (issue 7)
TEMPLATE_TRIES = 3  # seekers each posting is scored against for its match templates
PICKS = 8  # random postings of the home county a seeker's list is drawn from
DECLINED_SHARE = 0.02


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(NAME)
    group.add_argument(
        "--memory-seekers", type=int, default=1_000_000, help="seekers loaded (postings: a tenth)"
    )


def run(args: argparse.Namespace) -> Report:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "bench.memory", "--child", str(args.memory_seekers), str(args.seed)]
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, timeout=1800)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    n = result["seekers"]
    per_seeker = result["rss_delta_bytes"] / n
    at_target = n >= 1_000_000
    rows: list[Row] = [
        metric(
            f"match_rss_bytes_per_seeker_{n // 1_000_000}m"
            if at_target
            else f"match_rss_bytes_per_seeker_{n}",
            per_seeker,
            "bytes",
            None,
            TARGET if at_target else None,
            (per_seeker <= TARGET) if at_target else None,
        ),
        metric(f"match_active_matches_per_seeker_{n}", result["active"] / n, "matches"),
        metric(f"match_load_seconds_{n}", result["load_seconds"], "s"),
        metric(f"match_load_cpu_seconds_{n}", result["load_cpu_seconds"], "s"),
    ]
    for part, size in result["breakdown"].items():
        rows.append(metric(f"match_memory_{part}_bytes_per_seeker_{n}", size / n, "bytes"))
    seconds = round(time.perf_counter() - started, 1)
    note = (
        f"`MatchEngine.load` with {n:,} seekers, {result['postings']:,} postings, "
        f"{result['active']:,} active matches and {result['declined']:,} declines, in a fresh "
        "process; VmRSS after gc minus VmRSS of the same process just before loading, per seeker. "
        "Breakdown: the index's `nbytes()` and the deep size of each engine structure (Python "
        f"objects counted once), per seeker. Total {seconds} s, of which the measured process used "
        f"{result['cpu_seconds']} s of CPU (`python -m bench memory`)."
    )
    return Report(rows=rows, section=SECTION, note=note, info={"memory": result})


# -- the child ------------------------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident set after a full collection, with freed heap handed back to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def deep_size(obj: object, seen: set[int]) -> int:
    """Bytes of ``obj`` and everything it references that ``seen`` does not hold yet."""
    import numpy as np

    size = 0
    stack = [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            size += o.nbytes + 112
            continue
        size += sys.getsizeof(o)
        if isinstance(o, str | bytes | int | float | bool | type(None)):
            continue
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list | tuple | set | frozenset):
            stack.extend(o)
        else:
            d = getattr(o, "__dict__", None)
            if d is not None:
                stack.append(d)
            for slot in getattr(type(o), "__slots__", ()):
                if hasattr(o, slot):
                    stack.append(getattr(o, slot))
            extra = getattr(o, "__pydantic_fields_set__", None)
            if extra is not None:
                stack.append(extra)
    return size


def log(msg: str, t0: float) -> None:
    print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)


def child(n_seekers: int, seed: int) -> dict[str, Any]:
    import numpy as np
    from pydantic_core import from_json

    from evaluation.generator import (
        CAMPAIGN_YEAR,
        generate_arrays,
        posting_id,
        posting_view,
        profile_id,
        profile_view,
    )
    from services.match.engine import DIGITS, MatchEngine, posting_summary
    from services.match.scoring import load_policy, score_features
    from services.match.scoring.features import posting_features, profile_features
    from services.match.settings import MatchSettings
    from shared.events import MatchView, PostingView, ProfileMatchView

    t0 = time.perf_counter()
    policy = load_policy(MatchSettings().policy_path)
    n_postings = max(1, n_seekers // 10)
    pa, qa = generate_arrays(n_seekers, n_postings, seed)
    rng = np.random.default_rng(seed + 1)
    county = pa.county.astype(np.int64)
    counties = int(max(county.max(), qa.county.max())) + 1
    by_county = [np.nonzero(county == c)[0] for c in range(counties)]
    log(f"columns for {n_seekers:,} seekers and {n_postings:,} postings", t0)

    # Match templates: each posting scored against a few seekers of its county.
    pool_size = 200
    pool: dict[int, list[tuple[int, Any]]] = {}
    for c in range(counties):
        ids = by_county[c][:pool_size]
        pool[c] = [(int(i), profile_features(profile_view(pa, int(i)), policy)) for i in ids]
    templates: list[tuple[float, str]] = []  # (score, JSON of the view after its ids and rank)
    posting_templates: list[list[int]] = []
    capacity = np.zeros(n_postings, dtype=np.int64)
    employer: list[str] = []
    for j in range(n_postings):
        view = posting_view(qa, j)
        feat = posting_features(view, policy)
        capacity[j] = policy.capacity(feat.open_positions) if feat.is_open else 0
        employer.append(feat.employer)
        mine: list[int] = []
        candidates = pool.get(int(qa.county[j]), [])
        for k in rng.integers(0, max(1, len(candidates)), TEMPLATE_TRIES) if candidates else ():
            pair = score_features(candidates[k][1], feat, policy, year=CAMPAIGN_YEAR)
            if pair is None or pair.score < policy.threshold:
                continue
            summary = posting_summary(view)
            factors = [
                f.model_copy(update={"score": round(f.score, 4), "weight": round(f.weight, 4)})
                for f in pair.factors
            ]
            m = MatchView(
                match_id="x:y",
                profile_id="x",
                posting_id=view.id,
                score=round(pair.score, DIGITS),
                rank=1,
                factors=factors,
                reason=pair.reason,
                posting=summary,
                distance_km=round(pair.distance_km, 1),
            )
            tail = m.model_dump_json(exclude={"match_id", "profile_id", "posting_id", "rank"})
            mine.append(len(templates))
            templates.append((m.score, tail[1:]))
        posting_templates.append(mine)
    del pool
    # the stored documents are parsed by pydantic_core's JSON parser (compiled, as a driver decodes
    # in C; json.loads was a fifth of the load's time), into fresh objects (no string cache) and
    # checked equal to json.loads's result for every template, float for float
    for _, tail in templates:
        sample = '{"match_id":"x:y","profile_id":"x","posting_id":"y","rank":1,' + tail
        if from_json(sample, cache_strings=False) != json.loads(sample):
            raise AssertionError(f"from_json and json.loads differ on {sample}")
    log(f"{len(templates):,} match templates", t0)

    # The active matches: up to top_k per seeker from their county, within capacity and employer caps.
    usable = [
        np.array([j for j in np.nonzero(qa.county == c)[0] if posting_templates[j]]) for c in range(counties)
    ]
    # plain lists: the loop below reads them a few million times (NumPy scalars are slower there)
    picks = rng.integers(0, 2**31 - 1, size=(n_seekers, PICKS)).tolist()
    left = capacity.tolist()
    near = [u.tolist() for u in usable]
    home = county.tolist()
    pair_seeker: list[int] = []
    pair_posting: list[int] = []
    pair_template: list[int] = []
    for i in range(n_seekers):
        cand = near[home[i]]
        if len(cand) == 0:
            continue
        chosen: list[int] = []
        per_employer: dict[str, int] = {}
        for r in picks[i]:
            j = cand[r % len(cand)]
            if j in chosen or left[j] <= 0 or per_employer.get(employer[j], 0) >= policy.max_per_employer:
                continue
            chosen.append(j)
            per_employer[employer[j]] = per_employer.get(employer[j], 0) + 1
            left[j] -= 1
            if len(chosen) >= policy.top_k:
                break
        for j in chosen:
            ts = posting_templates[j]
            pair_seeker.append(i)
            pair_posting.append(j)
            pair_template.append(ts[(i + j) % len(ts)])
    seekers_a = np.array(pair_seeker, dtype=np.int32)
    postings_a = np.array(pair_posting, dtype=np.int32)
    templates_a = np.array(pair_template, dtype=np.int32)
    del pair_seeker, pair_posting, pair_template, picks
    score_of = [s for s, _ in templates]
    declining = np.nonzero(rng.random(n_seekers) < DECLINED_SHARE)[0]
    log(f"{len(seekers_a):,} active matches, {len(declining):,} declines drawn", t0)

    counts = {"active": 0, "declined": 0}

    def postings() -> Iterator[PostingView]:
        return (posting_view(qa, j) for j in range(n_postings))  # validated from a dict, as from the store

    def profiles() -> Iterator[ProfileMatchView]:
        return (profile_view(pa, i) for i in range(n_seekers))

    def active() -> Iterator[dict[str, Any]]:
        start = 0
        total = len(seekers_a)
        seekers, postings, kinds = seekers_a.tolist(), postings_a.tolist(), templates_a.tolist()
        while start < total:
            end = start
            while end < total and seekers[end] == seekers[start]:
                end += 1
            sid = profile_id(seekers[start])
            order = sorted(range(start, end), key=lambda k: (-score_of[kinds[k]], postings[k]))
            for rank, k in enumerate(order, 1):
                pid = posting_id(postings[k])
                head = f'{{"match_id":"{sid}:{pid}","profile_id":"{sid}","posting_id":"{pid}","rank":{rank},'
                counts["active"] += 1
                # the stored document (``model_dump(mode="json")``), fresh objects as a store read gives
                yield from_json(head + templates[kinds[k]][1], cache_strings=False)
            start = end

    def declined() -> Iterator[tuple[str, str]]:
        for i in declining.tolist():
            near = usable[county[i]]
            if len(near):
                counts["declined"] += 1
                yield profile_id(i), posting_id(int(near[i % len(near)]))

    engine = MatchEngine(policy, year=CAMPAIGN_YEAR)
    baseline = rss_bytes()
    log(f"baseline VmRSS {baseline / 2**20:,.0f} MiB; loading", t0)
    started, cpu = time.perf_counter(), time.process_time()
    engine.load(postings(), profiles(), active(), declined())
    load_seconds, load_cpu = time.perf_counter() - started, time.process_time() - cpu
    after = rss_bytes()
    log(f"loaded in {load_seconds:.1f} s ({load_cpu:.1f} s CPU); VmRSS {after / 2**20:,.0f} MiB", t0)

    breakdown: dict[str, int] = {
        "index_postings": engine.index.postings.nbytes(),
        "index_profiles": engine.index.profiles.nbytes(),
    }
    seen: set[int] = set()
    for name, value in vars(engine).items():  # as declared: a shared object counts with the first
        if name in ("index", "policy", "year"):
            continue
        size = deep_size(value, seen)
        if size >= n_seekers:  # at least a byte per seeker
            breakdown[f"engine{name}"] = size
    log(f"breakdown {breakdown}", t0)
    return {
        "seekers": n_seekers,
        "postings": n_postings,
        "active": counts["active"],
        "declined": counts["declined"],
        "baseline_rss_bytes": baseline,
        "rss_after_bytes": after,
        "rss_delta_bytes": after - baseline,
        "load_seconds": round(load_seconds, 1),
        "load_cpu_seconds": round(load_cpu, 1),
        "cpu_seconds": round(time.process_time(), 1),
        "breakdown": breakdown,
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        raise SystemExit("run through `python -m bench memory`")
