"""Plain domain rules: no I/O. Stages are derived from facts, never typed in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    NOTIFIED = "notified"
    GATHERING = "gathering_information"
    WAITING = "waiting_on_investigations"
    READY = "ready_for_panel"
    CLOSED = "closed"


OPEN_REQUEST = ("pending", "sent")
DONE_REQUEST = ("returned", "waived")
OPEN_INVESTIGATION = ("not_started", "in_progress")


@dataclass(frozen=True)
class RequestFacts:
    status: str
    returned_on: dt.date | None = None
    waived_on: dt.date | None = None


@dataclass(frozen=True)
class InvestigationFacts:
    kind: str
    status: str
    concluded_on: dt.date | None = None


def derive_stage(
    requests: Iterable[RequestFacts],
    investigations: Iterable[InvestigationFacts],
    closed_on: dt.date | None = None,
) -> Stage:
    """notified -> gathering information -> waiting on investigations -> ready for panel.

    Ready means every agency request is returned or waived and every applicable
    process has concluded. A case with no request sent yet is still `notified`.
    """
    if closed_on is not None:
        return Stage.CLOSED
    requests = list(requests)
    investigations = list(investigations)
    if not requests or all(r.status == "pending" for r in requests):
        return Stage.NOTIFIED
    if any(r.status in OPEN_REQUEST for r in requests):
        return Stage.GATHERING
    if any(i.status in OPEN_INVESTIGATION for i in investigations):
        return Stage.WAITING
    return Stage.READY


def ready_since(
    requests: Iterable[RequestFacts], investigations: Iterable[InvestigationFacts]
) -> dt.date | None:
    """The date the last outstanding fact arrived, for a case that is ready."""
    dates = [r.returned_on or r.waived_on for r in requests]
    dates += [i.concluded_on for i in investigations if i.status == "concluded"]
    known = [d for d in dates if d is not None]
    return max(known) if known else None


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


def ncmd_deadline(date_of_death: dt.date, hours: int) -> dt.datetime:
    """The NCMD must be told within `hours` of the death (taken as the end of that day)."""
    return dt.datetime.combine(date_of_death, dt.time.max) + dt.timedelta(hours=hours)


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
