"""The hall's clock.

In production the hall's time is the machine's time in the hall's zone. Tests
of dates (the 1st of a month, 1 January, the last second of a month) start
`qrate serve` on a chosen hall time with the environment variable
``QRATE_TEST_NOW`` (ISO 8601 with offset, e.g. ``2027-01-01T09:00:00+08:00``):
the clock starts there and runs on at real speed. It is off unless set, and the
server logs a warning when it is on. Unit and API tests pass their own
callable (``create_app({"CLOCK": ...})``) instead.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from typing import Callable, Mapping, Optional

TEST_NOW_VARIABLE = "QRATE_TEST_NOW"


class ClockSettingError(ValueError):
    """QRATE_TEST_NOW is set but is not a time with an offset."""


def starting_at(start: datetime) -> Callable[[], datetime]:
    """A clock that reads ``start`` now and runs on at real speed."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def from_environment(env: Optional[Mapping[str, str]] = None) -> Optional[Callable[[], datetime]]:
    """The test clock asked for by QRATE_TEST_NOW, or None (the real clock)."""
    env = os.environ if env is None else env
    text = env.get(TEST_NOW_VARIABLE, "").strip()
    if not text:
        return None
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise ClockSettingError(f"{TEST_NOW_VARIABLE}={text!r} is not a time like "
                                "2027-01-01T09:00:00+08:00") from None
    if start.tzinfo is None:
        raise ClockSettingError(f"{TEST_NOW_VARIABLE}={text!r} needs an offset, e.g. +08:00")
    return starting_at(start)
