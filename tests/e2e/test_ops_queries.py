"""The operations read models (cdop.views.operations) on SQLite and PostgreSQL, over the demo
caseload made through the coordinator's own services."""

from __future__ import annotations

import collections
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cdop.intake.investigations import record_investigation
from cdop.requests.returns import record_return
from cdop.rules.chase_ladder import ladder_label
from cdop.rules.stages import STAGE_ORDER, case_stage
from cdop.rules.workdays import WorkingCalendar
from cdop.store.db import unit_of_work
from cdop.store.models import (
    AgencyRequest,
    AuditEvent,
    Case,
    MeetingAllocation,
    PanelMeeting,
)
from cdop.views import cases, investigations, overdue, pipeline
from cdop.views import outbox as outbox_view
from cdop.views import panel as panel_view

TODAY = dt.date(2026, 3, 2)
LATER = dt.date(2026, 4, 20)  # far enough on that requests sent in the demo are overdue


@pytest.fixture
def demo(settings, demo_copy):
    demo_copy(settings, TODAY)
    with unit_of_work(settings) as uow:
        # One closed case, and one waived request, so every branch of the stage rule is used.
        first = uow.session.scalar(select(Case).order_by(Case.id))
        first.closed_on = TODAY
        uow.commit()
    return settings


def _derived_stages(session) -> dict[str, str]:
    cases = session.scalars(
        select(Case).options(selectinload(Case.requests), selectinload(Case.investigations))
    )
    return {c.case_number: case_stage(c).value for c in cases}


def test_sql_stage_is_the_domain_rule(demo):
    with unit_of_work(demo) as uow:
        derived = _derived_stages(uow.session)
        assert pipeline.stage_of_each_case(uow.session) == derived
        counts = pipeline.stage_counts(uow.session)
    expected = collections.Counter(derived.values())
    assert {k: v for k, v in counts.items() if v} == dict(expected)
    # The demo spans every stage.
    assert all(counts[s.value] > 0 for s in STAGE_ORDER)


