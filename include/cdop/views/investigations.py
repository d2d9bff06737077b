"""Cases waiting only on parallel processes (inquest, police, CSPR...): how many wait on
each, and the paginated list."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdop.rules.stages import (
    OPEN_INVESTIGATION,
    Stage,
    stage_predicate,
)
from cdop.store.models import (
    Case,
    Investigation,
)
from cdop.taxonomy import taxonomy
from cdop.views.paging import PAGE_SIZE, Page, page_number, paginate


def _waiting_cases():
    return select(Case.id).where(stage_predicate(Stage.WAITING))


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
    by_process: list[dict] | None = None,
) -> Page:
    """Each open process of a case that waits only on investigations, longest wait first.
    The wait runs from the process's start, or (not started) from the case's notification.
    `by_process`: `waiting_by_process`'s answer, when the caller has it: the list's total
    is its sum (or the one kind's count), so the stage rule is not run a second time."""
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
    total = None if by_process is None else sum(
        p["cases"] for p in by_process if not kind or p["kind"] == kind)
    rows, total = paginate(session, query, page, size, total=total)
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
    return Page(out, page_number(page), size, total)
