"""Working days in England (or Wales): weekends and bank holidays from the `holidays` library.

The definition is day by day: a working day is a weekday that is not a bank holiday;
`add(d, n)` is the n-th working day after d, `between(a, b)` the working days after a
up to and including b. The arithmetic is done in O(log holidays) per call rather than by
walking the days: whole weeks give the weekdays up to a date in closed form, and a
bisect over the sorted list of bank holidays that fall on a weekday takes those away.

With C(d) = weekdays up to d - weekday holidays up to d (a running count of working
days), `between(a, b)` is C(b) - C(a), and `add`/`subtract` look for the first working
day x whose C(x) reaches a target T. A weekday holiday h lies before that x exactly when
C(h) < T (a holiday does not move C), so the number of holidays before x is a bisect
over the C(h) of the holidays, and x is then the (T + that number)-th weekday.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from functools import lru_cache

import holidays


@lru_cache(maxsize=4)
def _bank_holidays(subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv=subdivision)


def _weekdays_through(ordinal: int) -> int:
    """Weekdays from Monday 1 January 1 up to and including the day `ordinal`."""
    k = ordinal - 1  # days since that Monday; k % 7 is the weekday
    return 5 * (k // 7) + min(k % 7 + 1, 5)


def _nth_weekday(n: int) -> int:
    """The ordinal of the n-th weekday (n >= 1) counted as `_weekdays_through` counts."""
    weeks, day = divmod(n - 1, 5)
    return 7 * weeks + day + 1


class _Span:
    """The bank holidays falling on a weekday over years first..last, sorted, with the
    running working-day count C at each (C counted from the span's start)."""

    def __init__(self, subdivision: str, first: int, last: int):
        self.first, self.last = first, last
        calendar = holidays.country_holidays("GB", subdiv=subdivision, years=range(first, last + 1))
        self.ordinals = sorted({d.toordinal() for d in calendar if d.weekday() < 5})
        self.counts = [_weekdays_through(o) - (i + 1) for i, o in enumerate(self.ordinals)]

    def covers(self, *years: int) -> bool:
        return all(self.first <= y <= self.last for y in years)

    def count(self, ordinal: int) -> int:
        """C: working days up to and including the day `ordinal`."""
        return _weekdays_through(ordinal) - bisect.bisect_right(self.ordinals, ordinal)

    def first_reaching(self, target: int) -> int:
        """The ordinal of the first working day x with C(x) >= target: a weekday holiday
        is before x exactly when its C is below the target."""
        return _nth_weekday(target + bisect.bisect_left(self.counts, target))


class _Holidays:
    """One subdivision's span of weekday holidays, grown (and swapped whole) on demand."""

    def __init__(self, subdivision: str):
        self.subdivision = subdivision
        self.lock = threading.Lock()
        self.span: _Span | None = None

    def covering(self, *years: int) -> _Span:
        span = self.span
        if span is not None and span.covers(*years):
            return span
        with self.lock:
            span = self.span
            if span is None or not span.covers(*years):
                # A margin either side, so a run of calls near an edge rebuilds rarely.
                first = max(1, min(*years, span.first if span else min(years)) - 2)
                last = max(*years, span.last if span else max(years)) + 10
                span = self.span = _Span(self.subdivision, first, last)
            return span


@lru_cache(maxsize=4)
def _weekday_holidays(subdivision: str) -> _Holidays:
    return _Holidays(subdivision)


class WorkingCalendar:
    def __init__(self, subdivision: str = "ENG"):
        self.holidays = _bank_holidays(subdivision)
        self._spans = _weekday_holidays(subdivision)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def _first_working_day_reaching(self, day: dt.date, target, estimate: dt.date) -> dt.date:
        """The first working day x with C(x) >= target(span, day), on a span covering
        `day` and x (grown until it does)."""
        years = {day.year, estimate.year}
        while True:
            span = self._spans.covering(*years)
            found = dt.date.fromordinal(span.first_reaching(target(span, day.toordinal())))
            if span.covers(found.year):
                return found
            years.add(found.year)

    def add(self, day: dt.date, working_days: int) -> dt.date:
        """The date `working_days` working days after `day` (which need not be one)."""
        if working_days < 0:
            raise ValueError("working_days must not be negative")
        if working_days == 0:
            return day
        estimate = day + dt.timedelta(days=working_days * 7 // 5 + 14)
        return self._first_working_day_reaching(
            day, lambda span, o: span.count(o) + working_days, estimate)

    def subtract(self, day: dt.date, working_days: int) -> dt.date:
        """The date `working_days` working days before `day` (which need not be one)."""
        if working_days < 0:
            raise ValueError("working_days must not be negative")
        if working_days == 0:
            return day
        # The first working day x such that [x, day) holds `working_days` working days.
        estimate = day - dt.timedelta(days=working_days * 7 // 5 + 14)
        return self._first_working_day_reaching(
            day, lambda span, o: span.count(o - 1) - working_days + 1, estimate)

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 if end <= start)."""
        if end <= start:
            return 0
        span = self._spans.covering(start.year, end.year)
        return span.count(end.toordinal()) - span.count(start.toordinal())


def working_calendar(policy) -> WorkingCalendar:
    """The calendar of the CDOP's policy (England or Wales)."""
    return WorkingCalendar(policy.holiday_subdivision)
