"""Working days: known dates, and the O(log holidays) arithmetic held to the day-by-day
definition over 20 years of England and Wales bank holidays (bounded, derandomized)."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdop.rules import workdays
from cdop.rules.workdays import WorkingCalendar

CAL = WorkingCalendar("ENG")


def test_bank_holidays_and_weekends_are_not_working_days():
    assert not CAL.is_working_day(dt.date(2026, 12, 25))  # Christmas, Friday
    assert not CAL.is_working_day(dt.date(2026, 12, 28))  # Boxing Day substitute, Monday
    assert not CAL.is_working_day(dt.date(2027, 1, 1))
    assert not CAL.is_working_day(dt.date(2026, 11, 28))  # Saturday
    assert CAL.is_working_day(dt.date(2026, 12, 24))


def test_add_and_count_working_days_across_christmas():
    # Thu 24 Dec 2026 + 1 working day skips Fri 25, the weekend and Mon 28 (substitute).
    assert CAL.add(dt.date(2026, 12, 24), 1) == dt.date(2026, 12, 29)
    assert CAL.between(dt.date(2026, 12, 24), dt.date(2026, 12, 29)) == 1
    assert CAL.subtract(dt.date(2026, 12, 29), 1) == dt.date(2026, 12, 24)
    assert CAL.add(dt.date(2026, 11, 26), 20) == dt.date(2026, 12, 24)


def test_wales_differs_from_england_only_by_subdivision():
    assert WorkingCalendar("WLS").is_working_day(dt.date(2026, 8, 3)) is True


# ------------------------------------------------ the arithmetic against the definition

FIRST, LAST = dt.date(2010, 1, 1), dt.date(2029, 12, 31)  # 20 years of bank holidays
ONE = dt.timedelta(days=1)


def add_day_by_day(cal, day, n):
    current, left = day, n
    while left:
        current += ONE
        if cal.is_working_day(current):
            left -= 1
    return current


def subtract_day_by_day(cal, day, n):
    current, left = day, n
    while left:
        current -= ONE
        if cal.is_working_day(current):
            left -= 1
    return current


def between_day_by_day(cal, start, end):
    count, current = 0, start
    while current < end:
        current += ONE
        count += cal.is_working_day(current)
    return count


CALENDARS = {s: WorkingCalendar(s) for s in ("ENG", "WLS")}
dates = st.dates(min_value=FIRST, max_value=LAST)
subdivisions = st.sampled_from(sorted(CALENDARS))


@settings(derandomize=True, max_examples=600, deadline=None)
@given(subdivisions, dates, st.integers(min_value=0, max_value=400))
def test_add_and_subtract_are_the_day_by_day_definition(subdivision, day, n):
    cal = CALENDARS[subdivision]
    assert cal.add(day, n) == add_day_by_day(cal, day, n)
    assert cal.subtract(day, n) == subtract_day_by_day(cal, day, n)
    if n:
        assert cal.is_working_day(cal.add(day, n)) and cal.is_working_day(cal.subtract(day, n))


@settings(derandomize=True, max_examples=600, deadline=None)
@given(subdivisions, dates, dates)
def test_between_is_the_day_by_day_definition_in_either_order(subdivision, start, end):
    cal = CALENDARS[subdivision]
    assert cal.between(start, end) == between_day_by_day(cal, start, end)
    assert cal.between(end, start) == between_day_by_day(cal, end, start)
    assert cal.between(start, start) == 0


@pytest.mark.parametrize("subdivision", sorted(CALENDARS))
def test_every_day_of_twenty_years_one_step_either_way(subdivision):
    cal = CALENDARS[subdivision]
    day, previous = FIRST, None
    while day <= LAST:
        assert cal.add(day, 1) == add_day_by_day(cal, day, 1), day
        assert cal.subtract(day, 1) == subtract_day_by_day(cal, day, 1), day
        assert cal.add(day, 0) == cal.subtract(day, 0) == day
        if previous is not None:
            assert cal.between(previous, day) == int(cal.is_working_day(day)), day
            assert cal.between(day, previous) == 0
        day, previous = day + ONE, day


def test_the_span_of_holidays_grows_either_way_and_stays_right(monkeypatch):
    fresh = workdays._Holidays("ENG")
    monkeypatch.setattr(workdays, "_weekday_holidays", lambda subdivision: fresh)
    cal = WorkingCalendar("ENG")
    reference = CALENDARS["ENG"]
    assert cal.add(dt.date(2027, 6, 1), 1) == add_day_by_day(reference, dt.date(2027, 6, 1), 1)
    first_span = (fresh.span.first, fresh.span.last)
    # Far past the span, then before it: each answer is the day-by-day one.
    assert cal.add(dt.date(2027, 6, 1), 5000) == add_day_by_day(reference, dt.date(2027, 6, 1), 5000)
    assert cal.subtract(dt.date(2012, 1, 3), 700) == subtract_day_by_day(reference, dt.date(2012, 1, 3), 700)
    assert cal.between(dt.date(2001, 5, 7), dt.date(2040, 5, 7)) == between_day_by_day(
        reference, dt.date(2001, 5, 7), dt.date(2040, 5, 7))
    assert fresh.span.first < first_span[0] and fresh.span.last > first_span[1]


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError):
        CAL.add(dt.date(2026, 12, 24), -1)
    with pytest.raises(ValueError):
        CAL.subtract(dt.date(2026, 12, 24), -1)


def test_the_working_calendar_is_built_in_one_place():
    """Every site asks working_calendar(policy): an office's own closure days, added
    there, reach every deadline, reminder and notice (issue 24: it was built at 9 sites)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "include"
    built = [str(p.relative_to(root)) for p in root.rglob("*.py")
             if "WorkingCalendar(" in p.read_text(encoding="utf-8") and p.name != "workdays.py"]
    assert built == []
