"""The hall's clock.

In production the hall's time is the machine's time in the hall's zone. Tests
of dates (the 1st of a month, 1 January, the last second of a month) start
`qrate serve` on a chosen hall time with the environment variable
``QRATE_TEST_NOW`` (ISO 8601 with offset, e.g. ``2027-01-01T09:00:00+08:00``):
the clock starts there and runs on at real speed. It is off unless set, and the
server logs a warning when it is on. Unit and API tests pass their own
callable (``create_app({"CLOCK": ...})``) instead.

``QRATE_TEST_SPEED`` (tests and `qrate simulate` only, off unless set) makes that
clock run N times faster than real time (from QRATE_TEST_NOW, or from the real time
when only the speed is set), so a simulated hall day keeps its hours and the
figures their meaning in a few minutes (docs/planning.md).
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from typing import Callable, Mapping, Optional

TEST_NOW_VARIABLE = "QRATE_TEST_NOW"
TEST_SPEED_VARIABLE = "QRATE_TEST_SPEED"
MAX_SPEED = 3600.0


class ClockSettingError(ValueError):
    """QRATE_TEST_NOW is set but is not a time with an offset."""


def starting_at(start: datetime, speed: float = 1.0) -> Callable[[], datetime]:
    """A clock that reads ``start`` now and runs on at ``speed`` times real speed."""
    origin = time.monotonic()
    if speed == 1.0:
        return lambda: start + timedelta(seconds=time.monotonic() - origin)
    return lambda: start + timedelta(seconds=(time.monotonic() - origin) * speed)


def speed_from(env: Mapping[str, str]) -> float:
    """QRATE_TEST_SPEED as a number (1.0 when unset)."""
    text = env.get(TEST_SPEED_VARIABLE, "").strip()
    if not text:
        return 1.0
    try:
        speed = float(text)
    except ValueError:
        speed = 0.0
    if not 0 < speed <= MAX_SPEED:
        raise ClockSettingError(f"{TEST_SPEED_VARIABLE}={text!r} is not a speed between 0 and "
                                f"{MAX_SPEED:g}, e.g. 60 (a minute a second)")
    return speed


def from_environment(env: Optional[Mapping[str, str]] = None) -> Optional[Callable[[], datetime]]:
    """The test clock asked for by QRATE_TEST_NOW, or None (the real clock)."""
    env = os.environ if env is None else env
    text = env.get(TEST_NOW_VARIABLE, "").strip()
    speed = speed_from(env)
    if not text:
        if speed == 1.0:
            return None
        return starting_at(datetime.now().astimezone(), speed)
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise ClockSettingError(f"{TEST_NOW_VARIABLE}={text!r} is not a time like "
                                "2027-01-01T09:00:00+08:00") from None
    if start.tzinfo is None:
        raise ClockSettingError(f"{TEST_NOW_VARIABLE}={text!r} needs an offset, e.g. +08:00")
    return starting_at(start, speed)
