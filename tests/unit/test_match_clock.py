"""match's rehearsal clock (MATCH_CLOCK_OFFSET_DAYS): the sweep and the fallback list see it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.match.app import _clock
from services.match.settings import MatchSettings
from shared.events import utcnow


def test_no_offset_is_the_real_clock() -> None:
    assert _clock(0) is utcnow


def test_an_offset_runs_that_many_days_ahead() -> None:
    before = utcnow()
    ahead = _clock(15)()
    after = utcnow()
    assert before + timedelta(days=15) <= ahead <= after + timedelta(days=15)


def test_the_offset_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCH_CLOCK_OFFSET_DAYS", "15")
    assert MatchSettings().clock_offset_days == 15
