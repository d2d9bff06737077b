"""Read models for the operations pages: what is where, what is late, what waits on what.

Each function takes a Session and returns plain rows (case numbers, agency codes, dates,
counts): never a name, date of birth, NHS number or address, and never a message body.
Counts are aggregated in SQL and lists are paginated, so a page's cost follows the page
size, not the size of the caseload.

Where another module already answers a question for one screen (the panel's meetings
and agendas), the page uses it; the overdue and waiting lists are written here as
paginated SQL, held by a test to the same answers as the chase module's queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from cdop.config import Policy, Settings
from cdop.rules.stages import DONE_REQUEST, OPEN_INVESTIGATION, OPEN_REQUEST, Stage
from cdop.rules.workdays import WorkingCalendar
from cdop.store.models import (
    Agency,
    AgencyRequest,
    AuditEvent,
    Case,
    CaseReport,
    Investigation,
    MeetingAllocation,
    OutboxMessage,
    PanelMeeting,
)
from cdop.taxonomy import taxonomy

PAGE_SIZE = 50
STAGE_ORDER = (Stage.NOTIFIED, Stage.GATHERING, Stage.WAITING, Stage.READY, Stage.CLOSED)
STAGE_LABELS = {
    Stage.NOTIFIED: "Notified",
    Stage.GATHERING: "Gathering information",
    Stage.WAITING: "Waiting on investigations",
    Stage.READY: "Ready for panel",
    Stage.CLOSED: "Closed",
}


@dataclass(frozen=True)
class Page:
    """One page of rows and where it sits in the whole list."""

    rows: list[dict[str, Any]]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _page_number(page: int) -> int:
    return max(1, int(page))


def _paginate(session: Session, query: Select, page: int, size: int) -> tuple[list, int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    number = _page_number(page)
    rows = session.execute(query.limit(size).offset((number - 1) * size)).all()
    return rows, total


# ---------------------------------------------------------------------------- pipeline


def _request_facts():
    """Per case: how many requests, how many not yet sent, how many still open."""
    return (
        select(
            AgencyRequest.case_id.label("case_id"),
            func.count().label("total"),
            func.sum(case((AgencyRequest.status == "pending", 1), else_=0)).label("unsent"),
            func.sum(case((AgencyRequest.status.in_(OPEN_REQUEST), 1), else_=0)).label("open"),
            func.sum(case((AgencyRequest.status.in_(DONE_REQUEST), 1), else_=0)).label("done"),
        )
        .group_by(AgencyRequest.case_id)
        .subquery("request_facts")
    )


def _investigation_facts():
    return (
        select(
            Investigation.case_id.label("case_id"),
            func.sum(case((Investigation.status.in_(OPEN_INVESTIGATION), 1), else_=0)).label("open"),
        )
        .group_by(Investigation.case_id)
        .subquery("investigation_facts")
    )


def stage_query():
    """(select of Case joined to its facts, the SQL stage expression). The expression is
    `domain.derive_stage` written in SQL, so counts need not load every case; a test
    holds the two to the same answer."""
    req, inv = _request_facts(), _investigation_facts()
    total = func.coalesce(req.c.total, 0)
    stage = case(
        (Case.closed_on.is_not(None), literal(Stage.CLOSED.value)),
        (total == func.coalesce(req.c.unsent, 0), literal(Stage.NOTIFIED.value)),
        (func.coalesce(req.c.open, 0) > 0, literal(Stage.GATHERING.value)),
        (func.coalesce(inv.c.open, 0) > 0, literal(Stage.WAITING.value)),
        else_=literal(Stage.READY.value),
    ).label("stage")
    base = (
        select(Case.id)
        .outerjoin(req, req.c.case_id == Case.id)
        .outerjoin(inv, inv.c.case_id == Case.id)
    )
    return base, stage, req, inv


def stage_counts(session: Session) -> dict[str, int]:
    """How many cases are at each stage (every stage present, zero if none)."""
    base, stage, _, _ = stage_query()
    query = base.with_only_columns(stage, func.count(Case.id)).group_by(stage)
    counts = {s.value: 0 for s in STAGE_ORDER}
    counts.update({name: n for name, n in session.execute(query)})
    return counts


def _stage_predicate(stage: str):
    """`derive_stage` again, as a WHERE clause of EXISTS tests: a planner runs these on
    the (case_id) indexes, where the aggregate join above suits a GROUP BY over all."""
    requests = AgencyRequest.__table__
    investigations = Investigation.__table__
    any_request = select(requests.c.id).where(requests.c.case_id == Case.id).exists()
    sent_any = (
        select(requests.c.id)
        .where(requests.c.case_id == Case.id, requests.c.status != "pending")
        .exists()
    )
    open_request = (
        select(requests.c.id)
        .where(requests.c.case_id == Case.id, requests.c.status.in_(OPEN_REQUEST))
        .exists()
    )
    open_process = (
        select(investigations.c.id)
        .where(investigations.c.case_id == Case.id,
               investigations.c.status.in_(OPEN_INVESTIGATION))
        .exists()
    )
    is_open = Case.closed_on.is_(None)
    return {
        Stage.CLOSED.value: Case.closed_on.is_not(None),
        Stage.NOTIFIED.value: and_(is_open, ~sent_any),
        Stage.GATHERING.value: and_(is_open, sent_any, open_request),
        Stage.WAITING.value: and_(is_open, any_request, ~open_request, open_process),
        Stage.READY.value: and_(is_open, any_request, ~open_request, ~open_process),
    }[stage]


def cases_at_stage(
    session: Session, stage: str, today: dt.date, *, page: int = 1, size: int = PAGE_SIZE
) -> Page:
    """The cases at one stage, oldest notification first."""
    if stage not in {s.value for s in STAGE_ORDER}:
        return Page([], _page_number(page), size, 0)
    numbers = (
        select(Case.id, Case.case_number, Case.notified_on)
        .where(_stage_predicate(stage))
        .order_by(Case.notified_on, Case.case_number)
    )
    total = session.scalar(select(func.count()).select_from(numbers.subquery())) or 0
    window = numbers.limit(size).offset((_page_number(page) - 1) * size).subquery("page")

    def count(model, *where):
        return (
            select(func.count(model.id))
            .where(model.case_id == window.c.id, *where)
            .scalar_subquery()
        )

    query = select(
        window.c.case_number,
        window.c.notified_on,
        count(AgencyRequest, AgencyRequest.status.in_(DONE_REQUEST)),
        count(AgencyRequest),
        count(Investigation, Investigation.status.in_(OPEN_INVESTIGATION)),
    ).order_by(window.c.notified_on, window.c.case_number)
    rows = session.execute(query).all()
    return Page(
        [
            {
                "case_number": number,
                "notified_on": notified,
                "days_open": (today - notified).days,
                "returned": done,
                "requested": requested,
                "open_investigations": open_inv,
            }
            for number, notified, done, requested, open_inv in rows
        ],
        _page_number(page),
        size,
        total,
    )


# ---------------------------------------------------------------------- overdue returns


def _overdue_filter(today: dt.date):
    return and_(
        AgencyRequest.status == "sent",
        AgencyRequest.due_on < today,
        Case.closed_on.is_(None),
    )


def ladder_label(policy: Policy, step: int) -> str:
    """'not chased yet', 'reminder 1 of 3', 'escalation (3 of 3)'."""
    ladder = policy.chase_ladder
    if step <= 0:
        return "not chased yet"
    action = ladder[min(step, len(ladder)) - 1].action if ladder else "chase"
    return f"{action} ({step} of {len(ladder)})"


def overdue_by_agency(session: Session, today: dt.date, calendar: WorkingCalendar) -> list[dict]:
    """One row per agency with overdue returns: how many, and the longest overdue."""
    query = (
        select(
            Agency.code,
            Agency.name,
            func.count(AgencyRequest.id),
            func.min(AgencyRequest.due_on),
            func.max(AgencyRequest.ladder_step),
        )
        .join(AgencyRequest, AgencyRequest.agency_id == Agency.id)
        .join(Case, Case.id == AgencyRequest.case_id)
        .where(_overdue_filter(today))
        .group_by(Agency.code, Agency.name)
        .order_by(func.count(AgencyRequest.id).desc(), Agency.code)
    )
    return [
        {
            "agency": code,
            "agency_name": name,
            "overdue": count,
            "oldest_due_on": oldest,
            "max_working_days_overdue": calendar.between(oldest, today),
            "highest_step": step,
        }
        for code, name, count, oldest, step in session.execute(query)
    ]


def overdue_returns(
    session: Session,
    today: dt.date,
    calendar: WorkingCalendar,
    policy: Policy,
    *,
    agency: str | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> Page:
    """Overdue returns, longest overdue first, with working days overdue and ladder step."""
    query = (
        select(
            Case.case_number,
            Agency.code,
            Agency.name,
            AgencyRequest.requested_on,
            AgencyRequest.due_on,
            AgencyRequest.ladder_step,
            AgencyRequest.last_chased_on,
            AgencyRequest.next_chase_on,
        )
        .join(Case, Case.id == AgencyRequest.case_id)
        .join(Agency, Agency.id == AgencyRequest.agency_id)
        .where(_overdue_filter(today))
        .order_by(AgencyRequest.due_on, Case.case_number, Agency.code)
    )
    if agency:
        query = query.where(Agency.code == agency.strip().upper())
    rows, total = _paginate(session, query, page, size)
    return Page(
        [
            {
                "case_number": number,
                "agency": code,
                "agency_name": name,
                "requested_on": requested,
                "due_on": due,
                "working_days_overdue": calendar.between(due, today),
                "ladder_step": step,
                "ladder": ladder_label(policy, step),
                "last_chased_on": last,
                "next_chase_on": nxt,
            }
            for number, code, name, requested, due, step, last, nxt in rows
        ],
        _page_number(page),
        size,
        total,
    )


# ------------------------------------------------------------ waiting on investigations


def _waiting_cases():
    return select(Case.id).where(_stage_predicate(Stage.WAITING.value))


def waiting_by_process(session: Session) -> list[dict]:
    """For cases waiting only on investigations: how many wait on each process."""
    labels = taxonomy().labels("investigation")
    query = (
        select(Investigation.kind, func.count(Investigation.id))
        .where(
            Investigation.status.in_(OPEN_INVESTIGATION),
            Investigation.case_id.in_(_waiting_cases()),
        )
        .group_by(Investigation.kind)
        .order_by(func.count(Investigation.id).desc(), Investigation.kind)
    )
    return [
        {"kind": kind, "label": labels.get(kind, kind), "cases": n}
        for kind, n in session.execute(query)
    ]


def waiting_on_investigations(
    session: Session,
    today: dt.date,
    *,
    kind: str | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> Page:
    """Each open process of a case that waits only on investigations, longest wait first.
    The wait runs from the process's start, or (not started) from the case's notification."""
    labels = taxonomy().labels("investigation")
    since = func.coalesce(Investigation.started_on, Case.notified_on)
    query = (
        select(
            Case.case_number,
            Investigation.kind,
            Investigation.status,
            Investigation.started_on,
            Case.notified_on,
        )
        .join(Case, Case.id == Investigation.case_id)
        .where(
            Investigation.status.in_(OPEN_INVESTIGATION),
            Investigation.case_id.in_(_waiting_cases()),
        )
        .order_by(since, Case.case_number, Investigation.kind)
    )
    if kind:
        query = query.where(Investigation.kind == kind)
    rows, total = _paginate(session, query, page, size)
    out = []
    for number, kind_code, status, started, notified in rows:
        start = started or notified
        out.append(
            {
                "case_number": number,
                "kind": kind_code,
                "label": labels.get(kind_code, kind_code),
                "status": status,
                "since": start,
                "days_waiting": (today - start).days,
            }
        )
    return Page(out, _page_number(page), size, total)


# ------------------------------------------------------------------------------ meetings


def upcoming_meetings(settings: Settings, today: dt.date, *, limit: int = 6) -> list[dict]:
    """The next meetings with their agendas, from the panel module's own views (issue 4):
    case numbers, age band, expected or not, report version, whether the papers went."""
    from cdop.panel import meetings as panel

    meetings = []
    for meeting in panel.list_meetings(settings, today=today)[:limit]:
        agenda = panel.agenda(settings, meeting["id"])
        meets_on = dt.date.fromisoformat(meeting["meets_on"])
        meetings.append(
            meeting
            | {
                "meets_on": meets_on,
                "papers_on": dt.date.fromisoformat(meeting["papers_on"]),
                "days_to_go": (meets_on - today).days,
                "agenda": agenda["cases"],
            }
        )
    return meetings


# -------------------------------------------------------------------------------- outbox


def outbox_counts(session: Session) -> dict[str, int]:
    return dict(
        session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status)
        ).all()
    )


def outbox_messages(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    case_number: str | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> Page:
    """What went (or is going) to whom and when: kind, recipients, dates, status. The body
    is composed at send time and never stored, so it cannot be shown."""
    query = (
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.sequence,
            Case.case_number,
            Agency.code,
            OutboxMessage.to_addrs,
            OutboxMessage.cc_addrs,
            OutboxMessage.secure_route,
            OutboxMessage.business_date,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
        )
        .outerjoin(Case, Case.id == OutboxMessage.case_id)
        .outerjoin(Agency, Agency.id == OutboxMessage.agency_id)
        .order_by(OutboxMessage.id.desc())
    )
    if status:
        query = query.where(OutboxMessage.status == status)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    if case_number:
        query = query.where(Case.case_number == case_number.strip().upper())
    rows, total = _paginate(session, query, page, size)
    return Page(
        [
            {
                "id": r.id,
                "kind": r.kind,
                "sequence": r.sequence,
                "case_number": r.case_number,
                "agency": r.code,
                "to": list(r.to_addrs or []),
                "cc": list(r.cc_addrs or []),
                "secure_route": r.secure_route,
                "business_date": r.business_date,
                "queued_at": r.created_at,
                "sent_at": r.sent_at,
                "status": r.status,
                "attempts": r.attempts,
                "last_error": (r.last_error or "")[:200] or None,
            }
            for r in rows
        ],
        _page_number(page),
        size,
        total,
    )


def outbox_kinds(session: Session) -> list[str]:
    return list(session.scalars(select(OutboxMessage.kind).distinct().order_by(OutboxMessage.kind)))


# ------------------------------------------------------------------------------ one case


@dataclass
class CaseView:
    case_number: str
    stage: str
    notified_on: dt.date
    closed_on: dt.date | None
    requests: list[dict] = field(default_factory=list)
    investigations: list[dict] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)
    meeting: dict | None = None


def case_view(session: Session, case_number: str, policy: Policy) -> CaseView | None:
    """A case as the operations pages show it (no identifier), or None if there is none."""
    from cdop.intake.notifications import case_stage

    found = session.scalar(select(Case).where(Case.case_number == case_number.strip().upper()))
    if found is None:
        return None
    labels = taxonomy().labels("investigation")
    view = CaseView(found.case_number, case_stage(found).value, found.notified_on, found.closed_on)
    for r in found.requests:
        view.requests.append(
            {
                "agency": r.agency.code,
                "agency_name": r.agency.name,
                "status": r.status,
                "requested_on": r.requested_on,
                "due_on": r.due_on,
                "returned_on": r.returned_on,
                "ladder": ladder_label(policy, r.ladder_step),
            }
        )
    for i in found.investigations:
        view.investigations.append(
            {
                "kind": i.kind,
                "label": labels.get(i.kind, i.kind),
                "status": i.status,
                "started_on": i.started_on,
                "concluded_on": i.concluded_on,
            }
        )
    for rep in session.scalars(
        select(CaseReport).where(CaseReport.case_id == found.id).order_by(CaseReport.version.desc())
    ):
        view.reports.append(
            {
                "id": rep.id,
                "version": rep.version,
                "status": rep.status,
                "built_on": rep.built_on,
                "gate_findings": list(rep.gate_findings or []),
                "decided_by": rep.decided_by,
                "decided_at": rep.decided_at,
                "comments": rep.comments,
            }
        )
    allocation = session.execute(
        select(PanelMeeting.meets_on, PanelMeeting.kind, MeetingAllocation.pack)
        .join(MeetingAllocation, MeetingAllocation.meeting_id == PanelMeeting.id)
        .where(MeetingAllocation.case_id == found.id)
    ).first()
    if allocation:
        view.meeting = {"meets_on": allocation[0], "kind": allocation[1], "pack": allocation[2]}
    return view


def case_timeline(session: Session, case_number: str, *, limit: int = 300) -> list[dict]:
    """What happened to a case, oldest first: the audit trail and the messages queued for it.
    Audit details carry no identifiers (a house rule); message bodies are never stored."""
    case_id = session.scalar(select(Case.id).where(Case.case_number == case_number.strip().upper()))
    if case_id is None:
        return []
    events = [
        {
            "at": e.occurred_at,
            "source": "audit",
            "action": e.action,
            "actor": e.actor,
            "entity": e.entity,
            "details": {k: v for k, v in (e.details or {}).items() if k != "case_number"},
        }
        for e in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    ]
    agency = aliased(Agency)
    for m in session.execute(
        select(OutboxMessage.created_at, OutboxMessage.kind, OutboxMessage.sequence,
               OutboxMessage.to_addrs, OutboxMessage.status, OutboxMessage.sent_at, agency.code)
        .outerjoin(agency, agency.id == OutboxMessage.agency_id)
        .where(OutboxMessage.case_id == case_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    ):
        events.append(
            {
                "at": m.created_at,
                "source": "outbox",
                "action": "message_queued",
                "actor": "outbox",
                "entity": m.kind,
                "details": {
                    "kind": m.kind,
                    "sequence": m.sequence,
                    "agency": m.code,
                    "to": ", ".join(m.to_addrs or []),
                    "status": m.status,
                    "sent_at": m.sent_at.isoformat(timespec="minutes") if m.sent_at else None,
                },
            }
        )
    events.sort(key=lambda e: e["at"])
    return events[-limit:]


def reports_awaiting_check(session: Session, *, page: int = 1, size: int = PAGE_SIZE) -> Page:
    query = (
        select(CaseReport.id, Case.case_number, CaseReport.version, CaseReport.built_on)
        .join(Case, Case.id == CaseReport.case_id)
        .where(CaseReport.status == "awaiting_check")
        .order_by(CaseReport.built_on, Case.case_number)
    )
    rows, total = _paginate(session, query, page, size)
    return Page(
        [{"id": i, "case_number": n, "version": v, "built_on": b} for i, n, v, b in rows],
        _page_number(page),
        size,
        total,
    )


def stage_of_each_case(session: Session) -> dict[str, str]:
    """case number -> stage from the SQL expression (for tests and the benchmark)."""
    base, stage, _, _ = stage_query()
    return dict(session.execute(base.with_only_columns(Case.case_number, stage)).all())


__all__: Sequence[str] = (
    "PAGE_SIZE",
    "Page",
    "CaseView",
    "case_timeline",
    "case_view",
    "cases_at_stage",
    "outbox_counts",
    "outbox_messages",
    "overdue_by_agency",
    "overdue_returns",
    "reports_awaiting_check",
    "stage_counts",
    "upcoming_meetings",
    "waiting_by_process",
    "waiting_on_investigations",
)
