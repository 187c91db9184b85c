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
