"""The Chinese working-day calendar for follow-up deadlines.

Days off and make-up workdays (调休) come from the maintained ``chinese_calendar``
package (its data covers the years the State Council has announced); the hall's
``[calendar] holidays`` and ``workdays`` override it. For a year the package
does not know yet, Monday to Friday count as working days plus the hall's
overrides, and ``covered(year)`` says so (shown to managers).
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Iterable

import chinese_calendar

_SPEC = re.compile(r"^\s*(\d+)\s*(h|d|wd)\s*$")


class WorkCalendar:
    def __init__(self, holidays: Iterable = (), workdays: Iterable = ()):
        self.holidays = {date.fromisoformat(str(d)) for d in holidays}
        self.workdays = {date.fromisoformat(str(d)) for d in workdays}

    @classmethod
    def from_config(cls, raw: dict) -> "WorkCalendar":
        section = raw.get("calendar", {})
        return cls(section.get("holidays", []), section.get("workdays", []))

    @staticmethod
    def covered(year: int) -> bool:
        """Whether the holiday package knows this year's official schedule."""
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
            return True
        except NotImplementedError:
            return False

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            return day.weekday() < 5

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (n = 0: start itself if a workday, else the next)."""
        day = start
        if n == 0:
            while not self.is_workday(day):
                day += timedelta(days=1)
            return day
        while n > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                n -= 1
        return day


def parse_spec(spec: str) -> tuple[int, str]:
    """'24h' (clock hours), '3d' (calendar days) or '15wd' (working days)."""
    m = _SPEC.match(str(spec))
    if not m:
        raise ValueError(f"'{spec}' is not a deadline like 24h, 3d or 15wd")
    return int(m[1]), m[2]


def deadline(opened: datetime, spec: str, cal: WorkCalendar) -> datetime:
    """When a step opened at ``opened`` falls due: hours count on the clock; days end at midnight."""
    n, unit = parse_spec(spec)
    if unit == "h":
        return opened + timedelta(hours=n)
    day = opened.date() + timedelta(days=n) if unit == "d" else cal.add_workdays(opened.date(), n)
    return datetime.combine(day, time(23, 59, 59), opened.tzinfo)
