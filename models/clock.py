"""The app's clock: every rule about time (deadlines, reminders, escalation) asks it,
never `datetime.now()` or SQL's `now()` directly, so that a test can move it.

GRIDLINK_CLOCK_OFFSET (seconds, may be negative or fractional) moves the clock of a
whole process, workers included: a test starts two workers three days ahead. In a
process, `move(seconds)` moves it further (tests only). The site's day is Beijing's,
wherever the server is.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SITE_ZONE = ZoneInfo("Asia/Shanghai")
_moved = timedelta(0)


def offset() -> timedelta:
    return timedelta(seconds=float(os.environ.get("GRIDLINK_CLOCK_OFFSET") or 0)) + _moved


def now() -> datetime:
    """This moment, aware, in the site's zone."""
    return datetime.now(SITE_ZONE) + offset()


def today() -> date:
    """The site's day (Beijing)."""
    return now().date()


def move(seconds: float) -> None:
    """Move this process's clock by `seconds` more (tests)."""
    global _moved
    _moved += timedelta(seconds=seconds)


def reset() -> None:
    global _moved
    _moved = timedelta(0)
