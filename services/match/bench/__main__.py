"""``make bench``: latency, throughput and memory of the match index at 10k, 100k and 1M.

Single-threaded on purpose (BLAS/OpenMP pools pinned to one thread before numpy loads), so the
numbers are per core. Writes ``bench-results.json`` and ``bench-results.png`` at the repository
root and the table to ``docs/quality.md`` ("Latest bench").
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from services.match.bench.run import (  # noqa: E402
    SideResult,
    bench_posting_vs_profiles,
    bench_profile_vs_postings,
    campaign_columns,
)
from services.match.eval.report import replace_section  # noqa: E402
from services.match.scoring import load_policy  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
P50_TARGET_MS, P99_TARGET_MS, BYTES_TARGET = 20.0, 100.0, 300.0


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "threads_used": 1}


def metric(
    name: str,
    value: float,
    unit: str,
    baseline: float | None = None,
    target: float | None = None,
    met: bool | None = None,
) -> dict[str, Any]:
    return {
        "metric": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": baseline,
        "target": target,
        "met": met,
    }


def to_metrics(sides: list[SideResult], sizes: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
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


def table(metrics: list[dict[str, Any]]) -> str:
    rows = ["| metric | value | unit | baseline | target | met |", "| --- | ---: | --- | ---: | ---: | --- |"]
    for m in metrics:
        cells = ["" if m[k] is None else str(m[k]) for k in ("baseline", "target", "met")]
        rows.append(f"| {m['metric']} | {m['value']:,} | {m['unit']} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-pairs", type=int, default=20_000)
    parser.add_argument("--agreement-queries", type=int, default=20, help="checked at the smallest N")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    started = time.perf_counter()
    policy = load_policy()
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
    metrics = to_metrics(sides, sizes)
    info = machine() | {
        "seconds": round(time.perf_counter() - started, 1),
        "queries_per_n": args.queries,
        "baseline_pairs_sampled": args.baseline_pairs,
    }
    print(f"machine: {info}")
    print(table(metrics))
    if args.no_write:
        return
    # The results file is the agreed plain list of metric objects; the machine goes beside it.
    (ROOT / "bench-results.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (ROOT / "bench-machine.json").write_text(
        json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    plot(sides, sizes, ROOT / "bench-results.png")
    note = (
        f"{info['cpu']}, {info['cores']} cores, Python {info['python']}, one thread; "
        f"{args.queries} queries per N "
        f"and direction; baseline = `score_pair` pair by pair on {args.baseline_pairs:,} sampled pairs per "
        f"side, its per-query time extrapolated linearly to N (the `baseline` column of the latency rows); "
        f"top-20 agreement checked on {args.agreement_queries} queries per direction at N={sizes[0]:,}. "
        f"Total {info['seconds']} s (`python -m services.match.bench`)."
    )
    replace_section(ROOT / "docs" / "quality.md", "Latest bench", note + "\n\n" + table(metrics))


if __name__ == "__main__":
    main()
