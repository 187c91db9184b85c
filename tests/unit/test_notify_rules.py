from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.notify.rules import (
    Rules,
    backoff_s,
    deferral,
    in_quiet_hours,
    local_day_bounds,
    quiet_hours_end,
)

SH = ZoneInfo("Asia/Shanghai")
RULES = Rules(
    tz=SH, quiet_start=time(21, 0), quiet_end=time(8, 0), quiet_channels=frozenset({"sms"}), daily_cap=3
)


def local(h: int, m: int, day: int = 10) -> datetime:
    return datetime(2026, 3, day, h, m, tzinfo=SH)


@pytest.mark.parametrize(
    ("h", "m", "quiet"),
    [(20, 59, False), (21, 0, True), (0, 0, True), (7, 59, True), (8, 0, False), (12, 0, False)],
)
def test_quiet_hour_edges(h: int, m: int, quiet: bool) -> None:
    assert in_quiet_hours(local(h, m), RULES) is quiet
    # the same instant given in UTC is judged in local time
    assert in_quiet_hours(local(h, m).astimezone(UTC), RULES) is quiet


def test_quiet_message_is_deferred_to_the_end_of_the_quiet_period_not_dropped() -> None:
    evening = deferral(local(21, 0), "sms", 0, RULES)
    assert evening is not None and evening.reason == "quiet_hours"
    assert evening.until == local(8, 0, day=11).astimezone(UTC)
    early = deferral(local(7, 59), "sms", 0, RULES)
    assert early is not None and early.until == local(8, 0).astimezone(UTC)
    assert quiet_hours_end(local(0, 30), RULES) == local(8, 0).astimezone(UTC)
    assert deferral(local(8, 0), "sms", 0, RULES) is None
    assert deferral(local(20, 59), "sms", 0, RULES) is None


def test_quiet_hours_apply_only_to_the_configured_channels() -> None:
    assert deferral(local(23, 0), "webhook", 0, RULES) is None
    assert deferral(local(23, 0), "wechat", 0, RULES) is None
    with_wechat = Rules(tz=SH, quiet_channels=frozenset({"sms", "wechat"}))
    assert deferral(local(23, 0), "wechat", 0, with_wechat) is not None


def test_daily_cap_defers_to_next_morning_and_rolls_over_at_local_midnight() -> None:
    assert deferral(local(10, 0), "webhook", 2, RULES) is None
    over = deferral(local(10, 0), "webhook", 3, RULES)
    assert over is not None and over.reason == "daily_cap"
    assert over.until == local(8, 0, day=11).astimezone(UTC)
    start, end = local_day_bounds(local(23, 59), SH)
    assert start == local(0, 0).astimezone(UTC) and end == local(0, 0, day=11).astimezone(UTC)
    # 16:00 UTC is already the next local day in Shanghai (UTC+8)
    assert local_day_bounds(datetime(2026, 3, 10, 16, 0, tzinfo=UTC), SH)[0] == local(
        0, 0, day=11
    ).astimezone(UTC)
    # before 16:00 UTC it is still the same local day
    assert local_day_bounds(datetime(2026, 3, 10, 15, 59, tzinfo=UTC), SH)[0] == start


def test_backoff_grows_exponentially_and_is_capped() -> None:
    no_jitter = [backoff_s(n, base_s=2, max_s=600, rand=lambda: 1.0) for n in range(1, 12)]
    assert no_jitter[:5] == [2, 4, 8, 16, 32]
    assert max(no_jitter) == 600 and no_jitter[-1] == 600
    assert backoff_s(3, base_s=2, max_s=600, rand=lambda: 0.0) == 4  # jitter never drops below half


def test_backoff_jitter_spreads_retries() -> None:
    values = {backoff_s(4, rand=iter([r]).__next__) for r in (0.0, 0.25, 0.5, 0.99)}
    assert len(values) == 4 and all(8 <= v <= 16 for v in values)
