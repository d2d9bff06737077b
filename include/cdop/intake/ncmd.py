"""Telling the National Child Mortality Database: recording when it was told, and
which open cases are past the deadline without it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.config import Policy, Settings
from cdop.rules.ncmd import ncmd_deadline
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case
from cdop.store.models import Case
from cdop.validation import InputError, Problem, check_date


def record_ncmd_notified(settings: Settings, case_number: str, *, at: dt.datetime) -> None:
    """Record the time the NCMD was told (demo and simulation history; the coordinator's
    entry point, which checks the time, is `record_ncmd_notification`)."""
    with unit_of_work(settings) as uow:
        _mark_notified(uow, get_case(uow, case_number), at)
        uow.commit()


def _mark_notified(uow, case: Case, at: dt.datetime) -> None:
    case.ncmd_notified_at = at
    uow.audit("ncmd_notified", "case", case.id, case_id=case.id, at=at.isoformat())


def record_ncmd_notification(settings: Settings, case_number: str, *, at: dt.datetime,
                             today: dt.date) -> bool:
    """Record when the NCMD was told of the death; return whether it was within the
    deadline. The time may be neither in the future nor before the death."""
    check_date("at", at)
    if at.date() > today:
        raise InputError([Problem("at", "is in the future")])
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        if at.date() < case.date_of_death:
            raise InputError([Problem("at", "is before the date of death")])
        deadline = ncmd_deadline(case.date_of_death, settings.policy.ncmd_deadline_hours)
        _mark_notified(uow, case, at)  # checked and written in one transaction
        uow.commit()
    return at <= deadline


@dataclass(frozen=True)
class NcmdBreach:
    case_number: str
    deadline: dt.datetime
    days_overdue: int  # whole days since the deadline passed


def ncmd_breaches(session: Session, today: dt.date, policy: Policy) -> list[NcmdBreach]:
    """Open cases past the NCMD deadline (48 hours from the death by default) with no
    notification recorded, as of the start of `today`."""
    start_of_day = dt.datetime.combine(today, dt.time.min)
    # The date of death is encrypted, so SQL narrows to open cases with no notification
    # recorded (the NCMD is told within days, so these are few); the deadline is checked
    # after decryption.
    latest_death = today - dt.timedelta(days=policy.ncmd_deadline_hours // 24)
    rows = session.execute(
        select(Case.case_number, Case.date_of_death)
        .where(Case.ncmd_notified_at.is_(None), Case.closed_on.is_(None))
    ).all()
    rows = sorted(((n, d) for n, d in rows if d <= latest_death), key=lambda r: (r[1], r[0]))
    result = []
    for number, died in rows:
        deadline = ncmd_deadline(died, policy.ncmd_deadline_hours)
        if deadline < start_of_day:
            result.append(NcmdBreach(number, deadline, (today - deadline.date()).days))
    return result
