import datetime as dt

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
