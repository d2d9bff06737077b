"""Overdue returns: by agency, and the paginated list with each request's place on the
chase ladder."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdop.config import Policy
from cdop.rules.chase_ladder import ladder_label
from cdop.rules.overdue import overdue_predicate
from cdop.rules.workdays import WorkingCalendar
from cdop.store.models import (
    Agency,
    AgencyRequest,
    Case,
)
from cdop.views.paging import PAGE_SIZE, Page, page_number, paginate


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
        .where(overdue_predicate(today))
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
        .where(overdue_predicate(today))
        .order_by(AgencyRequest.due_on, Case.case_number, Agency.code)
    )
    if agency:
        query = query.where(Agency.code == agency.strip().upper())
    rows, total = paginate(session, query, page, size)
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
        page_number(page),
        size,
        total,
    )
