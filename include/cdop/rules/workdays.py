"""Working days in England (or Wales): weekends and bank holidays from the `holidays` library."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=4)
def _bank_holidays(subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv=subdivision)


class WorkingCalendar:
    def __init__(self, subdivision: str = "ENG"):
        self.holidays = _bank_holidays(subdivision)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def add(self, day: dt.date, working_days: int) -> dt.date:
        """The date `working_days` working days after `day` (which need not be one)."""
        if working_days < 0:
            raise ValueError("working_days must not be negative")
        current, left = day, working_days
        while left:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
        return current

    def subtract(self, day: dt.date, working_days: int) -> dt.date:
        current, left = day, working_days
        while left:
            current -= dt.timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
        return current

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 if end <= start)."""
        count, current = 0, start
        while current < end:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count


def working_calendar(policy) -> WorkingCalendar:
    """The calendar of the CDOP's policy (England or Wales)."""
    return WorkingCalendar(policy.holiday_subdivision)
