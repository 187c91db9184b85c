"""When a push may go out: quiet hours, the per-seeker daily cap, and retry backoff.

Pure functions of an injected ``now`` (aware, any zone) and a local time zone, so that the edges
(20:59 vs 21:00, local midnight) are tested exactly. Nothing here is ever dropped: a message that
may not go now is deferred to the first moment it may.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Rules:
    tz: ZoneInfo
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    quiet_channels: frozenset[str] = frozenset({"sms"})
    daily_cap: int = 3


@dataclass(frozen=True, slots=True)
class Deferral:
    until: datetime  # UTC
    reason: str  # "quiet_hours" | "daily_cap"


def in_quiet_hours(now: datetime, rules: Rules) -> bool:
    """Start inclusive, end exclusive; the window may wrap past midnight (21:00–08:00)."""
    t = now.astimezone(rules.tz).time().replace(tzinfo=None)
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def quiet_hours_end(now: datetime, rules: Rules) -> datetime:
    """The first moment after ``now`` at which the quiet period containing it is over (UTC)."""
    local = now.astimezone(rules.tz)
    candidate = datetime.combine(local.date(), rules.quiet_end, tzinfo=rules.tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), rules.quiet_end, tzinfo=rules.tz)
    return candidate.astimezone(UTC)


def local_day_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the local calendar day containing ``now``, in UTC."""
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def next_morning(now: datetime, rules: Rules) -> datetime:
    """The next local day's morning (the end of quiet hours), in UTC."""
    day = now.astimezone(rules.tz).date() + timedelta(days=1)
    return datetime.combine(day, rules.quiet_end, tzinfo=rules.tz).astimezone(UTC)


def deferral(now: datetime, channel: str, pushed_today: int, rules: Rules) -> Deferral | None:
    """None: send now. Otherwise when to try again and why.

    ``pushed_today`` counts the *other* recommendations already pushed to this seeker today, so
    that the SMS and the WeChat copy of one recommendation count once.
    """
    if channel in rules.quiet_channels and in_quiet_hours(now, rules):
        return Deferral(quiet_hours_end(now, rules), "quiet_hours")
    if pushed_today >= rules.daily_cap:
        return Deferral(next_morning(now, rules), "daily_cap")
    return None


def backoff_s(
    attempts: int, *, base_s: float = 2.0, max_s: float = 600.0, rand: Callable[[], float] = random.random
) -> float:
    """Delay before the next try after ``attempts`` failed ones: exponential, capped, jittered.

    Half the delay is fixed and half random ("equal jitter"), so retries of many deliveries that
    failed together spread out while each still waits at least half its step.
    """
    step = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return step / 2 + step / 2 * rand()
