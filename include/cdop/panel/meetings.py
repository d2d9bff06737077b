"""The panel's business: meetings, members, allocating approved cases, and the papers.

- Meetings are registered with a date, a kind (general or neonatal) and a capacity;
  members with a name, a role and an email address. Only an address on a secure route
  (Policy.secure_domains) receives papers; any other gets a note saying where they are.
- `allocate_cases` puts each case whose report the coordinator approved on the agenda
  of the next meeting after today with room, oldest death first. A neonatal death (age
  at death under 28 days) goes to a neonatal meeting where the CDOP has any ahead;
  otherwise, like every other death, to a general meeting.
- `plan_panel_papers` (DAG cdop_notify_panel, daily): Policy.panel_notice_working_days
  working days before a meeting, each member is sent the agenda and the pack (each
  case's approved, anonymised report as a PDF), once per member per meeting (business
  key meeting/member/panel_pack/1). A case allocated after the pack went goes out as an
  addendum carrying only that case (business key case/member/panel_addendum/meeting).
- `plan_new_deaths_list`: once a week (Policy.panel_new_deaths_weekday) members are sent
  the deaths notified in the previous seven days, anonymised: case number, age band,
  expected or unexpected. One list, not an email per death.

Every message is composed at send time and passed through the anonymisation gate
(the text, the HTML and each attached PDF's text) for every case it mentions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    String,
    bindparam,
    cast,
    exists,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from cdop.config import Policy, Settings
from cdop.mail.outbox import key_head
from cdop.panel.case_reports import APPROVED
from cdop.rules.ages import AGE_BANDS
from cdop.rules.workdays import working_calendar
from cdop.store.db import unit_of_work
from cdop.store.models import (
    Case,
    CaseReport,
    MeetingAllocation,
    MeetingAttendance,
    OutboxMessage,
    PanelMeeting,
    PanelMember,
)
from cdop.store.statuses import AttendanceStatus
from cdop.validation import InputError, Problem, RowReader

log = logging.getLogger(__name__)

MEETING_KINDS = ("general", "neonatal")
NEONATAL_DAYS = 28
NEONATAL_BAND = AGE_BANDS[0]  # "0-27 days": under NEONATAL_DAYS days old
ACTOR = "airflow:cdop_notify_panel"


# ------------------------------------------------------------------ meetings and members


OUTCOMES = {
    "reviewed": "Review completed",
    "deferred": "Deferred to a later meeting",
    "more_information": "Further information requested",
}
ATTENDANCE = {AttendanceStatus.INVITED: "Invited", AttendanceStatus.ATTENDED: "Attended",
              AttendanceStatus.APOLOGIES: "Sent apologies"}


def _parse_time(r: RowReader, field: str, value: Any) -> dt.time | None:
    text = r.text(field, required=False, max_len=5)
    if not text:
        return None
    try:
        at = dt.time.fromisoformat(text)
    except ValueError:
        r.problem(field, "is not a time of day in the form HH:MM")
        return None
    return at.replace(second=0, microsecond=0)


def add_meeting(settings: Settings, *, meets_on: dt.date | str, kind: str = "general", capacity: int | str = 8,
                location: str | None = None, today: dt.date, actor: str | None = None,
                starts_at: str | None = None, members: Sequence[int | str] | None = None) -> int:
    """Register a meeting; `members` (panel member ids) are invited, every active member
    when None."""
    r = RowReader({"date": meets_on, "kind": kind, "capacity": capacity, "location": location,
                   "time": starts_at})
    day = r.date("date")
    if day and day < today:
        r.problem("date", "is in the past")
    kind_code = r.choice("kind", {k: k for k in MEETING_KINDS})
    size = r.integer("capacity", low=1, high=40, required=True)
    place = r.text("location", required=False, max_len=200)
    at = _parse_time(r, "time", starts_at)
    if r.problems:
        raise InputError(r.problems)
    with unit_of_work(settings, actor) as uow:
        invited = _member_ids(uow.session, members)
        meeting = PanelMeeting(meets_on=day, kind=kind_code, capacity=size, location=place, starts_at=at)
        uow.session.add(meeting)
        uow.session.flush()
        uow.session.add_all(MeetingAttendance(meeting_id=meeting.id, member_id=m, status=AttendanceStatus.INVITED)
                            for m in invited)
        uow.audit("meeting_registered", "panel_meeting", meeting.id, meets_on=day.isoformat(),
                  kind=kind_code, capacity=size, members=len(invited))
        uow.commit()
        return meeting.id


def minutes_problems(session: Session, meeting_id: int, text: str) -> list[Problem]:
    """The minutes go to the panel: checked as typed against every identifier of every
    case on the meeting's agenda (and what nobody recorded). People are named by role."""
    from cdop.confidentiality.gate import Gate
    from cdop.confidentiality.identifiers import case_gate, identifier_problem

    identifiers: list = []
    for case in session.scalars(select(Case).join(MeetingAllocation, MeetingAllocation.case_id == Case.id)
                                .where(MeetingAllocation.meeting_id == meeting_id).order_by(Case.id)):
        identifiers.extend(case_gate(session, case).identifiers)
    found = identifier_problem(Gate(tuple(identifiers)), "minutes", text)
    return [found] if found else []


