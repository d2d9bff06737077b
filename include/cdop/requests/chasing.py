"""Chasing overdue returns on working days, waivers, and what is overdue, waiting or ready.

The chase ladder (config.Policy.chase_ladder; by default a reminder 5 and 10 working
days after the due date, then an escalation at 15) is walked one step at a time:

- The sweep (`plan_chases`) reads only open requests whose `next_chase_on` has come, by
  the (status, next_chase_on) index, so its cost follows what is due, not the backlog.
- Each step is an outbox message with the business key (case, agency, "chase", step),
  all of a run's steps queued by one INSERT ... SELECT ... ON CONFLICT DO NOTHING: a
  rerun, a retry or two runs at once queue it once; a run that dies queues nothing.
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
from collections.abc import Sequence

from sqlalchemy import Select, and_, case, func, literal, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from cdop import crypto
from cdop.config import Policy, Settings
from cdop.mail import bulk, outbox
from cdop.mail.mailer import Email
from cdop.portal import tokens
from cdop.rules.chase_ladder import due_for_chase_predicate, ladder_date, next_chase_date
from cdop.rules.workdays import working_calendar
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.models import Agency, AgencyRequest, Case, OutboxMessage
from cdop.store.statuses import OutboxStatus, RequestStatus
from cdop.taxonomy import taxonomy

log = logging.getLogger(__name__)

REMINDER = "chase_reminder"
ESCALATION = "chase_escalation"
KINDS = (REMINDER, ESCALATION)
_KIND_FOR_ACTION = {"reminder": REMINDER, "escalation": ESCALATION}
ACTOR = "airflow:cdop_chase_overdue_returns"


# ------------------------------------------------------------------------ ladder rules


def is_working_day(settings: Settings, day: dt.date) -> bool:
    """Whether the chase (and the digest) act on `day`: weekends and bank holidays do not."""
    working = working_calendar(settings.policy).is_working_day(day)
    if not working:
        log.info("%s is not a working day (weekend or bank holiday): nothing to do", day.isoformat())
    return working


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
    and the agency, as plain rows."""
    return (
        select(
            AgencyRequest.id.label("request_id"),
            AgencyRequest.ladder_step,
            AgencyRequest.next_chase_on,
            Case.id.label("case_id"),
            Case.case_number,
            Case.closed_on,
            Agency.id.label("agency_id"),
            Agency.code.label("agency_code"),
            Agency.name.label("agency_name"),
            Agency.request_email,
            Agency.escalation_email,
        )
        .join(Case, Case.id == AgencyRequest.case_id)
        .join(Agency, Agency.id == AgencyRequest.agency_id)
        .where(due_for_chase_predicate(today))
        .order_by(AgencyRequest.next_chase_on, AgencyRequest.id)
    )


