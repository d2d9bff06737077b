"""The panel's side of the pages: upcoming meetings and reports awaiting the
coordinator's check."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.config import Settings
from cdop.store.db import unit_of_work
from cdop.store.models import (
    Case,
    CaseReport,
)
from cdop.store.statuses import ReportStatus
from cdop.views.paging import PAGE_SIZE, Page, page_number, paginate


def upcoming_meetings(settings: Settings, today: dt.date, *, limit: int = 6, past: int = 0) -> list[dict]:
    """The next meetings with their agendas, from the panel module's own views (issue 4):
    time, place, members, case numbers, age band, expected or not, report version,
    whether the papers went; with `past`, that many meetings held before today too
    (newest first, after the upcoming ones). One unit of work and two statements,
    however many meetings and cases."""
    from cdop.panel import meetings as panel

    with unit_of_work(settings) as uow:
        return panel.meetings_overview(uow.session, settings.policy, today=today, limit=limit, past=past)


def meetings_page(settings: Settings, today: dt.date, *, limit: int = 6,
                  past: int = 0) -> tuple[list[dict], list[dict]]:
    """What the meetings page shows: upcoming_meetings, and the active panel members a
    new meeting may invite; one unit of work, the same two statements."""
    from cdop.panel import meetings as panel

    with unit_of_work(settings) as uow:
        listed, members = panel.meetings_and_members(uow.session, settings.policy, today=today, limit=limit,
                                                     past=past)
    return listed, [m for m in members if m["active"]]


def reports_awaiting_check(session: Session, *, page: int = 1, size: int = PAGE_SIZE) -> Page:
    query = (
        select(CaseReport.id, Case.case_number, CaseReport.version, CaseReport.built_on)
        .join(Case, Case.id == CaseReport.case_id)
        .where(CaseReport.status == ReportStatus.AWAITING_CHECK)
        .order_by(CaseReport.built_on, Case.case_number)
    )
    rows, total = paginate(session, query, page, size)
    return Page(
        [{"id": i, "case_number": n, "version": v, "built_on": b} for i, n, v, b in rows],
        page_number(page),
        size,
        total,
    )


def approved_reports(session: Session, *, page: int = 1, size: int = PAGE_SIZE) -> Page:
    """Approved case reports, most recently decided first (what a panel member may read)."""
    query = (
        select(Case.case_number, CaseReport.version, CaseReport.decided_at)
        .join(Case, Case.id == CaseReport.case_id)
        .where(CaseReport.status == ReportStatus.APPROVED)
        .order_by(CaseReport.decided_at.desc(), Case.case_number)
    )
    rows, total = paginate(session, query, page, size)
    return Page(
        [{"case_number": n, "version": v, "decided_at": d} for n, v, d in rows],
        page_number(page),
        size,
        total,
    )