def _member_ids(session: Session, members: Sequence[int | str] | None) -> list[int]:
    active = dict(session.execute(select(PanelMember.id, PanelMember.active)).all())
    if members is None:
        return sorted(i for i, on in active.items() if on)
    chosen: list[int] = []
    for position, value in enumerate(members, start=1):
        text = str(value).strip()
        if not text.isdigit() or int(text) not in active:
            raise InputError([Problem("members", f"is not a panel member (item {position})")])
        chosen.append(int(text))
    return sorted(set(chosen))


def record_meeting(settings: Settings, meeting_id: int, *, today: dt.date, actor: str | None = None,
                   members: Sequence[int | str] | None = None,
                   attendance: Mapping[int, str] | None = None,
                   minutes: str | None = None,
                   outcomes: Mapping[str, str] | None = None) -> dict[str, int]:
    """The meeting's business, all-or-nothing: who is invited (`members`), who attended or
    sent apologies (`attendance`: member id -> status), the minutes (kept encrypted) and
    the panel's outcome for each case on the agenda (`outcomes`: case number -> code).
    Attendance, minutes and outcomes only once the meeting has happened."""
    problems: list[Problem] = []
    r = RowReader({"minutes": minutes})
    text = r.text("minutes", required=False, max_len=20_000, multiline=True)
    problems += r.problems
    with unit_of_work(settings, actor) as uow:
        meeting = uow.session.get(PanelMeeting, meeting_id)
        if meeting is None:
            raise InputError([Problem("meeting", "no such meeting")])
        happened = meeting.meets_on <= today
        rows = {a.member_id: a for a in uow.session.scalars(
            select(MeetingAttendance).where(MeetingAttendance.meeting_id == meeting_id))}
        invited = _member_ids(uow.session, members) if members is not None else sorted(rows)
        marks = {}
        for position, (member_id, status) in enumerate((attendance or {}).items(), start=1):
            if status not in ATTENDANCE:
                problems.append(Problem("attendance", f"must be one of {', '.join(ATTENDANCE)} (item {position})"))
            elif member_id not in invited:
                problems.append(Problem("attendance", f"is for a member not invited (item {position})"))
            elif status != AttendanceStatus.INVITED and not happened:
                problems.append(Problem("attendance", "the meeting has not happened yet"))
            else:
                marks[member_id] = status
        allocations = {n: a for a, n in uow.session.execute(
            select(MeetingAllocation, Case.case_number).join(Case, Case.id == MeetingAllocation.case_id)
            .where(MeetingAllocation.meeting_id == meeting_id)).all()}
        chosen = {}
        for position, (number, code) in enumerate((outcomes or {}).items(), start=1):
            if not code:
                continue
            if number not in allocations:
                problems.append(Problem("outcome", f"is for a case not on this agenda (item {position})"))
            elif code not in OUTCOMES:
                problems.append(Problem("outcome", f"must be one of {', '.join(OUTCOMES)} (item {position})"))
            elif not happened:
                problems.append(Problem("outcome", "the meeting has not happened yet"))
            else:
                chosen[number] = code
        if text and not happened:
            problems.append(Problem("minutes", "the meeting has not happened yet"))
        elif text and text != (meeting.minutes or None):
            problems += minutes_problems(uow.session, meeting_id, text)
        if problems:
            raise InputError(problems)
        for member_id in set(rows) - set(invited):
            uow.session.delete(rows.pop(member_id))
        for member_id in invited:
            if member_id not in rows:
                rows[member_id] = MeetingAttendance(meeting_id=meeting_id, member_id=member_id, status=AttendanceStatus.INVITED)
                uow.session.add(rows[member_id])
            if member_id in marks:
                rows[member_id].status = marks[member_id]
        if text is not None and text != (meeting.minutes or None):
            meeting.minutes, meeting.minutes_recorded_on = text, today
        for number, code in chosen.items():
            allocation = allocations[number]
            if allocation.outcome != code:
                allocation.outcome, allocation.outcome_on = code, today
                uow.audit("case_outcome_recorded", "meeting_allocation", allocation.id,
                          case_id=allocation.case_id, outcome=code, meeting=meeting_id)
        uow.session.flush()
        counts = {s: sum(1 for a in rows.values() if a.status == s) for s in ATTENDANCE}
        uow.audit("meeting_recorded", "panel_meeting", meeting_id, members=len(rows),
                  attended=counts["attended"], apologies=counts["apologies"],
                  minutes=bool(meeting.minutes), outcomes=len(chosen))
        uow.commit()
        return {"members": len(rows), **counts, "outcomes": len(chosen)}


