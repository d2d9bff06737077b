"""The rules' Python and SQL forms give the same answer, on SQLite and PostgreSQL.

Each rule in cdop.rules is written twice: once in Python for a loaded case or request
(`case_stage`, `case_ready_since`, `needs_report`, `is_overdue`, `is_due_for_chase`) and
once in SQL for a query over many (`stage_expression`, `stage_predicate`,
`ready_since_expression`, `needs_report_predicate`, `overdue_predicate`,
`due_for_chase_predicate`, and `case_lacks_review_meeting` /
`lacks_review_meeting_predicate`). A few hundred cases in every state are written straight
through the models, then every case and request is judged both ways.

On a mismatch the failure lists the facts of each case that differs (statuses and
dates, never an identifier).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cdop.config import Settings
from cdop.rules.chase_ladder import due_for_chase_predicate, is_due_for_chase
from cdop.rules.overdue import is_overdue, overdue_predicate
from cdop.rules.review_meeting import case_lacks_review_meeting, lacks_review_meeting_predicate
from cdop.rules.stages import (
    InvestigationFacts,
    RequestFacts,
    Stage,
    case_ready_since,
    case_stage,
    derive_stage,
    needs_report,
    needs_report_predicate,
    ready_since_expression,
    stage_expression,
    stage_predicate,
)
from cdop.store.db import unit_of_work
from cdop.store.models import (
    Agency,
    AgencyRequest,
    Case,
    CaseReport,
    Investigation,
    MeetingAllocation,
    PanelMeeting,
)

TODAY = dt.date(2026, 6, 15)
BEFORE = TODAY - dt.timedelta(days=3)
AFTER = TODAY + dt.timedelta(days=4)
CLOSED_ON = TODAY - dt.timedelta(days=10)
# Dates a request came back or was waived, and a process concluded: ties between a
# return and a conclusion (MAY20) and each side later than the other.
MAR01, APR10, MAY20, JUN01 = dt.date(2026, 3, 1), dt.date(2026, 4, 10), dt.date(2026, 5, 20), dt.date(2026, 6, 1)

REQUEST_STATUSES = ("pending", "sent", "returned", "waived")
INVESTIGATION_STATUSES = ("not_started", "in_progress", "concluded", "not_applicable")
# A Child Death Review Meeting second: the review-meeting flag sees it in every status.
INVESTIGATION_KINDS = ("post_mortem", "cdrm")
PER_STAGE = 64
SEED = 20260615


@dataclasses.dataclass(frozen=True)
class RequestVariant:
    status: str
    due_on: dt.date | None = None
    next_chase_on: dt.date | None = None
    returned_on: dt.date | None = None
    waived_on: dt.date | None = None


@dataclasses.dataclass(frozen=True)
class InvestigationVariant:
    status: str
    concluded_on: dt.date | None = None


DUE = (None, BEFORE, TODAY, AFTER)
CHASE = (None, BEFORE, TODAY, AFTER)

# Every status with its dates varied; stale chase dates left on requests no longer
# sent check that the SQL tests the status, not only the date.
REQUEST_VARIANTS: dict[str, list[RequestVariant]] = {
    "pending": [RequestVariant("pending", due, chase) for due in (None, BEFORE) for chase in (None, BEFORE)],
    "sent": [RequestVariant("sent", due, chase) for due in DUE for chase in CHASE],
    "returned": [
        RequestVariant("returned", due, chase, returned_on=returned)
        for returned in (MAR01, MAY20, None)
        for due in (BEFORE, AFTER)
        for chase in (None, BEFORE)
    ],
    "waived": [
        RequestVariant("waived", due, chase, waived_on=waived)
        for waived in (APR10, MAY20, None)
        for due in (BEFORE, TODAY)
        for chase in (None, TODAY)
    ],
}

INVESTIGATION_VARIANTS: dict[str, list[InvestigationVariant]] = {
    "not_started": [InvestigationVariant("not_started")],
    "in_progress": [InvestigationVariant("in_progress"), InvestigationVariant("in_progress", MAR01)],
    "concluded": [InvestigationVariant("concluded", d) for d in (MAR01, MAY20, JUN01, None)],
    "not_applicable": [InvestigationVariant("not_applicable"), InvestigationVariant("not_applicable", JUN01)],
}


@dataclasses.dataclass(frozen=True)
class CaseShape:
    closed: bool
    requests: tuple[str, ...]
    investigations: tuple[str, ...]
    has_report: bool
    allocated: bool = False


def case_shapes() -> list[CaseShape]:
    """Closed/open x 0-3 request statuses x 0-2 process statuses x report or not x on a
    meeting's agenda or not (order within a case does not matter to any rule): a seeded sample of PER_STAGE shapes of
    each stage, so the rarer stages are as well covered as the common ones."""
    request_sets = [c for n in range(4) for c in itertools.combinations_with_replacement(REQUEST_STATUSES, n)]
    process_sets = [c for n in range(3) for c in itertools.combinations_with_replacement(INVESTIGATION_STATUSES, n)]
    by_stage: dict[Stage, list[CaseShape]] = {}
    for closed, requests, processes, report, allocated in itertools.product(
        (False, True), request_sets, process_sets, (False, True), (False, True)
    ):
        stage = derive_stage(
            [RequestFacts(s) for s in requests],
            [InvestigationFacts(k, s) for k, s in zip(INVESTIGATION_KINDS, processes, strict=False)],
            CLOSED_ON if closed else None,
            allocated,
        )
        by_stage.setdefault(stage, []).append(CaseShape(closed, requests, processes, report, allocated))
    rng = random.Random(SEED)
    return [
        shape
        for stage in Stage
        for shape in rng.sample(by_stage[stage], min(PER_STAGE, len(by_stage[stage])))
    ]


def build_cases(settings: Settings) -> None:
    """Write the sample; each status takes its date variants in turn so all appear."""
    request_cycle = {s: itertools.cycle(v) for s, v in REQUEST_VARIANTS.items()}
    process_cycle = {s: itertools.cycle(v) for s, v in INVESTIGATION_VARIANTS.items()}
    with unit_of_work(settings, "test") as uow:
        s = uow.session
        agency_ids = list(s.scalars(select(Agency.id).order_by(Agency.id).limit(3)))
        assert len(agency_ids) == 3
        reported: list[Case] = []
        allocated: list[Case] = []
        meeting = PanelMeeting(meets_on=TODAY, kind="general", capacity=8)
        s.add(meeting)
        for n, shape in enumerate(case_shapes(), start=1):
            case = Case(
                case_number=f"CDOP-2026-{n:04d}",
                forenames=f"Rulechild{n:03d}",
                surname="Fixture",
                date_of_birth="2025-01-01",
                identity_index=f"rules-{n}",
                date_of_death=dt.date(2026, 1, 1),
                age_at_death_days=365,
                age_band="1-4 years",
                sex="female",
                ethnicity="not_stated",
                place_of_death="hospital",
                death_expected=n % 3 == 0,
                notified_on=dt.date(2026, 1, 2),
                closed_on=CLOSED_ON if shape.closed else None,
            )
            for agency_id, status in zip(agency_ids, shape.requests, strict=False):
                v = next(request_cycle[status])
                case.requests.append(
                    AgencyRequest(
                        agency_id=agency_id, status=v.status, due_on=v.due_on,
                        requested_on=None if v.status == "pending" else dt.date(2026, 1, 5),
                        next_chase_on=v.next_chase_on, returned_on=v.returned_on, waived_on=v.waived_on,
                    )
                )
            for kind, status in zip(INVESTIGATION_KINDS, shape.investigations, strict=False):
                v = next(process_cycle[status])
                case.investigations.append(Investigation(kind=kind, status=v.status, concluded_on=v.concluded_on))
            s.add(case)
            if shape.has_report:
                reported.append(case)
            if shape.allocated:
                allocated.append(case)
        s.flush()
        s.add_all(MeetingAllocation(meeting_id=meeting.id, case_id=c.id, allocated_on=BEFORE) for c in allocated)
        s.add_all(CaseReport(case_id=c.id, version=1, status="awaiting_check", built_on=TODAY) for c in reported)
        uow.commit()


@dataclasses.dataclass
class Loaded:
    settings: Settings
    cases: list[Case]
    reported: set[int]

    def requests(self) -> Iterator[tuple[AgencyRequest, Case]]:
        for case in self.cases:
            for request in case.requests:
                yield request, case


@pytest.fixture
def world(agencies) -> Loaded:
    """The sample written to a fresh database, then read back in a new session."""
    build_cases(agencies)
    with unit_of_work(agencies) as uow:
        cases = list(
            uow.session.scalars(
                select(Case)
                .options(selectinload(Case.requests), selectinload(Case.investigations),
                         selectinload(Case.allocation))
                .order_by(Case.id)
            )
        )
        reported = set(uow.session.scalars(select(CaseReport.case_id)))
        # Detached as loaded (the unit of work's rollback would expire them) and the
        # session closed before the tests query: SQLite transactions here begin
        # IMMEDIATE, so a session left open would lock the others out.
        uow.session.expunge_all()
    return Loaded(agencies, cases, reported)


def select_ids(settings: Settings, query) -> set[int]:
    with unit_of_work(settings) as uow:
        return set(uow.session.scalars(query))


# ------------------------------------------------------------------ readable failures


def when(day: dt.date | None) -> str:
    if day is None:
        return "none"
    offset = (day - TODAY).days
    return f"{day.isoformat()} (today{offset:+d})" if offset else f"{day.isoformat()} (today)"


def describe_request(r: AgencyRequest) -> str:
    parts = [f"due {when(r.due_on)}", f"chase {when(r.next_chase_on)}"]
    if r.returned_on is not None or r.status == "returned":
        parts.append(f"returned {when(r.returned_on)}")
    if r.waived_on is not None or r.status == "waived":
        parts.append(f"waived {when(r.waived_on)}")
    return f"{r.status}[{', '.join(parts)}]"


def describe_case(case: Case, reported: set[int]) -> str:
    requests = "; ".join(describe_request(r) for r in case.requests) or "none"
    processes = "; ".join(
        f"{i.kind} {i.status}[concluded {when(i.concluded_on)}]" for i in case.investigations
    ) or "none"
    return (
        f"{'closed ' + when(case.closed_on) if case.closed_on else 'open'} | requests: {requests}"
        f" | processes: {processes} | report: {'yes' if case.id in reported else 'no'}"
        f" | on an agenda: {'yes' if case.allocation is not None else 'no'}"
    )


def report(title: str, lines: list[str], limit: int = 25) -> str:
    shown = lines[:limit]
    more = [f"... and {len(lines) - limit} more"] if len(lines) > limit else []
    return "\n".join([f"{title} ({len(lines)}; today is {TODAY.isoformat()}):", *shown, *more])


def ready_source(case: Case) -> str:
    returned = [r.returned_on or r.waived_on for r in case.requests]
    concluded = [i.concluded_on for i in case.investigations if i.status == "concluded"]
    r = max((d for d in returned if d), default=None)
    p = max((d for d in concluded if d), default=None)
    if r is None or p is None:
        return {(True, True): "none", (False, True): "request only", (True, False): "process only"}[
            (r is None, p is None)
        ]
    return "request later" if r > p else "process later" if p > r else "same day"


# ------------------------------------------------------------------------------ tests


def test_the_sample_has_every_stage(world):
    counts = Counter(case_stage(c) for c in world.cases)
    print("cases per stage:", {s.value: counts[s] for s in Stage})
    assert len(world.cases) == len(case_shapes())
    assert set(counts) == set(Stage), f"stages missing from the sample: {set(Stage) - set(counts)}"
    # Both answers of each request rule occur, and each branch of the ready-date CASE:
    # no date, only a return, only a conclusion, the return later, the conclusion
    # later, the two on the same day.
    overdue = Counter(is_overdue(r.status, r.due_on, c.closed_on, TODAY) for r, c in world.requests())
    chase = Counter(is_due_for_chase(r.status, r.next_chase_on, TODAY) for r, c in world.requests())
    print("requests per status:", dict(Counter(r.status for r, _ in world.requests())),
          "overdue:", overdue[True], "due for chase:", chase[True])
    assert overdue[True] and overdue[False] and chase[True] and chase[False]
    assert any(needs_report(case_stage(c), c.id in world.reported) for c in world.cases)
    assert any(case_stage(c) is Stage.READY and c.id in world.reported for c in world.cases)
    assert {ready_source(c) for c in world.cases} == {
        "none", "request only", "process only", "request later", "process later", "same day"
    }


def test_stage_expression_matches_case_stage(world):
    with unit_of_work(world.settings) as uow:
        sql = {i: v for i, v in uow.session.execute(select(Case.id, stage_expression()))}
    mismatches = [
        f"python={case_stage(c).value} sql={sql.get(c.id)}: {describe_case(c, world.reported)}"
        for c in world.cases
        if sql.get(c.id) != case_stage(c).value
    ]
    assert not mismatches, report("stage_expression() differs from case_stage()", mismatches)


def test_stage_predicate_matches_case_stage(world):
    mismatches = []
    for stage in Stage:
        selected = select_ids(world.settings, select(Case.id).where(stage_predicate(stage)))
        mismatches += [
            f"stage_predicate({stage.value!r}) {'holds' if c.id in selected else 'does not hold'}"
            f", python stage {case_stage(c).value}: {describe_case(c, world.reported)}"
            for c in world.cases
            if (c.id in selected) != (case_stage(c) is stage)
        ]
    assert not mismatches, report("stage_predicate() differs from case_stage()", mismatches)


def test_ready_since_expression_matches_case_ready_since(world):
    with unit_of_work(world.settings) as uow:
        sql = {i: v for i, v in uow.session.execute(select(Case.id, ready_since_expression()))}
    mismatches = [
        f"python={when(case_ready_since(c))} sql={sql.get(c.id)!r}: {describe_case(c, world.reported)}"
        for c in world.cases
        if sql.get(c.id) != case_ready_since(c)
    ]
    assert not mismatches, report("ready_since_expression() differs from case_ready_since()", mismatches)


def test_needs_report_predicate_matches_needs_report(world):
    selected = select_ids(world.settings, select(Case.id).where(needs_report_predicate()))
    expected = {c.id for c in world.cases if needs_report(case_stage(c), c.id in world.reported)}
    mismatches = [
        f"{'selected' if c.id in selected else 'not selected'}, python stage "
        f"{case_stage(c).value}: {describe_case(c, world.reported)}"
        for c in world.cases
        if (c.id in selected) != (c.id in expected)
    ]
    assert not mismatches, report("needs_report_predicate() differs from needs_report()", mismatches)


def test_overdue_predicate_matches_is_overdue(world):
    selected = select_ids(
        world.settings,
        select(AgencyRequest.id)
        .join(Case, AgencyRequest.case_id == Case.id)
        .where(overdue_predicate(TODAY)),
    )
    mismatches = [
        f"python={is_overdue(r.status, r.due_on, c.closed_on, TODAY)} sql={r.id in selected}: "
        f"{describe_request(r)}, on the case {describe_case(c, world.reported)}"
        for r, c in world.requests()
        if (r.id in selected) != is_overdue(r.status, r.due_on, c.closed_on, TODAY)
    ]
    assert not mismatches, report("overdue_predicate() differs from is_overdue()", mismatches)


def test_due_for_chase_predicate_matches_is_due_for_chase(world):
    selected = select_ids(
        world.settings,
        select(AgencyRequest.id)
        .join(Case, AgencyRequest.case_id == Case.id)
        .where(due_for_chase_predicate(TODAY)),
    )
    mismatches = [
        f"python={is_due_for_chase(r.status, r.next_chase_on, TODAY)} sql={r.id in selected}: "
        f"{describe_request(r)}, on the case {describe_case(c, world.reported)}"
        for r, c in world.requests()
        if (r.id in selected) != is_due_for_chase(r.status, r.next_chase_on, TODAY)
    ]
    assert not mismatches, report("due_for_chase_predicate() differs from is_due_for_chase()", mismatches)


def test_review_meeting_flag_predicate_matches_the_python_rule(world):
    selected = select_ids(world.settings, select(Case.id).where(lacks_review_meeting_predicate()))
    flagged = {c.id for c in world.cases if case_lacks_review_meeting(c)}
    # Both answers occur, for expected and unexpected deaths alike.
    assert flagged and len(flagged) < len(world.cases)
    assert any(not c.death_expected and c.id not in flagged for c in world.cases)
    mismatches = [
        f"python={c.id in flagged} sql={c.id in selected} expected={c.death_expected}: "
        f"{describe_case(c, world.reported)}"
        for c in world.cases
        if (c.id in selected) != (c.id in flagged)
    ]
    assert not mismatches, report("lacks_review_meeting_predicate() differs from the Python rule", mismatches)
