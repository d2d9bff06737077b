"""The demo is one story a panel member would believe: the places fit the deaths, the
caseload mixes expected and unexpected deaths, what each agency wrote fits that agency
and the child's age, meetings have times, the meeting that has happened recorded who
came and what it decided, and a return weeks overdue has been chased."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from cdop.dev.demo import load_demo
from cdop.dev.demo_panel import AGENCY_GROUP
from cdop.rules.stages import Stage, case_stage
from cdop.rules.workdays import WorkingCalendar
from cdop.store.db import unit_of_work
from cdop.store.models import (
    Agency,
    AgencyRequest,
    Case,
    ChronologyEntry,
    MeetingAllocation,
    MeetingAttendance,
    PanelMeeting,
    Recommendation,
)

TODAY = dt.date(2026, 12, 7)


def test_the_demo_tells_one_coherent_story(settings):
    load_demo(settings, today=TODAY)
    calendar = WorkingCalendar(settings.policy.holiday_subdivision)
    recent = TODAY - dt.timedelta(days=300)  # the demo's own cases, not the earlier years' history
    with unit_of_work(settings) as uow:
        s = uow.session
        cases = [c for c in s.scalars(select(Case)) if c.notified_on >= recent]
        assert len(cases) >= 20

        # Places fit the circumstances; a mix of expected and unexpected at each stage.
        for c in cases:
            if c.death_expected:
                assert c.place_of_death != "public_place", c.case_number
            if "road_traffic_collision" in (c.circumstances or []):
                assert c.place_of_death == "public_place", c.case_number
        by_stage: dict[str, set[bool]] = {}
        for c in cases:
            by_stage.setdefault(case_stage(c).value, set()).add(c.death_expected)
        assert by_stage[Stage.GATHERING.value] == {True, False}
        assert sum(c.death_expected for c in cases) >= 4 and sum(not c.death_expected for c in cases) >= 10

        # What each agency wrote fits the agency and the child's age.
        codes = dict(s.execute(select(Agency.id, Agency.code)).all())
        ages = {c.id: c.age_at_death_days for c in cases}
        texts = [(codes[r.agency_id], ages[r.case_id], r.summary or "") for r in s.scalars(select(AgencyRequest))
                 if r.case_id in ages and r.summary]
        texts += [(codes[e.agency_id], ages[e.case_id], e.description) for e in s.scalars(select(ChronologyEntry))
                  if e.case_id in ages and e.agency_id]
        assert len(texts) > 40
        health = {"hospital", "gp", "community", "ambulance", "hospice"}
        for code, age_days, text in texts:
            if AGENCY_GROUP[code] not in health:
                assert "cough" not in text and "fever" not in text, (code, text)
            if age_days < 28:
                assert "from birth" not in text or AGENCY_GROUP[code] == "hospital", (code, age_days, text)
                assert "school" not in text.lower() and "seen for minor illnesses" not in text.lower(), (code, text)

        # Meetings have times; the one that has happened recorded attendance and outcomes.
        meetings = list(s.scalars(select(PanelMeeting)))
        assert all(m.starts_at is not None for m in meetings)
        held = [m for m in meetings if recent <= m.meets_on < TODAY]
        assert held
        for m in held:
            statuses = {a.status for a in s.scalars(select(MeetingAttendance).where(MeetingAttendance.meeting_id == m.id))}
            assert "attended" in statuses
            outcomes = [a.outcome for a in s.scalars(select(MeetingAllocation).where(MeetingAllocation.meeting_id == m.id))]
            assert outcomes and all(outcomes)

        # No recommendation is left open more than a year past its due date.
        stale = [r.id for r in s.scalars(select(Recommendation).where(
            Recommendation.status.in_(("agreed", "in_progress")),
            Recommendation.due_on < TODAY - dt.timedelta(days=365)))]
        assert not stale

        # A return weeks overdue has been chased, step by step, on the days the ladder says.
        first_step = settings.policy.chase_ladder[0].after_working_days
        overdue = [r for r in s.scalars(select(AgencyRequest).where(AgencyRequest.status == "sent"))
                   if r.due_on and calendar.add(r.due_on, first_step) < TODAY]
        assert overdue
        assert all(r.ladder_step >= 1 for r in overdue), [(r.id, r.due_on, r.ladder_step) for r in overdue]
