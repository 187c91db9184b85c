"""``make bench`` in miniature: the dispatcher's options and the matcher benchmark's rows.

The real run takes minutes at 1M and is not part of the tests; a few hundred entities are enough
to catch the benchmark breaking when the code it measures changes shape.
"""

from __future__ import annotations

import pytest

from bench import matcher
from bench.__main__ import BENCHMARKS, parse_args
from bench.results import table

FIELDS = ["metric", "value", "unit", "baseline", "target", "met"]


def test_matcher_benchmark_rows_have_the_agreed_shape() -> None:
    args = parse_args(
        ["matcher", "--sizes", "300", "--queries", "5", "--baseline-pairs", "50", "--agreement-queries", "3"]
    )
    report = matcher.run(args)
    assert report.section == "Latest bench" and report.rows
    assert all(list(row) == FIELDS for row in report.rows)
    by_name = {row["metric"]: row for row in report.rows}
    assert by_name["top20_agreement"]["met"] is True  # the index agrees with score_pair
    assert "matcher_profile_vs_postings_p50_ms_300" in by_name
    assert table(report.rows).count("\n") == len(report.rows) + 1


def test_every_benchmark_runs_by_default_and_unknown_names_fail() -> None:
    assert parse_args([]).names == [] and "matcher" in BENCHMARKS
    with pytest.raises(SystemExit):
        parse_args(["no-such-benchmark"])


def test_pipeline_rows_take_the_raw_broker_as_baseline_and_stages_come_from_metrics_deltas() -> None:
    from bench import pipeline, pipeline_bench

    assert "pipeline" in BENCHMARKS
    args = parse_args(["pipeline", "--pipeline-loads", "1,2", "--pipeline-seconds", "5"])
    assert args.pipeline_loads == "1,2" and args.pipeline_seconds == 5
    result = {"e2e_per_s": 20.0, "p50_ms": 800.0, "p99_ms": 1500.0, "accepted_per_s": 30.0, "lost": 0}
    raw = {"msgs_per_s": 4000.0, "p50_ms": 5.0, "p99_ms": 20.0}
    rows = {r["metric"]: r for r in pipeline.result_rows(result, raw)}
    assert all(list(r) == FIELDS for r in rows.values())
    assert rows["pipeline_profiles_per_s"]["baseline"] == 4000.0
    assert rows["pipeline_profiles_per_s"]["met"] is False  # 20/s against the 1,000/s target
    assert rows["pipeline_p99_ms"]["met"] is False and rows["pipeline_ratio_to_raw_kafka"]["value"] == 0.005
    before = {("match", "match", "persist"): (1.0, 10.0), ("notify", "notify", "contacts"): (1.0, 1.0)}
    after = {
        ("match", "match", "persist"): (3.0, 30.0),
        ("notify", "notify", "schedule"): (0.5, 5.0),
        ("ingest", "ingest-outbox", "clear"): (9.0, 9.0),  # ingest did not answer before the run
    }
    stages = pipeline_bench.stage_delta(before, after, seconds=4.0)
    assert stages == {
        "match/persist": {"busy": 0.5, "mean_ms": 100.0},
        "notify/schedule": {"busy": 0.125, "mean_ms": 100.0},  # first observed during the run
    }


def test_memory_benchmark_measures_a_fresh_process_and_names_where_the_memory_goes() -> None:
    from bench import memory

    report = memory.run(parse_args(["memory", "--memory-seekers", "2000"]))
    assert report.section == "Match memory" and all(list(row) == FIELDS for row in report.rows)
    by_name = {row["metric"]: row for row in report.rows}
    assert by_name["match_rss_bytes_per_seeker_2000"]["target"] is None  # the target is for 1M only
    assert by_name["match_active_matches_per_seeker_2000"]["value"] > 1
    assert {
        "match_memory_index_profiles_bytes_per_seeker_2000",
        "match_memory_engine_lists_bytes_per_seeker_2000",
    } <= set(by_name)


def test_deep_size_counts_a_shared_object_once() -> None:
    from bench.memory import deep_size

    shared = "共享" * 100
    seen: set[int] = set()
    first = deep_size({"a": shared, "b": shared}, seen)
    assert deep_size([shared], seen) < first and first < 2 * len(shared.encode())
