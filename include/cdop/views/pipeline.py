"""The pipeline page: how many cases are at each stage, and the cases at one stage
(counts and lists by the stage rule's SQL form, so the cost follows the page)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdop.rules.review_meeting import lacks_review_meeting_predicate
from cdop.rules.stages import (
    DONE_REQUEST,
    OPEN_INVESTIGATION,
    STAGE_ORDER,
    Stage,
    stage_expression,
    stage_predicate,
)
from cdop.store.models import (
    AgencyRequest,
    Case,
    Investigation,
)
from cdop.views.paging import PAGE_SIZE, Page, page_number

STAGE_LABELS = {
    Stage.NOTIFIED: "Notified",
    Stage.GATHERING: "Gathering information",
    Stage.WAITING: "Waiting on investigations",
    Stage.READY: "Ready for panel",
    Stage.ALLOCATED: "Allocated to a meeting",
    Stage.CLOSED: "Closed",
}


def stage_counts(session: Session) -> dict[str, int]:
    """How many cases are at each stage (every stage present, zero if none).

    The stage rule runs over the open cases only: a closed case's stage is its closed_on
    alone (the rule's first branch, `stage_predicate(CLOSED)`), so the closed -- most of
    a decade's caseload -- are counted from the index on closed_on without a look at
    their requests (still one index entry each: a count is linear in what it counts)."""
    stage, closed = stage_expression(), stage_predicate(Stage.CLOSED)
    query = select(stage, func.count(Case.id)).where(~closed).group_by(stage)
    counts = {s.value: 0 for s in STAGE_ORDER}
    counts.update({name: n for name, n in session.execute(query)})
    counts[Stage.CLOSED.value] = session.scalar(select(func.count()).select_from(Case).where(closed)) or 0
    return counts


def cases_at_stage(
    session: Session, stage: str, today: dt.date, *, page: int = 1, size: int = PAGE_SIZE,
    total: int | None = None,
) -> Page:
    """The cases at one stage, oldest notification first, each with its age band, whether
    the death was expected, and the review-meeting flag (cdop.rules.review_meeting).
    `total`: how many cases are at the stage, when the caller has just counted them
    (`stage_counts`), so the stage rule is not run over every case a second time."""
    if stage not in {s.value for s in STAGE_ORDER}:
        return Page([], page_number(page), size, 0)
    numbers = (
        select(Case.id, Case.case_number, Case.notified_on, Case.age_band, Case.death_expected,
               lacks_review_meeting_predicate().label("no_review_meeting"))
        .where(stage_predicate(stage))
        .order_by(Case.notified_on, Case.case_number)
    )
    if total is None:
        total = session.scalar(select(func.count()).select_from(numbers.order_by(None).subquery())) or 0
    window = numbers.limit(size).offset((page_number(page) - 1) * size).subquery("page")

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
        window.c.age_band,
        window.c.death_expected,
        window.c.no_review_meeting,
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
                "age_band": band,
                "expected": bool(expected),
                "expected_label": "Expected" if expected else "Unexpected",
                "no_review_meeting": bool(flag),
            }
            for number, notified, done, requested, open_inv, band, expected, flag in rows
        ],
        page_number(page),
        size,
        total,
    )


def case_list(session: Session, *, stage: str | None = None, open_only: bool | None = None,
              page: int = 1, size: int = PAGE_SIZE) -> Page:
    """Cases newest notification first, optionally at one stage and/or only open
    (`open_only=True`) or only closed (`False`), a page at a time: case number, stage,
    dates, age band, expected or unexpected and the review-meeting flag (no identifier)."""
    query = select(Case.id)
    if stage is not None:
        query = query.where(stage_predicate(stage))
    if open_only is True:
        query = query.where(Case.closed_on.is_(None))
    elif open_only is False:
        query = query.where(Case.closed_on.is_not(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    number = page_number(page)
    # The page's cases first (in notification order, from the index on it), then the stage
    # rule for those rows only: asked in one SELECT, a planner may hash the rule's
    # subqueries over every request to answer a page of 25.
    newest = (Case.notified_on.desc(), Case.case_number.desc())
    window = query.order_by(*newest).limit(size).offset((number - 1) * size).subquery("page")
    rows = session.execute(
        select(Case.case_number, stage_expression(), Case.notified_on, Case.closed_on, Case.age_band,
               Case.death_expected, lacks_review_meeting_predicate().label("no_review_meeting"))
        .join(window, window.c.id == Case.id)
        .order_by(*newest)
    ).all()
    return Page(
        [{"case_number": n, "stage": st, "stage_label": STAGE_LABELS[Stage(st)], "notified_on": notified,
          "closed_on": closed, "age_band": band, "expected": bool(expected),
          "expected_label": "Expected" if expected else "Unexpected", "no_review_meeting": bool(flag)}
         for n, st, notified, closed, band, expected, flag in rows],
        number, size, total,
    )


def stage_of_each_case(session: Session) -> dict[str, str]:
    """case number -> stage from the SQL expression (for tests and the benchmark)."""
    return dict(session.execute(select(Case.case_number, stage_expression())).all())
