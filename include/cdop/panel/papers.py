"""The panel's papers: the meeting pack to each member (approved reports attached) a set
number of working days before the meeting, an addendum for a report approved after the
pack went, and the weekly list of newly notified deaths; each gated before release."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdop.confidentiality.documents import gate_email
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.held import released_for_message
from cdop.confidentiality.identifiers import case_gate
from cdop.config import Policy, Settings
from cdop.mail import outbox
from cdop.mail.mailer import Attachment, Email
from cdop.panel.drafts import undone_fingerprints
from cdop.panel.meetings import (
    ACTOR,
    KIND_ADDENDUM,
    KIND_NEW_DEATHS,
    KIND_PACK,
    _case_line,
    _case_numbers,
    _pack_planned,
    meeting_key,
    pack_date,
)
from cdop.panel.report_files import pdf_filename, report_pdf
from cdop.store.db import unit_of_work
from cdop.store.models import (
    Case,
    CaseReport,
    MeetingAllocation,
    OutboxMessage,
    PanelMeeting,
    PanelMember,
)


def _member_key(meeting: PanelMeeting, member: PanelMember) -> str:
    return outbox.business_key(meeting_key(meeting.id), f"member-{member.id}", KIND_PACK, 1)


def plan_panel_papers(settings: Settings, today: dt.date, *, actor: str = ACTOR) -> dict[str, int]:
    """Queue the pack for every member of each meeting whose papers are due, and an
    addendum for each case allocated after its pack went. Safe to rerun."""
    packs = addenda = 0
    with unit_of_work(settings, actor) as uow:
        session = uow.session
        members = list(session.scalars(select(PanelMember).where(PanelMember.active).order_by(PanelMember.id)))
        meetings = [m for m in session.scalars(
            select(PanelMeeting).where(PanelMeeting.meets_on > today).order_by(PanelMeeting.meets_on))
            if pack_date(settings.policy, m.meets_on) <= today]
        for meeting in meetings:
            allocations = list(session.scalars(
                select(MeetingAllocation).where(MeetingAllocation.meeting_id == meeting.id)
                .order_by(MeetingAllocation.id)))
            planned = _pack_planned(session, meeting.id)
            for allocation in allocations:
                if allocation.pack is None:
                    allocation.pack = "addendum" if planned else "pack"
            in_pack = [a for a in allocations if a.pack == "pack"]
            if not in_pack and not planned:
                continue  # nothing on the agenda yet: the pack goes when a case is allocated
            numbers = _case_numbers(session, [a.case_id for a in in_pack])
            for member in members:
                _, created = outbox.enqueue(
                    uow, settings, key=_member_key(meeting, member), kind=KIND_PACK, to=[member.email],
                    subject=f"Child Death Overview Panel {meeting.meets_on.isoformat()}: agenda and papers",
                    business_date=today,
                    secure_route=settings.policy.is_secure_address(member.email),
                    params={"meeting_id": meeting.id, "member_id": member.id, "cases": numbers},
                )
                packs += created
            for allocation in (a for a in allocations if a.pack == "addendum"):
                [number] = _case_numbers(session, [allocation.case_id])
                for member in members:
                    if not settings.policy.is_secure_address(member.email):
                        continue  # the note they had says where the papers are
                    _, created = outbox.enqueue(
                        uow, settings,
                        key=outbox.business_key(number, f"member-{member.id}", KIND_ADDENDUM,
                                                meeting_key(meeting.id)),
                        kind=KIND_ADDENDUM, to=[member.email],
                        subject=f"Child Death Overview Panel {meeting.meets_on.isoformat()}: addendum, case {number}",
                        business_date=today, case_id=allocation.case_id, secure_route=True,
                        params={"meeting_id": meeting.id, "member_id": member.id, "cases": [number]},
                    )
                    addenda += created
            if allocations:
                uow.audit("panel_papers_planned", "panel_meeting", meeting.id,
                          cases=len(in_pack), addenda=sum(1 for a in allocations if a.pack == "addendum"))
        uow.commit()
    return {"packs": packs, "addenda": addenda}


def new_deaths_period(policy: Policy, today: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """(list day, first day, last day): the latest list day on or before today, and the
    seven days before it whose notifications it lists."""
    back = (today.weekday() - policy.panel_new_deaths_weekday) % 7
    list_day = today - dt.timedelta(days=back)
    return list_day, list_day - dt.timedelta(days=7), list_day - dt.timedelta(days=1)


def plan_new_deaths_list(settings: Settings, today: dt.date, *, actor: str = ACTOR) -> int:
    """Queue this week's list of newly notified deaths for each member on a secure route
    (once per member per week; no list in a week without a death). A run any day of the
    week still sends that week's list, so a day's outage loses nothing."""
    list_day, first, last = new_deaths_period(settings.policy, today)
    queued = 0
    with unit_of_work(settings, actor) as uow:
        # After weeks without a run, this list also carries the deaths of the weeks whose
        # list never went: it covers everything since the previous list day.
        previous = _previous_list_day(uow.session, list_day)
        catching_up = previous is not None and previous < first
        if catching_up:
            first = previous
        numbers = list(uow.session.scalars(
            select(Case.case_number).where(Case.notified_on >= first, Case.notified_on <= last)
            .order_by(Case.notified_on, Case.case_number)))
        if not numbers:
            return 0
        members = uow.session.scalars(select(PanelMember).where(PanelMember.active).order_by(PanelMember.id))
        for member in members:
            if not settings.policy.is_secure_address(member.email):
                continue
            _, created = outbox.enqueue(
                uow, settings,
                key=outbox.business_key(f"deaths-{list_day.isoformat()}", f"member-{member.id}", KIND_NEW_DEATHS, 1),
                kind=KIND_NEW_DEATHS, to=[member.email],
                # The list names no date but the list day: a date of birth can fall in
                # the week listed, never on the list day itself (it precedes notification).
                subject=f"Child Death Overview Panel: deaths notified in the week before {list_day.isoformat()}",
                business_date=today, secure_route=True,
                params={"member_id": member.id, "cases": numbers, "list_day": list_day.isoformat(),
                        "catching_up": catching_up},
            )
            queued += created
        uow.commit()
    return queued


def _previous_list_day(session: Session, list_day: dt.date) -> dt.date | None:
    """The list day of the latest new-deaths list queued before `list_day`, if any."""
    latest = session.scalar(
        select(func.max(OutboxMessage.business_key)).where(
            OutboxMessage.kind == KIND_NEW_DEATHS,
            OutboxMessage.business_key < f"deaths-{list_day.isoformat()}"))
    return dt.date.fromisoformat(latest.split("/")[0].removeprefix("deaths-")) if latest else None


def _gate(session: Session, case_numbers: Iterable[str]) -> Gate:
    identifiers: list = []
    for number in case_numbers:
        case = session.scalar(select(Case).where(Case.case_number == number))
        identifiers.extend(case_gate(session, case).identifiers)
    return Gate(tuple(identifiers))


def _pack_dates(session: Session, settings: Settings, meeting: PanelMeeting, numbers: list[str]) -> set:
    """The dates a pack carries as its own: the meeting's, and each attached report's
    (built, returns received or waived, processes concluded). One child's report, built
    on the day another child in the same pack died, names neither."""
    from cdop.panel.case_reports import report_policy

    dates = {meeting.meets_on}
    for number in numbers:
        case = session.scalar(select(Case).where(Case.case_number == number))
        for report in session.scalars(select(CaseReport).where(CaseReport.case_id == case.id)):
            dates |= report_policy(settings, case, report.built_on).allowed_dates
    return dates


def _base_context(settings: Settings) -> dict[str, Any]:
    return {"area_name": settings.policy.area_name, "office": settings.policy.office}


def _papers(session: Session, message: OutboxMessage, settings: Settings, template: str) -> Email:
    meeting = session.get(PanelMeeting, message.params["meeting_id"])
    member = session.get(PanelMember, message.params["member_id"])
    numbers = list(message.params.get("cases", []))
    context = _base_context(settings) | {
        "meeting": meeting, "member": member, "papers_on": message.business_date,
        "cases": [_case_line(session, n) for n in numbers],
    }
    gate = _gate(session, numbers)
    released = released_for_message(session, message)
    if not message.secure_route:
        # Not a secure route: no papers, no agenda; only where to get them.
        email = outbox.templated_email(message, settings, "panel_pack_note", context)
        gate_email(gate, email, f"{message.kind} note for meeting {meeting.id}", settings=settings,
                   released=released)
        return email
    # The reports go as approved: a replacement the coordinator undid on the check page
    # (a false alarm, with a reason) is in them as written, and is not asked about again.
    released |= undone_fingerprints(session, session.scalars(select(Case.id).where(Case.case_number.in_(numbers))))
    attachments = []
    for line in context["cases"]:
        case = session.scalar(select(Case).where(Case.case_number == line["case_number"]))
        report = session.scalar(select(CaseReport).where(
            CaseReport.case_id == case.id, CaseReport.version == line["report_version"]))
        attachments.append(Attachment(pdf_filename(case.case_number, report.version),
                                      report_pdf(settings, report), "application/pdf"))
    email = outbox.templated_email(message, settings, template, context, tuple(attachments))
    gate_email(gate, email, f"{message.kind} for meeting {meeting.id}", settings=settings,
               allowed_dates=_pack_dates(session, settings, meeting, numbers), released=released)
    return email


def compose_pack(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    return _papers(session, message, settings, "panel_pack")


def compose_addendum(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    return _papers(session, message, settings, "panel_addendum")


def compose_new_deaths(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    numbers = list(message.params["cases"])
    context = _base_context(settings) | {
        "member": session.get(PanelMember, message.params["member_id"]),
        "list_day": dt.date.fromisoformat(message.params["list_day"]),
        "catching_up": message.params.get("catching_up", False),
        "cases": [_case_line(session, n) for n in numbers],
    }
    email = outbox.templated_email(message, settings, "panel_new_deaths", context)
    gate_email(_gate(session, numbers), email, f"{message.kind} {message.params['list_day']}",
               settings=settings, released=released_for_message(session, message))
    return email
