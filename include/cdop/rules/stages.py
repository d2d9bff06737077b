"""When a case is at which stage, and since when it has been ready: derived from facts,
never typed in.

Each rule is here once in Python (for a case already loaded) and once in SQL (for a
query over many cases). The SQL is built from the same five named conditions that
`derive_stage` tests, in the same order, and `tests/integration/test_rules_sql.py`
holds the two forms to the same answer on SQLite and PostgreSQL for cases in every
state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, select

from cdop.store.models import AgencyRequest, Case, CaseReport, Investigation, MeetingAllocation
from cdop.store.statuses import InvestigationStatus, RequestStatus


class Stage(StrEnum):
    NOTIFIED = "notified"
    GATHERING = "gathering_information"
    WAITING = "waiting_on_investigations"
    READY = "ready_for_panel"
    ALLOCATED = "allocated_to_meeting"
    CLOSED = "closed"


STAGE_ORDER = (Stage.NOTIFIED, Stage.GATHERING, Stage.WAITING, Stage.READY, Stage.ALLOCATED, Stage.CLOSED)
# Every return in and every process concluded: before and after a meeting's agenda.
READY_STAGES = (Stage.READY, Stage.ALLOCATED)
OPEN_REQUEST = (RequestStatus.PENDING, RequestStatus.SENT)
DONE_REQUEST = (RequestStatus.RETURNED, RequestStatus.WAIVED)
OPEN_INVESTIGATION = (InvestigationStatus.NOT_STARTED, InvestigationStatus.IN_PROGRESS)


@dataclass(frozen=True)
class RequestFacts:
    status: str
    returned_on: dt.date | None = None
    waived_on: dt.date | None = None


@dataclass(frozen=True)
class InvestigationFacts:
    kind: str
    status: str
    concluded_on: dt.date | None = None


# ------------------------------------------------------------------------------ Python


def derive_stage(
    requests: Iterable[RequestFacts],
    investigations: Iterable[InvestigationFacts],
    closed_on: dt.date | None = None,
    allocated: bool = False,
) -> Stage:
    """notified -> gathering information -> waiting on investigations -> ready for panel
    -> allocated to a meeting -> closed.

    Ready means every agency request is returned or waived and every applicable
    process has concluded. A case with no request sent yet is still `notified`. A ready
    case on a meeting's agenda (`allocated`) is no longer waiting for one.
    """
    if closed_on is not None:
        return Stage.CLOSED
    requests = list(requests)
    investigations = list(investigations)
    if not any(r.status != RequestStatus.PENDING for r in requests):
        return Stage.NOTIFIED
    if any(r.status in OPEN_REQUEST for r in requests):
        return Stage.GATHERING
    if any(i.status in OPEN_INVESTIGATION for i in investigations):
        return Stage.WAITING
    if allocated:
        return Stage.ALLOCATED
    return Stage.READY


def ready_since(
    requests: Iterable[RequestFacts], investigations: Iterable[InvestigationFacts]
) -> dt.date | None:
    """The date the last outstanding fact arrived, for a case that is ready."""
    dates = [r.returned_on or r.waived_on for r in requests]
    dates += [i.concluded_on for i in investigations if i.status == InvestigationStatus.CONCLUDED]
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def case_facts(case: Case) -> tuple[list[RequestFacts], list[InvestigationFacts]]:
    """The facts of a loaded case (its requests and investigations)."""
    return (
        [RequestFacts(r.status, r.returned_on, r.waived_on) for r in case.requests],
        [InvestigationFacts(i.kind, i.status, i.concluded_on) for i in case.investigations],
    )


def case_stage(case: Case) -> Stage:
    requests, investigations = case_facts(case)
    return derive_stage(requests, investigations, case.closed_on, case.allocation is not None)


def case_ready_since(case: Case) -> dt.date | None:
    return ready_since(*case_facts(case))


# --------------------------------------------------------------------------------- SQL


def _request_exists(*where) -> ColumnElement[bool]:
    return exists().where(AgencyRequest.case_id == Case.id, *where)


def _conditions() -> dict[str, ColumnElement[bool]]:
    """The facts `derive_stage` tests, as correlated EXISTS tests on Case: a planner runs
    them on the (case_id) indexes."""
    return {
        "closed": Case.closed_on.is_not(None),
        "sent_any": _request_exists(AgencyRequest.status != RequestStatus.PENDING),
        "open_request": _request_exists(AgencyRequest.status.in_(OPEN_REQUEST)),
        "open_process": exists().where(Investigation.case_id == Case.id,
                                       Investigation.status.in_(OPEN_INVESTIGATION)),
        "allocated": exists().where(MeetingAllocation.case_id == Case.id),
    }


def stage_expression() -> ColumnElement[str]:
    """`derive_stage` as one SQL expression over Case (for counts and lists)."""
    c = _conditions()
    return case(
        (c["closed"], literal(Stage.CLOSED.value)),
        (~c["sent_any"], literal(Stage.NOTIFIED.value)),
        (c["open_request"], literal(Stage.GATHERING.value)),
        (c["open_process"], literal(Stage.WAITING.value)),
        (c["allocated"], literal(Stage.ALLOCATED.value)),
        else_=literal(Stage.READY.value),
    ).label("stage")


def stage_predicate(stage: Stage | str) -> ColumnElement[bool]:
    """`derive_stage(...) == stage` as a WHERE clause (each branch of the CASE above,
    with the earlier branches negated)."""
    c = _conditions()
    is_open = ~c["closed"]
    return {
        Stage.CLOSED: c["closed"],
        Stage.NOTIFIED: and_(is_open, ~c["sent_any"]),
        Stage.GATHERING: and_(is_open, c["sent_any"], c["open_request"]),
        Stage.WAITING: and_(is_open, c["sent_any"], ~c["open_request"], c["open_process"]),
        Stage.READY: and_(is_open, c["sent_any"], ~c["open_request"], ~c["open_process"], ~c["allocated"]),
        Stage.ALLOCATED: and_(is_open, c["sent_any"], ~c["open_request"], ~c["open_process"], c["allocated"]),
    }[Stage(stage)]


def ready_predicate() -> ColumnElement[bool]:
    """`derive_stage(...) in READY_STAGES`: every return in and every process concluded,
    on a meeting's agenda or not yet, and open."""
    c = _conditions()
    return and_(~c["closed"], c["sent_any"], ~c["open_request"], ~c["open_process"])


def ready_since_expression() -> ColumnElement[dt.date]:
    """`ready_since` in SQL: the latest return, waiver or conclusion of the case."""
    latest_request = (
        select(func.max(func.coalesce(AgencyRequest.returned_on, AgencyRequest.waived_on)))
        .where(AgencyRequest.case_id == Case.id)
        .scalar_subquery()
    )
    latest_process = (
        select(func.max(Investigation.concluded_on))
        .where(Investigation.case_id == Case.id, Investigation.status == InvestigationStatus.CONCLUDED)
        .scalar_subquery()
    )
    # COALESCE on each side: GREATEST/MAX of NULL is NULL on SQLite.
    return case(
        (latest_request.is_(None), latest_process),
        (latest_process.is_(None), latest_request),
        (latest_request >= latest_process, latest_request),
        else_=latest_process,
    )


# ------------------------------------------------------------------- ready for a report


def needs_report(stage: Stage, has_report: bool) -> bool:
    """A case gets its first case report once it is ready for panel."""
    return stage is Stage.READY and not has_report


def needs_report_predicate() -> ColumnElement[bool]:
    """`needs_report` in SQL."""
    return and_(stage_predicate(Stage.READY), ~exists().where(CaseReport.case_id == Case.id))