def test_case_list_pages_carry_the_domain_rules_stage_newest_first(demo):
    """The case list takes a page of cases first and runs the stage rule on those rows
    only: each row's stage is still the domain rule's, the pages are newest notification
    first without overlap, and each filter's total is its rows."""
    with unit_of_work(demo) as uow:
        s = uow.session
        derived = _derived_stages(s)
        notified = dict(s.execute(select(Case.case_number, Case.notified_on)).all())
        closed = set(s.scalars(select(Case.case_number).where(Case.closed_on.is_not(None))))
        for filters in ({}, {"open_only": True}, {"open_only": False},
                        *({"stage": st.value} for st in STAGE_ORDER)):
            everything = pipeline.case_list(s, size=10_000, **filters)
            pages = range(1, everything.total // 40 + 2)
            paged = [row for number in pages for row in pipeline.case_list(s, page=number, size=40, **filters).rows]
            assert [r["case_number"] for r in paged] == [r["case_number"] for r in everything.rows], filters
            assert everything.total == len(everything.rows), filters
            assert all(r["stage"] == derived[r["case_number"]] for r in everything.rows), filters
            order = [(notified[r["case_number"]], r["case_number"]) for r in everything.rows]
            assert order == sorted(order, reverse=True), filters
        assert {r["case_number"] for r in pipeline.case_list(s, size=10_000).rows} == set(derived)
        assert {r["case_number"] for r in pipeline.case_list(s, size=10_000, open_only=False).rows} == closed
        assert closed


def test_cases_at_stage_paginate_without_overlap(demo):
    with unit_of_work(demo) as uow:
        stage = "gathering_information"
        total = pipeline.stage_counts(uow.session)[stage]
        seen = []
        for number in range(1, 10):
            page = pipeline.cases_at_stage(uow.session, stage, TODAY, page=number, size=3)
            assert page.total == total
            seen += [r["case_number"] for r in page.rows]
            if not page.has_next:
                break
        assert len(seen) == len(set(seen)) == total
        derived = _derived_stages(uow.session)
    assert all(derived[n] == stage for n in seen)


def test_overdue_returns_by_agency_in_working_days(demo):
    calendar = WorkingCalendar("ENG")
    with unit_of_work(demo) as uow:
        agencies = overdue.overdue_by_agency(uow.session, LATER, calendar)
        rows = overdue.overdue_returns(uow.session, LATER, calendar, demo.policy, size=1000)
        open_sent = uow.session.execute(
            select(Case.case_number, AgencyRequest.due_on)
            .join(Case)
            .where(AgencyRequest.status == "sent", AgencyRequest.due_on < LATER,
                   Case.closed_on.is_(None))
        ).all()
    assert rows.total == len(open_sent) > 0
    assert sum(a["overdue"] for a in agencies) == rows.total
    for row in rows.rows:
        assert row["working_days_overdue"] == calendar.between(row["due_on"], LATER) > 0
        # The demo chases on the ladder's dates: each row names the step its request reached.
        assert row["ladder"] == ladder_label(demo.policy, row["ladder_step"])
    assert {r["ladder_step"] for r in rows.rows} - {0}, "the demo's overdue returns were chased"
    # Longest overdue first.
    assert [r["due_on"] for r in rows.rows] == sorted(r["due_on"] for r in rows.rows)
    one = agencies[0]["agency"]
    with unit_of_work(demo) as uow:
        filtered = overdue.overdue_returns(uow.session, LATER, calendar, demo.policy, agency=one.lower())
    assert filtered.total == agencies[0]["overdue"]
    assert {r["agency"] for r in filtered.rows} == {one}


def test_a_recorded_return_leaves_the_overdue_list(demo):
    calendar = WorkingCalendar("ENG")
    with unit_of_work(demo) as uow:
        before = overdue.overdue_returns(uow.session, LATER, calendar, demo.policy, size=1000)
    row = before.rows[0]
    record_return(demo, row["case_number"], row["agency"], received_on=LATER, today=LATER)
    with unit_of_work(demo) as uow:
        after = overdue.overdue_returns(uow.session, LATER, calendar, demo.policy, size=1000)
        timeline = cases.case_timeline(uow.session, row["case_number"])
    assert after.total == before.total - 1
    assert (row["case_number"], row["agency"]) not in {(r["case_number"], r["agency"]) for r in after.rows}
    assert timeline[-1]["action"] == "return_recorded"
    assert timeline[-1]["details"]["agency"] == row["agency"]


def test_ladder_label_names_the_step():
    from cdop.config import Policy

    policy = Policy()
    assert ladder_label(policy, 0) == "not chased yet"
    assert ladder_label(policy, 1) == "reminder (1 of 3)"
    assert ladder_label(policy, 3) == "escalation (3 of 3)"


def test_waiting_on_investigations(demo):
    with unit_of_work(demo) as uow:
        derived = _derived_stages(uow.session)
        by_process = investigations.waiting_by_process(uow.session)
        rows = investigations.waiting_on_investigations(uow.session, TODAY, size=1000)
    waiting = {n for n, s in derived.items() if s == "waiting_on_investigations"}
    assert waiting and {r["case_number"] for r in rows.rows} == waiting
    assert sum(p["cases"] for p in by_process) == rows.total
    assert all(r["days_waiting"] == (TODAY - r["since"]).days >= 0 for r in rows.rows)
    # Concluding every process moves the case on: it leaves the list.
    number = rows.rows[0]["case_number"]
    for r in [r for r in rows.rows if r["case_number"] == number]:
        record_investigation(demo, number, r["kind"], status="concluded", on=TODAY, today=TODAY)
    with unit_of_work(demo) as uow:
        again = investigations.waiting_on_investigations(uow.session, TODAY, size=1000)
        assert pipeline.stage_of_each_case(uow.session)[number] == "ready_for_panel"
    assert number not in {r["case_number"] for r in again.rows}


def test_upcoming_meetings_and_agendas(demo):
    with unit_of_work(demo) as uow:
        allocated = set(uow.session.scalars(select(MeetingAllocation.case_id)))
        ready = [c.id for c in uow.session.scalars(select(Case).order_by(Case.id))
                 if c.id not in allocated and c.closed_on is None]
        past = PanelMeeting(meets_on=TODAY - dt.timedelta(days=30), kind="general", capacity=8)
        soon = PanelMeeting(meets_on=TODAY + dt.timedelta(days=1), kind="neonatal", capacity=6,
                            location="Room 2")
        uow.session.add_all([past, soon])
        uow.session.flush()
        uow.session.add(MeetingAllocation(meeting_id=soon.id, case_id=ready[0], allocated_on=TODAY))
        uow.session.add(MeetingAllocation(meeting_id=past.id, case_id=ready[1], allocated_on=TODAY,
                                          pack="pack"))
        number = uow.session.get(Case, ready[0]).case_number
        soon_id, past_id = soon.id, past.id
        uow.commit()
    meetings = panel_view.upcoming_meetings(demo, TODAY, limit=50)
    assert past_id not in {m["id"] for m in meetings}
    assert [m["meets_on"] for m in meetings] == sorted(m["meets_on"] for m in meetings)
    ours = next(m for m in meetings if m["id"] == soon_id)
    assert ours["days_to_go"] == 1 and ours["capacity"] == 6 and ours["location"] == "Room 2"
    assert [(a["case_number"], a["pack"]) for a in ours["agenda"]] == [(number, None)]
    assert set(ours["agenda"][0]) >= {"age_band", "expected", "report_version"}


def test_outbox_shows_recipients_and_state_but_no_body(demo):
    with unit_of_work(demo) as uow:
        counts = outbox_view.outbox_counts(uow.session)
        page = outbox_view.outbox_messages(uow.session, size=5)
        one_case = page.rows[0]["case_number"]
        only = outbox_view.outbox_messages(uow.session, case_number=one_case.lower(), size=100)
    assert counts["sent"] > 0 and page.total == sum(counts.values())
    row = page.rows[0]
    assert set(row) >= {"to", "kind", "status", "queued_at", "sent_at", "case_number", "agency"}
    assert not {"body", "text", "html", "subject"} & set(row)
    assert all(r["case_number"] == one_case for r in only.rows)
    # In time order, newest queued first, whatever order the demo wrote its history in.
    order = [(r["queued_at"], r["id"]) for r in page.rows]
    assert order == sorted(order, reverse=True)
    with unit_of_work(demo) as uow:
        every = outbox_view.outbox_messages(uow.session, size=100_000).rows
    assert [r["queued_at"] for r in every] == sorted((r["queued_at"] for r in every), reverse=True)


def test_timeline_merges_audit_and_outbox_in_order(demo):
    with unit_of_work(demo) as uow:
        number = uow.session.scalar(
            select(Case.case_number).join(AuditEvent, AuditEvent.case_id == Case.id)
            .where(AuditEvent.action == "return_recorded").order_by(Case.case_number.desc())
        )
        timeline = cases.case_timeline(uow.session, number)
        assert cases.case_timeline(uow.session, "NO-SUCH-CASE") == []
    actions = [e["action"] for e in timeline]
    assert actions[0] == "notification_registered"
    assert {"request_sent", "return_recorded"} <= set(actions)
    # One line per event: a request's or chase's own message is told in its audited line,
    # not as a second "queued" line beside it (issue 23).
    assert not [e for e in timeline if e["action"] == "message_queued"
                and e["entity"] in ("agency_request", "chase_reminder", "chase_escalation")]
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    assert all("case_number" not in e["details"] for e in timeline)


def test_pages_agree_with_the_chasing_queries(demo):
    """The paginated SQL of the pages and the chase module's queries (issue 3) answer
    the same question the same way."""
    from cdop.views import worklists

    calendar = WorkingCalendar("ENG")
    with unit_of_work(demo) as uow:
        mine = overdue.overdue_returns(uow.session, LATER, calendar, demo.policy, size=10_000)
        theirs = worklists.overdue_requests(uow.session, LATER, demo.policy)
        waiting_mine = investigations.waiting_on_investigations(uow.session, TODAY, size=10_000)
        waiting_theirs = worklists.waiting_cases(uow.session, TODAY)
    assert {(r["case_number"], r["agency"], r["working_days_overdue"]) for r in mine.rows} == {
        (o.case_number, o.agency_code, o.working_days_overdue) for o in theirs
    }
    assert {(r["case_number"], r["kind"], r["days_waiting"]) for r in waiting_mine.rows} == {
        (w.case_number, p.kind, p.days) for w in waiting_theirs for p in w.processes
    }


def test_totals_taken_the_short_way_are_the_rows_the_lists_hold(demo):
    """The pages take each list's total from a count they already have (the stage
    counts, the processes waited on) or from a query without the joins that only add
    columns: each must be the number of rows the list itself holds, filter by filter."""
    from cdop.views import audit as audit_view

    with unit_of_work(demo) as uow:
        s = uow.session
        counts = pipeline.stage_counts(s)
        for stage in STAGE_ORDER:
            given = pipeline.cases_at_stage(s, stage.value, TODAY, size=10_000, total=counts[stage.value])
            counted = pipeline.cases_at_stage(s, stage.value, TODAY, size=10_000)
            assert given.total == counted.total == len(counted.rows) == counts[stage.value]
        by_process = investigations.waiting_by_process(s)
        assert by_process
        for kind in [None, *(p["kind"] for p in by_process), "no_such_kind"]:
            given = investigations.waiting_on_investigations(s, TODAY, kind=kind, size=10_000,
                                                             by_process=by_process)
            counted = investigations.waiting_on_investigations(s, TODAY, kind=kind, size=10_000)
            assert given.total == counted.total == len(counted.rows)
            assert given.rows == counted.rows
        one_case = outbox_view.outbox_messages(s, size=1).rows[0]["case_number"]
        kinds = outbox_view.outbox_kinds(s)
        for filters in ({}, {"status": "sent"}, {"status": "pending"}, {"kind": kinds[0]},
                        {"case_number": one_case}, {"case_number": "CDOP-1900-99999"},
                        {"status": "sent", "kind": kinds[-1], "case_number": one_case}):
            page = outbox_view.outbox_messages(s, size=10_000, **filters)
            assert page.total == len(page.rows), filters
        # A reveal among the other events, and one event of no case.
        s.add_all([AuditEvent(actor="test", action="identifiers_viewed", entity="case", entity_id=1,
                              details={}, reason="panel asked"),
                   AuditEvent(actor="test", action="report_exported", entity="report", details={})])
        s.flush()
        for reveals_only in (True, False):
            page = audit_view.audit_events(s, reveals_only=reveals_only, size=100_000)
            assert page.total == len(page.rows) > 0
        reveals = [e for e in s.scalars(select(AuditEvent)) if e.action in audit_view.REVEALS]
        assert audit_view.audit_events(s, size=100_000).total == len(reveals) >= 2
