"""The import benchmark's survey sheet is one ingest takes whole: every row valid, every seeker the
one the benchmark meant, with distinct phones and ID numbers (else it would measure rejections)."""

from __future__ import annotations

import math

from bench.import_bench import (
    CAPACITY_MULTIPLE,
    TARGET_ROWS_PER_S,
    id_number,
    postings,
    result_rows,
    survey_row,
    survey_xlsx,
)
from services.cli.chunks import chunks, read
from services.ingest.imports import parse_sheet
from shared import idcard
from shared.models import PostingIn, ProfileIn
from tests.unit.test_ingest_sheet_edges import id_number as reference_id_number


def test_every_row_of_the_survey_sheet_imports_as_the_seeker_it_was_made_from() -> None:
    rows = 120
    parsed = parse_sheet("profile", read(survey_xlsx(rows), "profile"))
    assert [r.errors for r in parsed.rows] == [[] for _ in range(rows)]
    for i, row in enumerate(parsed.rows):
        assert row.row == i + 2
        assert row.model == ProfileIn.model_validate(survey_row(i))
    phones = {r.model.phone for r in parsed.rows if isinstance(r.model, ProfileIn)}
    ids = {r.model.id_number for r in parsed.rows if isinstance(r.model, ProfileIn)}
    assert len(phones) == len(ids) == rows


def test_the_sheet_is_cut_as_the_cli_cuts_it() -> None:
    parts = list(chunks(read(survey_xlsx(25), "profile"), 10))
    assert [(p.first_row, p.last_row, p.rows) for p in parts] == [(2, 11, 10), (12, 21, 10), (22, 26, 5)]


def test_id_numbers_are_valid_and_distinct_for_one_county_and_year() -> None:
    numbers = [id_number("422828", 1990, n) for n in range(2000)]
    assert len(set(numbers)) == 2000
    assert numbers[0] == reference_id_number("422828", "19900101", "000")
    assert numbers[400] == reference_id_number("422828", "19900205", "001")
    assert all(idcard.validate(n) == n for n in numbers[::97])


def test_postings_have_room_for_every_seeker() -> None:
    made = postings(16, 20_000)
    assert len({(p["employer"]["name"], p["title"]) for p in made}) == 16
    for p in made:
        PostingIn.model_validate(p)
        open_positions = p["headcount"] - (p.get("filled") or 0)
        assert open_positions * CAPACITY_MULTIPLE * 2 >= 20_000  # two copies of each demo posting
        assert open_positions >= math.ceil(20_000 / 2 / CAPACITY_MULTIPLE)


def test_a_run_cut_short_by_the_cap_is_not_met_and_says_how_many_matched() -> None:
    out = {
        "raw_store": {"docs_per_s": 2500.0},
        "rows_per_s": 1200.0,
        "rows": 20_000,
        "matched": 12_345,
        "all_matched": False,
        "seconds_to_last_match": 480.0,
    }
    rows = {r["metric"]: r for r in result_rows(out)}
    assert rows["import_rows_per_s"]["met"] is (1200.0 >= TARGET_ROWS_PER_S)
    assert rows["import_rows_per_s"]["baseline"] == 2500.0
    assert rows["import_seconds_to_last_match"]["met"] is False
    assert (rows["import_rows_matched"]["value"], rows["import_rows_matched"]["met"]) == (12_345, False)


def test_make_bench_runs_it_and_it_runs_alone_with_its_options() -> None:
    from bench import import_bench
    from bench.__main__ import BENCHMARKS, parse_args

    assert BENCHMARKS["import"] is import_bench
    args = parse_args(["import", "--import-rows", "300", "--import-timeout-s", "60"])
    assert (args.names, args.import_rows, args.import_timeout_s, args.import_chunk_rows) == (
        ["import"],
        300,
        60,
        500,
    )