def meeting_detail(session: Session, policy: Policy, meeting_id: int) -> dict[str, Any] | None:
    """One meeting for the coordinator: when, where, members with attendance, the agenda
    with each case's outcome, the minutes. A few statements."""
    meeting = session.get(PanelMeeting, meeting_id)
    if meeting is None:
        return None
    statuses = dict(session.execute(select(MeetingAttendance.member_id, MeetingAttendance.status)
                                    .where(MeetingAttendance.meeting_id == meeting_id)).all())
    members = [{"id": m.id, "name": m.name, "role": m.role, "active": m.active,
                "status": statuses.get(m.id)}
               for m in session.scalars(select(PanelMember).order_by(PanelMember.name, PanelMember.id))
               if m.active or m.id in statuses]
    agenda = agendas(session, [meeting_id])[meeting_id]
    return {"id": meeting.id, "meets_on": meeting.meets_on, "starts_at": meeting.starts_at,
            "kind": meeting.kind, "capacity": meeting.capacity, "location": meeting.location,
            "papers_on": pack_date(policy, meeting.meets_on),
            "papers_sent": _pack_planned(session, meeting.id),
            "minutes": meeting.minutes, "minutes_recorded_on": meeting.minutes_recorded_on,
            "members": members, "agenda": agenda}


def add_member(settings: Settings, *, name: str, role: str, email: str, actor: str | None = None) -> dict:
    """Register a panel member, or update the one with this email address."""
    r = RowReader({"name": name, "role": role, "email": email})
    values = {"name": r.text("name", max_len=120), "role": r.text("role", max_len=120),
              "email": r.email("email")}
    if r.problems:
        raise InputError(r.problems)
    with unit_of_work(settings, actor) as uow:
        member = uow.session.scalar(select(PanelMember).where(PanelMember.email == values["email"]))
        created = member is None
        if created:
            member = PanelMember(**values, active=True)
            uow.session.add(member)
        else:
            member.name, member.role, member.active = values["name"], values["role"], True
        uow.session.flush()
        uow.audit("member_registered" if created else "member_updated", "panel_member", member.id,
                  role=values["role"])
        uow.commit()
        return {"id": member.id, "created": created,
                "secure": settings.policy.is_secure_address(values["email"])}


def set_member_active(settings: Settings, email: str, *, active: bool, actor: str | None = None) -> None:
    r = RowReader({"email": email})
    email = r.email("email")  # checked as add_member checks it: a stray byte is refused here
    if r.problems:
        raise InputError(r.problems)
    with unit_of_work(settings, actor) as uow:
        member = uow.session.scalar(select(PanelMember).where(PanelMember.email == email))
        if member is None:
            raise InputError([Problem("email", "is not a panel member's address")])
        member.active = active
        uow.audit("member_" + ("activated" if active else "deactivated"), "panel_member", member.id)
        uow.commit()


def list_members(settings: Settings) -> list[dict[str, Any]]:
    with unit_of_work(settings) as uow:
        return members(uow.session, settings.policy)


def members(session: Session, policy: Policy) -> list[dict[str, Any]]:
    """Every panel member, in the order they were added."""
    return [_member(*row, policy=policy) for row in session.execute(
        select(PanelMember.id, PanelMember.name, PanelMember.role, PanelMember.email, PanelMember.active)
        .order_by(PanelMember.id))]


def _member(member_id: int, name: str, role: str, email: str, active: bool, *, policy: Policy) -> dict[str, Any]:
    return {"id": member_id, "name": name, "role": role, "email": email, "active": active,
            "secure": policy.is_secure_address(email)}


