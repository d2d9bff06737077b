"""The chase ladder: when each reminder and the escalation fall due for an overdue
return, and which requests are due for their next step today.

A request's `next_chase_on` is set from `ladder_date` / `next_chase_date` when it is
sent and after each step; the sweep then only asks "is next_chase_on today or earlier?"
(`is_due_for_chase`, and `due_for_chase_predicate` in SQL, on the (status,
next_chase_on) index). A closed case's queued step is cancelled when it is composed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_

from cdop.config import Policy
from cdop.rules.workdays import working_calendar
from cdop.store.models import AgencyRequest
from cdop.store.statuses import RequestStatus


def ladder_date(policy: Policy, due_on: dt.date, step: int) -> dt.date:
    """The date step `step` (1-based) of the ladder falls due for a return due on `due_on`."""
    rung = policy.chase_ladder[step - 1]
    return working_calendar(policy).add(due_on, rung.after_working_days)


def next_chase_date(policy: Policy, due_on: dt.date, step_done: int, chased_on: dt.date) -> dt.date | None:
    """After step `step_done` went out on `chased_on`: when the next step is due (its
    ladder date, but never before the next working day), or None at the top."""
    if step_done >= len(policy.chase_ladder):
        return None
    return max(ladder_date(policy, due_on, step_done + 1), working_calendar(policy).add(chased_on, 1))


def ladder_label(policy: Policy, step: int) -> str:
    """'not chased yet', 'reminder (1 of 3)', 'escalation (3 of 3)'."""
    ladder = policy.chase_ladder
    if step <= 0:
        return "not chased yet"
    action = ladder[min(step, len(ladder)) - 1].action if ladder else "chase"
    return f"{action} ({step} of {len(ladder)})"


def last_action(policy: Policy, step: int) -> str | None:
    """The action of the last step taken ("reminder" / "escalation"), or None."""
    ladder = policy.chase_ladder
    return ladder[step - 1].action if 0 < step <= len(ladder) else None


def is_due_for_chase(status: str, next_chase_on: dt.date | None, today: dt.date) -> bool:
    return status == RequestStatus.SENT and next_chase_on is not None and next_chase_on <= today


def due_for_chase_predicate(today: dt.date) -> ColumnElement[bool]:
    """`is_due_for_chase` in SQL."""
    return and_(AgencyRequest.status == RequestStatus.SENT, AgencyRequest.next_chase_on <= today)
