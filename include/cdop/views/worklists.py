"""What is overdue, waiting and newly ready, for the daily digest, the CLI and the
operations pages: plain rows with case numbers, never identifiers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cdop.config import Policy
from cdop.rules.chase_ladder import last_action
from cdop.rules.overdue import overdue_predicate
from cdop.rules.review_meeting import lacks_review_meeting_predicate
from cdop.rules.stages import (
    DONE_REQUEST,
    OPEN_INVESTIGATION,
    Stage,
    ready_predicate,
    ready_since_expression,
    stage_predicate,
)
from cdop.rules.workdays import working_calendar
from cdop.store.models import Agency, AgencyRequest, Case
from cdop.taxonomy import taxonomy


@dataclass(frozen=True)
class OverdueRequest:
    case_number: str
    agency_code: str
    agency_name: str
    requested_on: dt.date | None
    due_on: dt.date
    working_days_overdue: int
    days_overdue: int
    ladder_step: int  # steps taken so far (0: none yet)
    ladder_steps: int  # steps on the ladder
    last_action: str | None  # "reminder" | "escalation" | None
    last_chased_on: dt.date | None
    next_chase_on: dt.date | None


def overdue_requests(session: Session, today: dt.date, policy: Policy) -> list[OverdueRequest]:
    """Requests past their due date and not returned, by agency then case."""
    calendar = working_calendar(policy)
    ladder = policy.chase_ladder
    rows = session.execute(
        select(AgencyRequest, Case.case_number, Agency.code, Agency.name)
        .join(Case, AgencyRequest.case_id == Case.id)
        .join(Agency, AgencyRequest.agency_id == Agency.id)
        .where(overdue_predicate(today))
        .order_by(Agency.name, AgencyRequest.due_on, Case.case_number)
    ).all()
    return [
        OverdueRequest(
            case_number=number,
            agency_code=code,
            agency_name=name,
            requested_on=r.requested_on,
            due_on=r.due_on,
            working_days_overdue=calendar.between(r.due_on, today),
            days_overdue=(today - r.due_on).days,
            ladder_step=r.ladder_step,
            ladder_steps=len(ladder),
            last_action=last_action(policy, r.ladder_step),
            last_chased_on=r.last_chased_on,
            next_chase_on=r.next_chase_on,
        )
        for r, number, code, name in rows
    ]


@dataclass(frozen=True)
class ProcessWait:
    kind: str
    label: str
    status: str
    since: dt.date  # started, or the case's notification if no start is recorded
    days: int


@dataclass(frozen=True)
class WaitingCase:
    case_number: str
    returns_complete_on: dt.date | None  # the last return or waiver: waiting since
    days_waiting: int
    processes: tuple[ProcessWait, ...]


def waiting_cases(session: Session, today: dt.date) -> list[WaitingCase]:
    """Cases with every return in (or waived) that still wait on a parallel process."""
    labels = taxonomy().labels("investigation")
    cases = session.scalars(
        select(Case)
        .where(stage_predicate(Stage.WAITING))
        .options(selectinload(Case.requests), selectinload(Case.investigations))
        .order_by(Case.case_number)
    ).all()
    result = []
    for case in cases:
        done = [r.returned_on or r.waived_on for r in case.requests if r.status in DONE_REQUEST]
        since = max((d for d in done if d), default=None)
        processes = tuple(
            ProcessWait(
                kind=i.kind,
                label=labels.get(i.kind, i.kind),
                status=i.status,
                since=i.started_on or case.notified_on,
                days=(today - (i.started_on or case.notified_on)).days,
            )
            for i in case.investigations
            if i.status in OPEN_INVESTIGATION
        )
        result.append(WaitingCase(case.case_number, since, (today - since).days if since else 0, processes))
    return result


@dataclass(frozen=True)
class ReadyCase:
    case_number: str
    ready_since: dt.date
    notified_on: dt.date
    days_since_notification: int
    age_band: str = ""
    expected: bool = True
    no_review_meeting: bool = False  # cdop.rules.review_meeting


def newly_ready(session: Session, today: dt.date, policy: Policy, *,
                after: dt.date | None = None) -> list[ReadyCase]:
    """Cases that became ready for panel after `after` (by default the previous working
    day), up to `today`, by the dates recorded for returns, waivers and concluded
    processes. A case already on a meeting's agenda still became ready in that window."""
    if after is None:
        after = working_calendar(policy).subtract(today, 1)
    since = ready_since_expression().label("ready_since")
    window = (
        select(Case.case_number, since, Case.notified_on, Case.age_band, Case.death_expected,
               lacks_review_meeting_predicate().label("no_review_meeting"))
        .where(ready_predicate())
        .subquery("ready")
    )
    rows = session.execute(
        select(window)
        .where(window.c.ready_since > after, window.c.ready_since <= today)
        .order_by(window.c.case_number)
    ).all()
    return [ReadyCase(number, ready_on, notified, (today - notified).days, band, bool(expected), bool(flag))
            for number, ready_on, notified, band, expected, flag in rows]