def pack_date(policy: Policy, meets_on: dt.date) -> dt.date:
    """The day the papers go: Policy.panel_notice_working_days working days before."""
    return working_calendar(policy).subtract(meets_on, policy.panel_notice_working_days)


def meeting_key(meeting_id: int) -> str:
    """The first part of the business key of a meeting's pack to each member."""
    return f"meeting-{meeting_id}"


def _meeting_key_sql(meeting_id: Any) -> Any:
    """meeting_key in SQL, for a meeting id column."""
    return literal("meeting-", literal_execute=True) + cast(meeting_id, String)


@lru_cache(maxsize=1)
def _pack_planned_statement():
    return select(exists().where(OutboxMessage.kind == literal(KIND_PACK, literal_execute=True),
                                 OutboxMessage.business_key.like(bindparam("prefix"))))


def _pack_planned(session: Session, meeting_id: int) -> bool:
    """Whether this meeting's pack is queued (a business key meeting-<id>/...), on the
    partial index of panel packs (its kind written inline, as SQLite needs to use it)."""
    return bool(session.scalar(_pack_planned_statement(), {"prefix": meeting_key(meeting_id) + "/%"}))


def _agenda_columns() -> tuple[Any, ...]:
    """What an agenda line shows of a case on a meeting's agenda (MeetingAllocation
    joined to Case): the columns _agenda_line takes, in its order."""
    latest_approved = (select(func.max(CaseReport.version))
                       .where(CaseReport.case_id == Case.id, CaseReport.status == APPROVED)
                       .correlate(Case).scalar_subquery())
    return (MeetingAllocation.pack, Case.case_number, Case.age_band, Case.death_expected, Case.notified_on,
            latest_approved, MeetingAllocation.outcome)


def _agenda_line(pack: str | None, number: str, band: str, expected: bool, notified: dt.date,
                 version: int | None, outcome: str | None) -> dict[str, Any]:
    # The plain age band, not the encrypted dates: an agenda needs no identifier decrypted.
    return {"case_number": number, "age_band": band, "expected": expected, "neonatal": band == NEONATAL_BAND,
            "report_version": version, "notified_on": notified, "pack": pack, "outcome": outcome}


@lru_cache(maxsize=16)
def _overview_statement(include_past: bool, limited: bool, past: bool):
    """The meetings query, built once per shape (the day and the limits are bound): one
    row for each case on a listed meeting's agenda (one with no case for a meeting with
    none), the meeting's columns on each, and whether its pack is queued -- its key's
    first part among those of the packs, read once, not one prefix match per meeting."""
    base = select(PanelMeeting.id, PanelMeeting.meets_on, PanelMeeting.kind, PanelMeeting.capacity,
                  PanelMeeting.location, PanelMeeting.starts_at)
    today = bindparam("today", type_=Date)
    ahead = base if include_past else base.where(PanelMeeting.meets_on >= today)
    if limited:
        ahead = ahead.order_by(PanelMeeting.meets_on, PanelMeeting.id).limit(bindparam("limit", type_=Integer))
    if past:
        # The held ones in the same statement: each side limited on its own.
        held = (base.where(PanelMeeting.meets_on < today)
                .order_by(PanelMeeting.meets_on.desc(), PanelMeeting.id.desc())
                .limit(bindparam("past", type_=Integer)))
        listed = union_all(select(ahead.subquery()), select(held.subquery())).subquery("listed")
    else:
        listed = ahead.subquery("listed")
    packs = (select(key_head(OutboxMessage.business_key))
             .where(OutboxMessage.kind == literal(KIND_PACK, literal_execute=True)))
    return (select(*listed.c, _meeting_key_sql(listed.c.id).in_(packs).label("papers_sent"), *_agenda_columns())
            .select_from(listed.outerjoin(MeetingAllocation, MeetingAllocation.meeting_id == listed.c.id)
                         .outerjoin(Case, Case.id == MeetingAllocation.case_id))
            .order_by(listed.c.id, MeetingAllocation.id))


@lru_cache(maxsize=1)
def _people_statement():
    """Every panel member, with a row for each of the meetings `ids` they were invited
    to (one with no meeting if none), attendance in name order."""
    return (select(PanelMember.id, PanelMember.name, PanelMember.role, PanelMember.email, PanelMember.active,
                   MeetingAttendance.meeting_id, MeetingAttendance.status)
            .outerjoin(MeetingAttendance, (MeetingAttendance.member_id == PanelMember.id)
                       & MeetingAttendance.meeting_id.in_(bindparam("ids", expanding=True)))
            .order_by(MeetingAttendance.meeting_id, PanelMember.name, PanelMember.id))