def plan_chases(settings: Settings, today: dt.date) -> list[int]:
    """Queue the next ladder step of every request due one today; return the new outbox ids.

    One INSERT ... SELECT ... ON CONFLICT DO NOTHING queues every step (cdop.mail.bulk),
    so the cost follows what is due. Safe to run twice, or twice at once: a step already
    queued (sent or not) is not queued again."""
    policy = settings.policy
    if not is_working_day(settings, today):
        return []
    ladder = policy.chase_ladder
    with unit_of_work(settings, ACTOR) as uow:
        # The ladder was shortened since these dates were set: nothing more to send.
        stopped = uow.session.execute(
            update(AgencyRequest)
            .where(due_for_chase_predicate(today), AgencyRequest.ladder_step >= len(ladder))
            .values(next_chase_on=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        planned = bulk.enqueue_select(uow, settings, _chase_messages(uow, policy, today)) if ladder else []
        uow.commit()
    log.info("chase sweep %s: %d step(s) queued, %d request(s) at the top of a shortened ladder",
             today.isoformat(), len(planned), stopped)
    return planned


def _chase_messages(uow: UnitOfWork, policy: Policy, today: dt.date) -> Select:
    """The next step's message of every due request of an open case, as the columns
    bulk.enqueue_select wants: what `recipients` and the subject lines say, in SQL."""
    dialect = bulk.dialect_of(uow)
    ladder = policy.chase_ladder
    due = due_for_chase(today).order_by(None).subquery("due")
    step = due.c.ladder_step + 1

    def by_step(values: list[str]):
        return case({n: literal(v) for n, v in enumerate(values, start=1)}, value=step)

    action = by_step([s.action for s in ladder])
    is_reminder = action == "reminder"
    has_escalation_contact = func.coalesce(due.c.escalation_email, "") != ""
    coordinator = literal(policy.coordinator_email)
    to = case(
        (is_reminder, bulk.json_list(dialect, due.c.request_email)),
        (has_escalation_contact, bulk.json_list(dialect, due.c.escalation_email)),
        else_=bulk.json_list(dialect, coordinator),
    )
    cc = case(
        (and_(~is_reminder, has_escalation_contact), bulk.json_list(dialect, coordinator)),
        else_=bulk.json_list(dialect),
    )
    reminder_secure, escalation_secure = _secure_routes(uow, policy)
    secure = case((is_reminder, due.c.agency_id.in_(reminder_secure)),
                  else_=due.c.agency_id.in_(escalation_secure))
    # The stored subject is encrypted at rest (a subject names an agency next to a case
    # number): Fernet cannot run in SQL, so the sweep stores one of two generic subjects,
    # encrypted once here, and `compose` writes the full one at send time.
    subject = by_step([crypto.encrypt(_STORED_SUBJECT[s.action]) for s in ladder])
    return (
        select(
            (due.c.case_number + literal("/") + due.c.agency_code + literal("/chase/")
             + bulk.text_of(step)).label("business_key"),
            by_step([_KIND_FOR_ACTION[s.action] for s in ladder]).label("kind"),
            step.label("sequence"),
            due.c.case_id,
            due.c.agency_id,
            due.c.request_id,
            to.label("to_addrs"),
            cc.label("cc_addrs"),
            subject.label("subject"),
            secure.label("secure_route"),
            bulk.business_date_param(today).label("business_date"),
            bulk.json_object(dialect, step=step, action=action).label("params"),
        )
        .where(due.c.closed_on.is_(None), step <= len(ladder))
    )


def _secure_routes(uow: UnitOfWork, policy: Policy) -> tuple[list[int], list[int]]:
    """The agencies whose reminder, and whose escalation, travel only to secure addresses
    (policy.is_secure_address, over the few agencies rather than the many requests)."""
    reminder, escalation = [], []
    for agency in uow.session.execute(select(Agency.id, Agency.request_email, Agency.escalation_email)):
        for action, ids in (("reminder", reminder), ("escalation", escalation)):
            to, cc = recipients(policy, agency, action)
            if all(policy.is_secure_address(a) for a in to + cc):
                ids.append(agency.id)
    return reminder, escalation


_STORED_SUBJECT = {"reminder": "Reminder: child death review: information is overdue",
                   "escalation": "Escalation: child death review: information is overdue"}


def subject_line(action: str, case_number: str, agency_name: str) -> str:
    return (f"{'Reminder' if action == 'reminder' else 'Escalation'}: child death review "
            f"{case_number}: information from {agency_name} is overdue")


_REMINDERS_SENT = "cdop_chase_reminders_sent"  # session.info: request id -> dates


def prefetch(session: Session, messages: Sequence[OutboxMessage], settings: Settings) -> list:
    """What `compose` reads for a batch of chases, in three queries whatever its size:
    the requests with their agencies, their cases' number and closure only (a chase
    names no one, so no identifier is even decrypted), and the dates of the reminders
    each request was already sent."""
    request_ids = sorted({m.request_id for m in messages if m.request_id is not None})
    if not request_ids:
        return []
    requests = session.scalars(
        select(AgencyRequest).where(AgencyRequest.id.in_(request_ids))
        .options(joinedload(AgencyRequest.agency),
                 selectinload(AgencyRequest.case).load_only(Case.case_number, Case.closed_on))
    ).unique().all()
    sent: dict[int, list[dt.date]] = {request_id: [] for request_id in request_ids}
    for request_id, day in session.execute(
        select(OutboxMessage.request_id, OutboxMessage.business_date)
        .where(OutboxMessage.request_id.in_(request_ids), OutboxMessage.kind == REMINDER,
               OutboxMessage.status == OutboxStatus.SENT)
        .order_by(OutboxMessage.request_id, OutboxMessage.sequence)
    ):
        sent[request_id].append(day)
    session.info.setdefault(_REMINDERS_SENT, {}).update(sent)
    return list(requests)


def _reminders_sent(session: Session, request_id: int) -> list[dt.date]:
    """The dates the request's reminders were sent, from the batch's prefetch if it ran."""
    prefetched = session.info.get(_REMINDERS_SENT, {})
    if request_id in prefetched:
        return list(prefetched[request_id])
    return list(session.scalars(
        select(OutboxMessage.business_date)
        .where(OutboxMessage.request_id == request_id, OutboxMessage.kind == REMINDER,
               OutboxMessage.status == OutboxStatus.SENT)
        .order_by(OutboxMessage.sequence)
    ).all())


def compose(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    """A reminder or escalation, composed at send time. It carries the case number and
    never an identifier, whatever the route. A request returned or waived since the step
    was queued is not chased: the message is cancelled."""
    policy = settings.policy
    request = session.get(AgencyRequest, message.request_id)
    if request is None or request.status != RequestStatus.SENT:
        raise outbox.NoLongerWanted(
            f"request is {request.status if request else 'gone'}: chase no longer wanted")
    # A step this very message took (its agency got it; a copy refused is sent again to
    # the others after a release, see cdop.sending.delivery) is still wanted.
    if request.ladder_step >= message.sequence and message.sent_at is None:
        raise outbox.NoLongerWanted("this ladder step was already taken")
    case, agency = request.case, request.agency
    if case.closed_on is not None:
        raise outbox.NoLongerWanted("the case is closed")
    today = message.business_date
    calendar = working_calendar(policy)
    step = message.sequence
    ladder = policy.chase_ladder
    reminders_sent = _reminders_sent(session, request.id)
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
        "reminders_sent": reminders_sent,
        "next_step": next_step,
        "business_date": today,
        "office": policy.office,
        "area_name": policy.area_name,
    }
    if message.kind == REMINDER:
        # A reminder goes to the request address: it carries a new portal link and renews
        # the older ones (cdop.portal.tokens). An escalation goes to someone else: none.
        context["portal_link"] = tokens.link_url(settings, tokens.token_for_message(message))
        context["link_valid_days"] = policy.portal.link_valid_days
    name = "reminder" if message.kind == REMINDER else "escalation"
    subject = subject_line("reminder" if message.kind == REMINDER else "escalation",
                           case.case_number, agency.name)
    return outbox.templated_email(message, settings, name, context, subject=subject)


def on_sent_batch(uow: UnitOfWork, messages: Sequence[OutboxMessage], settings: Settings) -> None:
    """A step is taken once it is sent: the reminders' portal links start to work (in one
    go, cdop.portal.tokens), then each request moves up its ladder to its next date."""
    tokens.record_sent_links(uow, [m for m in messages if m.kind == REMINDER], settings)
    for message in messages:
        _step_taken(uow, message, settings)


def _step_taken(uow: UnitOfWork, message: OutboxMessage, settings: Settings) -> None:
    request = uow.session.get(AgencyRequest, message.request_id)
    step = message.sequence
    if request is None or request.status != RequestStatus.SENT or request.ladder_step >= step:
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


# ------------------------------------------------------------------ what is due, by day


