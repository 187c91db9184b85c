"""The match index's benchmark: latency, throughput and memory at 10k, 100k and 1M entities.

Both directions a change takes in service (a new seeker against N postings, a new posting
against N seekers), each against the pair-by-pair ``score_pair`` baseline on the same data.
Run through ``python -m bench matcher`` (or plain ``make bench``), which pins the numeric
libraries to one thread before numpy loads, so the numbers are per core. Its rows go to
``bench-results.json``, its plot to ``bench-results.png``, its table to ``docs/quality.md``
("Latest bench").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench.matcher_measure import (
    SideResult,
    bench_posting_vs_profiles,
    bench_profile_vs_postings,
    campaign_columns,
)
from bench.results import Report, Row, machine, metric
from services.match.scoring import load_policy
from services.match.settings import MatchSettings

NAME = "matcher"
SECTION = "Latest bench"
P50_TARGET_MS, P99_TARGET_MS, BYTES_TARGET = 20.0, 100.0, 300.0


def to_metrics(sides: list[SideResult], sizes: list[int]) -> list[Row]:
    out: list[Row] = []
    largest = max(sizes)
    base_rates = [s.baseline_pairs_per_second for s in sides]
    base_rate = sum(base_rates) / len(base_rates)
    for s in sides:
        at_target = s.n == largest and largest >= 1_000_000
        base_ms = s.n / s.baseline_pairs_per_second * 1e3  # extrapolated full pair-by-pair query
        for q, val, tgt in (("p50", s.p50_ms, P50_TARGET_MS), ("p99", s.p99_ms, P99_TARGET_MS)):
            out.append(
                metric(
                    f"matcher_{s.direction}_{q}_ms_{s.n}",
                    val,
                    "ms",
                    round(base_ms, 1),
                    tgt if at_target else None,
                    (val <= tgt) if at_target else None,
                )
            )
    for n in sizes:
        both = [s for s in sides if s.n == n]
        rate = sum(s.pairs_per_second for s in both) / len(both)
        out.append(metric(f"matcher_pairs_per_second_{n}", rate, "pairs/s", round(base_rate, 1)))
        out.append(metric(f"speedup_vs_baseline_{n}", rate / base_rate, "x"))
        ib = sum(s.index_bytes for s in both) / (2 * n)
        rss = sum(s.rss_delta_bytes for s in both) / (2 * n)
        out.append(metric(f"matcher_bytes_per_entity_{n}", ib, "bytes"))
        out.append(metric(f"rss_bytes_per_entity_{n}", rss, "bytes"))
        out.append(metric(f"load_seconds_{n}", sum(s.load_seconds for s in both), "s"))
    big = [s for s in sides if s.n == largest]
    per_entity = sum(s.index_bytes for s in big) / (2 * largest)
    out.append(
        metric(
            "matcher_bytes_per_entity", per_entity, "bytes", None, BYTES_TARGET, per_entity <= BYTES_TARGET
        )
    )
    out.append(metric("baseline_pairs_per_second", base_rate, "pairs/s"))
    checked = [ok for s in sides for ok in s.agreement]
    if checked:
        share = sum(checked) / len(checked)
        out.append(metric("top20_agreement", share, "share of queries", None, 1.0, share == 1.0))
    return out


def plot(sides: list[SideResult], sizes: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for direction, label in (
        ("profile_vs_postings", "new seeker vs N postings"),
        ("posting_vs_profiles", "new posting vs N seekers"),
    ):
        ss = sorted((s for s in sides if s.direction == direction), key=lambda s: s.n)
        ax1.plot([s.n for s in ss], [s.p50_ms for s in ss], "o-", label=f"{label}, p50")
        ax1.plot([s.n for s in ss], [s.p99_ms for s in ss], "s--", label=f"{label}, p99")
        ax2.plot(
            [s.n for s in ss], [s.index_bytes / s.n for s in ss], "o-", label=f"index nbytes/N ({direction})"
        )
        ax2.plot(
            [s.n for s in ss],
            [s.rss_delta_bytes / s.n for s in ss],
            "s--",
            label=f"RSS delta/N ({direction})",
        )
    ax1.axhline(P50_TARGET_MS, color="grey", lw=0.8)
    ax1.axhline(P99_TARGET_MS, color="grey", lw=0.8, ls=":")
    ax2.axhline(BYTES_TARGET, color="grey", lw=0.8)
    for ax, ylabel in ((ax1, "top-20 latency (ms)"), (ax2, "bytes per indexed entity")):
        ax.set_xscale("log")
        ax.set_xlabel("N indexed")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    fig.suptitle("Chunfeng match index, single thread")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """This benchmark's options (the names ``make bench`` has always taken)."""
    group = parser.add_argument_group(NAME)
    group.add_argument("--sizes", default="10000,100000,1000000", help="indexed entities per side")
    group.add_argument("--queries", type=int, default=200)
    group.add_argument("--baseline-pairs", type=int, default=20_000)
    group.add_argument("--agreement-queries", type=int, default=20, help="checked at the smallest N")


def run(args: argparse.Namespace) -> Report:
    """Generate the largest N once, then fill and query a fresh index per N and direction.

    Generating once keeps the smaller sizes prefixes of the same campaign, so the sizes differ
    in N only; the agreement with ``score_pair`` is checked at the smallest N, where it is cheap.
    """
    sizes = sorted(int(s) for s in args.sizes.split(","))
    started = time.perf_counter()
    # The same policy file the service would read (MATCH_POLICY_PATH), so a tuned policy is measured.
    policy = load_policy(MatchSettings().policy_path)
    profiles, postings, new_profiles, new_postings = campaign_columns(max(sizes), args.queries, args.seed)
    print(f"generated {max(sizes):,} + {max(sizes):,} entities in {time.perf_counter() - started:.1f} s")
    sides: list[SideResult] = []
    for n in sizes:
        check = args.agreement_queries if n == sizes[0] else 0
        common: dict[str, Any] = {
            "baseline_pairs": args.baseline_pairs,
            "check_agreement": check,
            "seed": args.seed,
        }
        for s in (
            bench_profile_vs_postings(policy, postings, n, new_profiles, **common),
            bench_posting_vs_profiles(policy, profiles, n, new_postings, **common),
        ):
            sides.append(s)
            print(
                f"  {s.direction} N={n:,}: load {s.load_seconds:.1f} s, p50 {s.p50_ms:.2f} ms, "
                f"p99 {s.p99_ms:.2f} ms, index {s.index_bytes / n:.0f} B/entity, "
                f"baseline {s.baseline_pairs_per_second:,.0f} pairs/s"
            )
    host = machine()
    seconds = round(time.perf_counter() - started, 1)
    note = (
        f"{host['cpu']}, {host['cores']} cores, Python {host['python']}, one thread; "
        f"{args.queries} queries per N "
        f"and direction; baseline = `score_pair` pair by pair on {args.baseline_pairs:,} sampled pairs per "
        f"side, its per-query time extrapolated linearly to N (the `baseline` column of the latency rows); "
        f"top-20 agreement checked on {args.agreement_queries} queries per direction at N={sizes[0]:,}. "
        f"Total {seconds} s (`python -m bench matcher`)."
    )
    return Report(
        rows=to_metrics(sides, sizes),
        section=SECTION,
        note=note,
        info={"queries_per_n": args.queries, "baseline_pairs_sampled": args.baseline_pairs},
        write_extras=lambda root: plot(sides, sizes, root / "bench-results.png"),
    )
