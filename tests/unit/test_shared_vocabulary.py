"""One label per enum value, read back by ingest whatever spelling an official typed."""

from __future__ import annotations

from services.ingest import columns
from shared import vocabulary


def test_every_enum_value_has_one_distinct_label() -> None:
    for enum, labels in vocabulary.LABELLED:
        assert set(labels) == {m.value for m in enum}, enum.__name__
        assert len(set(labels.values())) == len(labels), enum.__name__


def test_ingest_reads_every_label_and_alias_as_its_value() -> None:
    pairs = [
        (columns.SHIFTS, vocabulary.SHIFT_LABELS, vocabulary.SHIFT_ALIASES),
        (columns.AVAILABILITY, vocabulary.AVAILABILITY_LABELS, vocabulary.AVAILABILITY_ALIASES),
        (columns.BENEFITS, vocabulary.BENEFIT_LABELS, vocabulary.BENEFIT_ALIASES),
        (columns.GROUPS, vocabulary.GROUP_LABELS, vocabulary.GROUP_ALIASES),
        (columns.PROFILE_STATUSES, vocabulary.PROFILE_STATUS_LABELS, vocabulary.PROFILE_STATUS_ALIASES),
    ]
    for parsed, labels, aliases in pairs:
        for value, label in labels.items():
            assert parsed[label] == value
        for alias, value in aliases.items():
            assert parsed[alias] == value
    # spellings officials used before the labels were unified still read the same
    assert columns.SHIFTS["两班倒"] == columns.SHIFTS["倒班"] == "rotating"
    assert columns.GROUPS["低收入"] == columns.GROUPS["低收入人口"] == "low_income"
    assert columns.BENEFITS["宿舍"] == columns.BENEFITS["提供宿舍"] == "dormitory"


def test_wage_text() -> None:
    assert vocabulary.wage_text(3800, 5200) == "月薪3800–5200元"
    assert vocabulary.wage_text(4000, 4000, piece_rate=True) == "月薪4000元（计件）"
