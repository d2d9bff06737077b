"""Ages and timing, anonymised: reporting age bands, completed years, and an event's
timing relative to birth and death (never a calendar date)."""

from __future__ import annotations

import datetime as dt

AGE_BANDS = ("0-27 days", "28-364 days", "1-4 years", "5-9 years", "10-14 years", "15-17 years")


def age_band(date_of_birth: dt.date, date_of_death: dt.date) -> str:
    """The reporting age band (0-27 days, 28-364 days, 1-4, 5-9, 10-14, 15-17 years)."""
    days = (date_of_death - date_of_birth).days
    if days <= 27:
        return "0-27 days"
    years = completed_years(date_of_birth, date_of_death)
    if years < 1:
        return "28-364 days"
    if years <= 4:
        return "1-4 years"
    if years <= 9:
        return "5-9 years"
    if years <= 14:
        return "10-14 years"
    return "15-17 years"


def completed_years(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def event_timing(date_of_birth: dt.date, date_of_death: dt.date, event: dt.date) -> str:
    """When an event happened, anonymised: the child's age then and its distance from the
    death ("aged 3 days; 5 days before death"), never a calendar date, so a chronology
    cannot give away a date of birth or death."""
    age_days = (event - date_of_birth).days
    if age_days < 0:
        age = "before birth"
    elif age_days < 28:
        age = f"aged {age_days} day{'s' if age_days != 1 else ''}"
    elif completed_years(date_of_birth, event) < 2:
        months = (event.year - date_of_birth.year) * 12 + event.month - date_of_birth.month - (event.day < date_of_birth.day)
        age = f"aged {months} month{'s' if months != 1 else ''}"
    else:
        age = f"aged {completed_years(date_of_birth, event)} years"
    gap = (date_of_death - event).days
    span = abs(gap)
    if span == 0:
        when = "on the day of death"
    else:
        if span < 60:
            amount = f"{span} day{'s' if span != 1 else ''}"
        elif span < 183:
            amount = f"{span // 7} weeks"
        else:
            amount = f"{span // 30} months"
        when = f"{amount} {'before' if gap > 0 else 'after'} death"
    return f"{age}; {when}"
