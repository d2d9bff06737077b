"""Chasing overdue returns on working days, waivers, and what is overdue, waiting or ready.

The chase ladder (config.Policy.chase_ladder; by default a reminder 5 and 10 working
days after the due date, then an escalation at 15) is walked one step at a time:

- The sweep (`plan_chases`) reads only open requests whose `next_chase_on` has come, by
  the (status, next_chase_on) index, so its cost follows what is due, not the backlog.
- Each step is an outbox message with the business key (case, agency, "chase", step):
  a rerun, a retry or two runs at once queue it once.
- The request moves up the ladder only when the step has been *sent* (`on_sent`), so a
  step that failed to send is retried on the next run, never skipped.
- A run takes at most one step per request; the next step is due on its ladder date but
  never before the next working day, so catching up after an outage never sends two
  steps at once to an agency.
- Recording the return (or a waiver) clears `next_chase_on`; a step queued but not yet
  sent is cancelled at send time (`compose` raises outbox.NoLongerWanted).

The query functions at the bottom (overdue_requests, waiting_cases, newly_ready,
ncmd_breaches) feed the daily digest and the operations pages; they take a session and
the business date and return plain rows with case numbers, never identifiers.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from cdop.config import Policy, Settings
from cdop.mail import outbox
from cdop.mail.mailer import Email
from cdop.rules.stages import (
    DONE_REQUEST,
    OPEN_INVESTIGATION,
    OPEN_REQUEST,
    InvestigationFacts,
    RequestFacts,
    Stage,
    derive_stage,
    ncmd_deadline,
    ready_since,
)
from cdop.rules.workdays import WorkingCalendar
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.models import Agency, AgencyRequest, Case, Investigation, OutboxMessage
from cdop.taxonomy import taxonomy
from cdop.validation import InputError, Problem

log = logging.getLogger(__name__)

REMINDER = "chase_reminder"
ESCALATION = "chase_escalation"
KINDS = (REMINDER, ESCALATION)
_KIND_FOR_ACTION = {"reminder": REMINDER, "escalation": ESCALATION}
ACTOR = "airflow:cdop_chase_overdue_returns"


# ------------------------------------------------------------------------ ladder rules


def working_calendar(policy: Policy) -> WorkingCalendar:
    return WorkingCalendar(policy.holiday_subdivision)


def is_working_day(settings: Settings, day: dt.date) -> bool:
    """Whether the chase (and the digest) act on `day`: weekends and bank holidays do not."""
    working = working_calendar(settings.policy).is_working_day(day)
    if not working:
        log.info("%s is not a working day (weekend or bank holiday): nothing to do", day.isoformat())
    return working


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


def recipients(policy: Policy, agency: Agency, action: str) -> tuple[list[str], list[str]]:
    """(to, cc): a reminder goes to the agency's request address; an escalation to its
    escalation contact with the coordinator in copy, or to the coordinator if it has none."""
    if action == "reminder":
        return [agency.request_email], []
    if agency.escalation_email:
        return [agency.escalation_email], [policy.coordinator_email]
    return [policy.coordinator_email], []


# --------------------------------------------------------------------------- the sweep


def due_for_chase(today: dt.date) -> Select:
    """The one sweep query: open requests whose next step has come, found by the
    (status, next_chase_on) index, with the case number (no identifier is even read)
    and the agency."""
    return (
        select(AgencyRequest)
        .where(AgencyRequest.status == "sent", AgencyRequest.next_chase_on <= today)
        .options(
            joinedload(AgencyRequest.case).load_only(Case.id, Case.case_number, Case.closed_on),
            joinedload(AgencyRequest.agency),
        )
        .order_by(AgencyRequest.next_chase_on, AgencyRequest.id)
    )


def plan_chases(settings: Settings, today: dt.date) -> list[int]:
    """Queue the next ladder step of every request due one today; return the new outbox ids.

    Safe to run twice: a step already queued (sent or not) is not queued again."""
    policy = settings.policy
    if not is_working_day(settings, today):
        return []
    planned: list[int] = []
    with unit_of_work(settings, ACTOR) as uow:
        due = uow.session.scalars(due_for_chase(today)).all()
        for request in due:
            step = request.ladder_step + 1
            if step > len(policy.chase_ladder):
                # The ladder was shortened since this date was set: nothing more to send.
                request.next_chase_on = None
                continue
            if request.case.closed_on is not None:
                continue
            message, created = _enqueue_step(uow, settings, request, step, today)
            if created:
                planned.append(message.id)
        uow.commit()
    log.info("chase sweep %s: %d request(s) due a step, %d step(s) queued",
             today.isoformat(), len(due), len(planned))
    return planned


def _enqueue_step(uow: UnitOfWork, settings: Settings, request: AgencyRequest, step: int, today: dt.date):
    policy = settings.policy
    case, agency = request.case, request.agency
    action = policy.chase_ladder[step - 1].action
    to, cc = recipients(policy, agency, action)
    if action == "reminder":
        subject = (f"Reminder: child death review {case.case_number}: "
                   f"information from {agency.name} is overdue")
    else:
        subject = (f"Escalation: child death review {case.case_number}: "
                   f"information from {agency.name} is overdue")
    return outbox.enqueue(
        uow,
        settings,
        key=outbox.business_key(case.case_number, agency.code, "chase", step),
        kind=_KIND_FOR_ACTION[action],
        to=to,
        cc=cc,
        subject=subject,
        business_date=today,
        sequence=step,
        case_id=case.id,
        agency_id=agency.id,
        request_id=request.id,
        secure_route=all(policy.is_secure_address(a) for a in to + cc),
        params={"step": step, "action": action},
    )


def compose(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    """A reminder or escalation, composed at send time. It carries the case number and
    never an identifier, whatever the route. A request returned or waived since the step
    was queued is not chased: the message is cancelled."""
    policy = settings.policy
    request = session.get(AgencyRequest, message.request_id)
    if request is None or request.status != "sent":
        raise outbox.NoLongerWanted(
            f"request is {request.status if request else 'gone'}: chase no longer wanted")
    if request.ladder_step >= message.sequence:
        raise outbox.NoLongerWanted("this ladder step was already taken")
    case, agency = request.case, request.agency
    if case.closed_on is not None:
        raise outbox.NoLongerWanted("the case is closed")
    today = message.business_date
    calendar = working_calendar(policy)
    step = message.sequence
    ladder = policy.chase_ladder
    reminders_sent = session.scalars(
        select(OutboxMessage.business_date)
        .where(OutboxMessage.request_id == request.id, OutboxMessage.kind == REMINDER,
               OutboxMessage.status == "sent")
        .order_by(OutboxMessage.sequence)
    ).all()
    next_step = None
    if step < len(ladder):
        next_step = {"action": ladder[step].action,
                     "on": max(ladder_date(policy, request.due_on, step + 1), calendar.add(today, 1))}
    context = {
        "case_number": case.case_number,
        "agency_name": agency.name,
        "agency_phone": agency.phone,
        "has_escalation_contact": bool(agency.escalation_email),
        "forms": [taxonomy().form_title(c) for c in request.forms],
        "requested_on": request.requested_on,
        "due_on": request.due_on,
        "working_days_overdue": calendar.between(request.due_on, today),
        "step": step,
        "reminder_number": sum(1 for s in ladder[:step] if s.action == "reminder"),
        "reminders_sent": list(reminders_sent),
        "next_step": next_step,
        "business_date": today,
        "office": policy.office,
        "area_name": policy.area_name,
    }
    name = "reminder" if message.kind == REMINDER else "escalation"
    return outbox.templated_email(message, settings, name, context)


def on_sent(uow: UnitOfWork, message: OutboxMessage, settings: Settings) -> None:
    """The step is taken once it is sent: move the request up and set its next date."""
    request = uow.session.get(AgencyRequest, message.request_id)
    step = message.sequence
    if request is None or request.status != "sent" or request.ladder_step >= step:
        return
    request.ladder_step = step
    request.last_chased_on = message.business_date
    request.next_chase_on = next_chase_date(settings.policy, request.due_on, step, message.business_date)
    uow.audit(
        "chase_sent",
        "agency_request",
        request.id,
        case_id=request.case_id,
        step=step,
        chase=message.params.get("action"),
        next_chase_on=request.next_chase_on.isoformat() if request.next_chase_on else None,
    )




# ----------------------------------------------------------------- coordinator actions


def waive_request(settings: Settings, case_number: str, agency_code: str, *, reason: str,
                  today: dt.date) -> None:
    """The coordinator decides a return is not needed: it counts as done for readiness
    and its chasing stops. The reason is kept on the request; the audit notes the waiver."""
    from cdop.intake.notifications import get_case, get_request

    reason = (reason or "").strip()
    if not reason:
        raise InputError([Problem("reason", "is required: say why the return is not needed")])
    if len(reason) > 1000:
        raise InputError([Problem("reason", "is longer than 1000 characters")])
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        problem = {
            "pending": "no request has been sent to this agency yet",
            "returned": "the agency has already returned its form",
            "waived": "this return has already been waived",
        }.get(request.status)
        if problem:
            raise InputError([Problem("agency", problem)])
        if request.requested_on and today < request.requested_on:
            raise InputError([Problem("today", "is before the request was sent")])
        request.status = "waived"
        request.waived_on = today
        request.waiver_reason = reason
        request.next_chase_on = None
        uow.audit("request_waived", "agency_request", request.id, case_id=case.id,
                  agency=request.agency.code, waived_on=today.isoformat(),
                  ladder_step=request.ladder_step)
        uow.commit()


def record_ncmd_notification(settings: Settings, case_number: str, *, at: dt.datetime,
                             today: dt.date) -> bool:
    """Record when the NCMD was told of the death; return whether it was within the
    deadline. The time may be neither in the future nor before the death."""
    from cdop.intake.notifications import get_case, record_ncmd_notified

    if at.date() > today:
        raise InputError([Problem("at", "is in the future")])
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        if at.date() < case.date_of_death:
            raise InputError([Problem("at", "is before the date of death")])
        deadline = ncmd_deadline(case.date_of_death, settings.policy.ncmd_deadline_hours)
    record_ncmd_notified(settings, case_number, at=at)
    return at <= deadline


# ------------------------------------------------------------------ what is due, by day


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


def overdue_requests(session: Session, today: dt.date, policy: Policy | None = None) -> list[OverdueRequest]:
    """Requests past their due date and not returned, by agency then case."""
    policy = policy or Policy()
    calendar = working_calendar(policy)
    ladder = policy.chase_ladder
    rows = session.execute(
        select(AgencyRequest, Case.case_number, Agency.code, Agency.name)
        .join(Case, AgencyRequest.case_id == Case.id)
        .join(Agency, AgencyRequest.agency_id == Agency.id)
        .where(AgencyRequest.status == "sent", AgencyRequest.due_on < today, Case.closed_on.is_(None))
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
            last_action=ladder[r.ladder_step - 1].action if 0 < r.ladder_step <= len(ladder) else None,
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


def _facts(case: Case) -> tuple[list[RequestFacts], list[InvestigationFacts]]:
    return (
        [RequestFacts(r.status, r.returned_on, r.waived_on) for r in case.requests],
        [InvestigationFacts(i.kind, i.status, i.concluded_on) for i in case.investigations],
    )


def waiting_cases(session: Session, today: dt.date, policy: Policy | None = None) -> list[WaitingCase]:
    """Cases with every return in (or waived) that still wait on a parallel process."""
    labels = taxonomy().labels("investigation")
    open_inv = exists().where(Investigation.case_id == Case.id, Investigation.status.in_(OPEN_INVESTIGATION))
    open_req = exists().where(AgencyRequest.case_id == Case.id, AgencyRequest.status.in_(OPEN_REQUEST))
    any_req = exists().where(AgencyRequest.case_id == Case.id)
    cases = session.scalars(
        select(Case)
        .where(Case.closed_on.is_(None), open_inv, any_req, ~open_req)
        .options(selectinload(Case.requests), selectinload(Case.investigations))
        .order_by(Case.case_number)
    ).all()
    result = []
    for case in cases:
        requests, investigations = _facts(case)
        if derive_stage(requests, investigations, case.closed_on) is not Stage.WAITING:
            continue
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


def newly_ready(session: Session, today: dt.date, policy: Policy | None = None) -> list[ReadyCase]:
    """Cases that became ready for panel after the previous working day, up to `today`
    (by the dates recorded for returns, waivers and concluded processes)."""
    policy = policy or Policy()
    previous = working_calendar(policy).subtract(today, 1)
    changed_requests = select(AgencyRequest.case_id).where(
        or_(
            (AgencyRequest.returned_on > previous) & (AgencyRequest.returned_on <= today),
            (AgencyRequest.waived_on > previous) & (AgencyRequest.waived_on <= today),
        )
    )
    changed_processes = select(Investigation.case_id).where(
        Investigation.status == "concluded",
        Investigation.concluded_on > previous,
        Investigation.concluded_on <= today,
    )
    cases = session.scalars(
        select(Case)
        .where(Case.closed_on.is_(None),
               or_(Case.id.in_(changed_requests), Case.id.in_(changed_processes)))
        .options(selectinload(Case.requests), selectinload(Case.investigations))
        .order_by(Case.case_number)
    ).all()
    result = []
    for case in cases:
        requests, investigations = _facts(case)
        if derive_stage(requests, investigations) is not Stage.READY:
            continue
        since = ready_since(requests, investigations)
        if since is not None and previous < since <= today:
            result.append(ReadyCase(case.case_number, since, case.notified_on,
                                    (today - case.notified_on).days))
    return result


@dataclass(frozen=True)
class NcmdBreach:
    case_number: str
    deadline: dt.datetime
    days_overdue: int  # whole days since the deadline passed


def ncmd_breaches(session: Session, today: dt.date, policy: Policy | None = None) -> list[NcmdBreach]:
    """Open cases past the NCMD deadline (48 hours from the death by default) with no
    notification recorded, as of the start of `today`."""
    policy = policy or Policy()
    start_of_day = dt.datetime.combine(today, dt.time.min)
    # The deadline is at least `hours` after the day of death: only deaths before this
    # date can be late, which keeps the scan to a narrow set.
    latest_death = today - dt.timedelta(days=policy.ncmd_deadline_hours // 24)
    rows = session.execute(
        select(Case.case_number, Case.date_of_death)
        .where(Case.ncmd_notified_at.is_(None), Case.closed_on.is_(None),
               Case.date_of_death <= latest_death)
        .order_by(Case.date_of_death, Case.case_number)
    ).all()
    result = []
    for number, died in rows:
        deadline = ncmd_deadline(died, policy.ncmd_deadline_hours)
        if deadline < start_of_day:
            result.append(NcmdBreach(number, deadline, (today - deadline.date()).days))
    return result
