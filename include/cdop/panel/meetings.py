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
from typing import Any

from sqlalchemy import exists, func, literal, or_, select
from sqlalchemy.orm import Session

from cdop.config import Policy, Settings
from cdop.panel.case_reports import APPROVED
from cdop.rules.ages import AGE_BANDS
from cdop.rules.workdays import WorkingCalendar
from cdop.store.db import unit_of_work
from cdop.store.models import (
    Case,
    CaseReport,
    MeetingAllocation,
    OutboxMessage,
    PanelMeeting,
    PanelMember,
)
from cdop.validation import InputError, Problem, RowReader

log = logging.getLogger(__name__)

MEETING_KINDS = ("general", "neonatal")
NEONATAL_DAYS = 28
NEONATAL_BAND = AGE_BANDS[0]  # "0-27 days": under NEONATAL_DAYS days old
ACTOR = "airflow:cdop_notify_panel"


# ------------------------------------------------------------------ meetings and members


def add_meeting(settings: Settings, *, meets_on: dt.date | str, kind: str = "general", capacity: int | str = 8,
                location: str | None = None, today: dt.date, actor: str | None = None) -> int:
    r = RowReader({"date": meets_on, "kind": kind, "capacity": capacity, "location": location})
    day = r.date("date")
    if day and day < today:
        r.problem("date", "is in the past")
    kind_code = r.choice("kind", {k: k for k in MEETING_KINDS})
    size = r.integer("capacity", low=1, high=40, required=True)
    place = r.text("location", required=False, max_len=200)
    if r.problems:
        raise InputError(r.problems)
    with unit_of_work(settings, actor) as uow:
        meeting = PanelMeeting(meets_on=day, kind=kind_code, capacity=size, location=place)
        uow.session.add(meeting)
        uow.session.flush()
        uow.audit("meeting_registered", "panel_meeting", meeting.id, meets_on=day.isoformat(),
                  kind=kind_code, capacity=size)
        uow.commit()
        return meeting.id


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
    with unit_of_work(settings, actor) as uow:
        member = uow.session.scalar(select(PanelMember).where(PanelMember.email == email.strip().lower()))
        if member is None:
            raise InputError([Problem("email", "is not a panel member's address")])
        member.active = active
        uow.audit("member_" + ("activated" if active else "deactivated"), "panel_member", member.id)
        uow.commit()


def list_members(settings: Settings) -> list[dict[str, Any]]:
    with unit_of_work(settings) as uow:
        return [
            {"id": m.id, "name": m.name, "role": m.role, "email": m.email, "active": m.active,
             "secure": settings.policy.is_secure_address(m.email)}
            for m in uow.session.scalars(select(PanelMember).order_by(PanelMember.id))
        ]


def pack_date(policy: Policy, meets_on: dt.date) -> dt.date:
    """The day the papers go: Policy.panel_notice_working_days working days before."""
    return WorkingCalendar(policy.holiday_subdivision).subtract(meets_on, policy.panel_notice_working_days)


def _pack_planned(session: Session, meeting_id: int) -> bool:
    return meeting_id in _packs_planned(session, [meeting_id])


def _packs_planned(session: Session, meeting_ids: list[int]) -> set[int]:
    """Which of these meetings have their pack queued (business key meeting-<id>/...):
    one statement, on the partial index of panel packs (its kind written inline, as
    SQLite needs to use a partial index)."""
    if not meeting_ids:
        return set()
    prefixes = {f"meeting-{i}/": i for i in meeting_ids}
    keys = session.scalars(select(OutboxMessage.business_key).where(
        OutboxMessage.kind == literal(KIND_PACK, literal_execute=True),
        or_(*(OutboxMessage.business_key.like(f"{p}%") for p in prefixes))))
    return {prefixes[key[: key.index("/") + 1]] for key in keys}


def meetings_overview(session: Session, policy: Policy, *, today: dt.date, include_past: bool = False,
                      limit: int | None = None) -> list[dict[str, Any]]:
    """The meetings (from today unless include_past), each with how many cases it holds,
    when its papers go and whether they went: two statements whatever the number."""
    allocated = (select(MeetingAllocation.meeting_id, func.count(MeetingAllocation.id).label("n"))
                 .group_by(MeetingAllocation.meeting_id).subquery())
    query = (select(PanelMeeting.id, PanelMeeting.meets_on, PanelMeeting.kind, PanelMeeting.capacity,
                    PanelMeeting.location, func.coalesce(allocated.c.n, 0))
             .outerjoin(allocated, allocated.c.meeting_id == PanelMeeting.id)
             .order_by(PanelMeeting.meets_on, PanelMeeting.id))
    if not include_past:
        query = query.where(PanelMeeting.meets_on >= today)
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    sent = _packs_planned(session, [r[0] for r in rows])
    return [
        {"id": i, "meets_on": day.isoformat(), "kind": kind, "capacity": capacity, "allocated": n,
         "location": location, "papers_on": pack_date(policy, day).isoformat(), "papers_sent": i in sent}
        for i, day, kind, capacity, location, n in rows
    ]


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


def agendas(session: Session, meeting_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The agenda of each meeting in one statement: its cases in the order allocated,
    each as `_case_line` gives it, with whether its papers went (pack / addendum)."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in meeting_ids}
    if not meeting_ids:
        return found
    latest_approved = (select(func.max(CaseReport.version))
                       .where(CaseReport.case_id == Case.id, CaseReport.status == APPROVED)
                       .correlate(Case).scalar_subquery())
    rows = session.execute(
        select(MeetingAllocation.meeting_id, MeetingAllocation.pack, Case.case_number, Case.age_band,
               Case.death_expected, Case.notified_on, latest_approved)
        .join(Case, Case.id == MeetingAllocation.case_id)
        .where(MeetingAllocation.meeting_id.in_(meeting_ids))
        .order_by(MeetingAllocation.meeting_id, MeetingAllocation.id))
    # The plain age band, not the encrypted dates: an agenda needs no identifier decrypted.
    for meeting_id, pack, number, band, expected, notified, version in rows:
        found[meeting_id].append({
            "case_number": number,
            "age_band": band,
            "expected": expected,
            "neonatal": band == NEONATAL_BAND,
            "report_version": version,
            "notified_on": notified,
            "pack": pack,
        })
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