def meetings_overview(session: Session, policy: Policy, *, today: dt.date, include_past: bool = False,
                      limit: int | None = None, past: int = 0) -> list[dict[str, Any]]:
    """The meetings (from today unless include_past), each with its time, place, agenda,
    members and who attended, when its papers go and whether they went; with `past`
    (and not include_past), that many meetings held before today after them, newest
    first."""
    return meetings_and_members(session, policy, today=today, include_past=include_past, limit=limit,
                                past=past)[0]


def meetings_and_members(session: Session, policy: Policy, *, today: dt.date, include_past: bool = False,
                         limit: int | None = None, past: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """meetings_overview, and every panel member in the order they were added: two
    statements whatever the number of meetings, cases and members. They run on the
    session's connection: the rows are plain tuples, and the ORM's result machinery
    around each cost more than its SQL on the meetings page."""
    past = 0 if include_past else past  # every meeting is listed already
    params: dict[str, Any] = {"today": today}
    if limit is not None:
        params["limit"] = limit
    if past:
        params["past"] = past
    connection = session.connection()
    found: dict[int, dict[str, Any]] = {}
    for meeting_id, day, kind, capacity, location, at, sent, *line in connection.execute(
            _overview_statement(include_past, limit is not None, bool(past)), params).all():
        meeting = found.get(meeting_id)
        if meeting is None:
            meeting = found[meeting_id] = {
                "id": meeting_id, "meets_on": day, "kind": kind, "capacity": capacity, "location": location,
                "starts_at": at.strftime("%H:%M") if at else None, "papers_on": pack_date(policy, day),
                "papers_sent": bool(sent), "days_to_go": (day - today).days, "held": day < today,
                "agenda": [], "members": [], "attended": 0, "apologies": 0}
        if line[1] is not None:  # the case number: a meeting with no case has one row of NULLs
            meeting["agenda"].append(_agenda_line(*line))
    for meeting in found.values():
        meeting["allocated"] = len(meeting["agenda"])
        meeting["places_left"] = max(0, meeting["capacity"] - meeting["allocated"])
    everyone: dict[int, dict[str, Any]] = {}
    for member_id, name, role, email, active, meeting_id, status in connection.execute(
            _people_statement(), {"ids": list(found)}).all():
        if member_id not in everyone:
            everyone[member_id] = _member(member_id, name, role, email, active, policy=policy)
        if meeting_id is not None:
            meeting = found[meeting_id]
            meeting["members"].append({"name": name, "status": status})
            if status in (AttendanceStatus.ATTENDED, AttendanceStatus.APOLOGIES):
                meeting[status] += 1
    in_order = sorted(found.values(), key=lambda m: (m["meets_on"], m["id"]))
    if past:  # upcoming in date order, then held, newest first
        in_order = [m for m in in_order if not m["held"]] + [m for m in reversed(in_order) if m["held"]]
    return in_order, [everyone[i] for i in sorted(everyone)]


def list_meetings(settings: Settings, *, today: dt.date, include_past: bool = False) -> list[dict[str, Any]]:
    with unit_of_work(settings) as uow:
        return meetings_overview(uow.session, settings.policy, today=today, include_past=include_past)


# ----------------------------------------------------------------------------- allocation


def is_neonatal(case: Case) -> bool:
    return case.age_at_death_days < NEONATAL_DAYS


def cases_awaiting_meeting(session: Session) -> list[Case]:
    """Open cases with an approved report and no place on an agenda, oldest death first."""
    cases = session.scalars(
        select(Case)
        .where(
            Case.closed_on.is_(None),
            exists().where(CaseReport.case_id == Case.id, CaseReport.status == APPROVED),
            ~exists().where(MeetingAllocation.case_id == Case.id),
        )
    )
    # The date of death is encrypted: the approved cases waiting are ordered after decryption.
    return sorted(cases, key=lambda c: (c.date_of_death, c.case_number))


def allocate_cases(settings: Settings, today: dt.date, *, actor: str = ACTOR) -> dict[str, list[str]]:
    """Put each approved case on the next suitable meeting after today with room."""
    allocated, waiting = [], []
    with unit_of_work(settings, actor) as uow:
        cases = cases_awaiting_meeting(uow.session)
        if not cases:
            return {"allocated": [], "waiting": []}
        meetings = list(uow.session.scalars(
            select(PanelMeeting).where(PanelMeeting.meets_on > today)
            .order_by(PanelMeeting.meets_on, PanelMeeting.id)))
        taken = dict(uow.session.execute(
            select(MeetingAllocation.meeting_id, func.count(MeetingAllocation.id))
            .where(MeetingAllocation.meeting_id.in_([m.id for m in meetings]))
            .group_by(MeetingAllocation.meeting_id)).all())
        holds_neonatal = any(m.kind == "neonatal" for m in meetings)
        for case in cases:
            kind = "neonatal" if is_neonatal(case) and holds_neonatal else "general"
            meeting = next((m for m in meetings if m.kind == kind and taken.get(m.id, 0) < m.capacity), None)
            if meeting is None:
                waiting.append(case.case_number)
                continue
            taken[meeting.id] = taken.get(meeting.id, 0) + 1
            allocation = MeetingAllocation(meeting_id=meeting.id, case_id=case.id, allocated_on=today)
            uow.session.add(allocation)
            uow.session.flush()
            uow.audit("case_allocated", "meeting_allocation", allocation.id, case_id=case.id,
                      meeting_id=meeting.id, meets_on=meeting.meets_on.isoformat(), kind=meeting.kind)
            allocated.append(case.case_number)
        uow.commit()
    if waiting:
        log.warning("%d approved case(s) wait for a meeting with room: %s", len(waiting), ", ".join(waiting))
    return {"allocated": allocated, "waiting": waiting}


# --------------------------------------------------------------------------------- papers


# ----------------------------------------------------------------------------- composing


def agenda(settings: Settings, meeting_id: int) -> dict[str, Any]:
    """A meeting and the cases on its agenda (case numbers and anonymised facts only)."""
    with unit_of_work(settings) as uow:
        meeting = uow.session.get(PanelMeeting, meeting_id)
        if meeting is None:
            raise InputError([Problem("meeting", "no such meeting")])
        return {"id": meeting.id, "meets_on": meeting.meets_on.isoformat(), "kind": meeting.kind,
                "capacity": meeting.capacity, "location": meeting.location,
                "papers_on": pack_date(settings.policy, meeting.meets_on).isoformat(),
                "cases": agendas(uow.session, [meeting_id])[meeting_id]}


@lru_cache(maxsize=1)
def _agendas_statement():
    return (select(MeetingAllocation.meeting_id, *_agenda_columns())
            .join(Case, Case.id == MeetingAllocation.case_id)
            .where(MeetingAllocation.meeting_id.in_(bindparam("ids", expanding=True)))
            .order_by(MeetingAllocation.meeting_id, MeetingAllocation.id))


def agendas(session: Session, meeting_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The agenda of each meeting in one statement: its cases in the order allocated,
    each as `_case_line` gives it, with whether its papers went (pack / addendum)."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in meeting_ids}
    if not meeting_ids:
        return found
    for meeting_id, *line in session.execute(_agendas_statement(), {"ids": list(meeting_ids)}):
        found[meeting_id].append(_agenda_line(*line))
    return found


KIND_PACK = "panel_pack"
KIND_ADDENDUM = "panel_addendum"
KIND_NEW_DEATHS = "panel_new_deaths"
KINDS = (KIND_PACK, KIND_ADDENDUM, KIND_NEW_DEATHS)


def _case_numbers(session: Session, case_ids: list[int]) -> list[str]:
    if not case_ids:
        return []
    order = {cid: i for i, cid in enumerate(case_ids)}
    rows = session.execute(select(Case.id, Case.case_number).where(Case.id.in_(case_ids))).all()
    return [n for _, n in sorted(rows, key=lambda r: order[r[0]])]


def _case_line(session: Session, case_number: str) -> dict[str, Any]:
    case = session.scalar(select(Case).where(Case.case_number == case_number))
    report = session.scalar(select(CaseReport).where(CaseReport.case_id == case.id, CaseReport.status == APPROVED)
                            .order_by(CaseReport.version.desc()).limit(1))
    return {
        "case_number": case.case_number,
        "age_band": case.age_band,
        "expected": case.death_expected,
        "neonatal": is_neonatal(case),
        "report_version": report.version if report else None,
        "notified_on": case.notified_on,
    }
