"""A meeting's business through the service and `cdop panel meeting ...`: time of day,
members invited, attendance and apologies, minutes (encrypted at rest) and the outcome
per case; refused before the meeting has happened; past meetings listed too."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from sqlalchemy import select, text

from cdop.cli.main import main
from cdop.panel.meetings import add_meeting, add_member, record_meeting
from cdop.store.db import unit_of_work
from cdop.store.models import AuditEvent, Case, MeetingAllocation, MeetingAttendance, PanelMeeting

TODAY = dt.date(2026, 3, 2)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _case(settings, number: str) -> int:
    with unit_of_work(settings) as uow:
        case = Case(case_number=number, forenames="A", surname="B", date_of_birth="2020-01-01",
                    identity_index=number, date_of_death=dt.date(2026, 1, 2), age_at_death_days=2000,
                    age_band="5-9 years", sex="female", ethnicity="not_stated", place_of_death="home",
                    death_expected=False, circumstances=[], notified_on=dt.date(2026, 1, 3), family_context={})
        uow.session.add(case)
        uow.commit()
        return case.id


def test_a_meeting_held_records_attendance_minutes_and_outcomes(settings):
    ada = add_member(settings, name="Dr Ada Chair", role="Chair", email="ada.chair@nhs.net")["id"]
    bo = add_member(settings, name="Bo Lay", role="Lay member", email="bo.lay@nhs.net")["id"]
    meeting = add_meeting(settings, meets_on="2026-03-09", kind="general", capacity=4, location="Room 1",
                          today=TODAY, starts_at="10:30", members=[str(ada)])
    case_id = _case(settings, "CDOP-2026-0101")
    with unit_of_work(settings) as uow:
        uow.session.add(MeetingAllocation(meeting_id=meeting, case_id=case_id, allocated_on=TODAY))
        uow.commit()
    # Before the meeting: members may change; attendance, minutes and outcomes may not.
    record_meeting(settings, meeting, today=TODAY, members=[ada, bo])
    early = run("panel", "meeting", "record", meeting, "--attended", ada, "--today", "2026-03-02")
    assert early.exit_code == 2 and "the meeting has not happened yet" in early.output
    minutes = settings.home / "minutes.txt"
    settings.home.mkdir(parents=True, exist_ok=True)
    minutes.write_text("The chair opened the meeting; the panel reviewed one case.", encoding="utf-8")
    done = run("panel", "meeting", "record", meeting, "--attended", ada, "--apologies", bo,
               "--minutes-file", minutes, "--outcome", "cdop-2026-0101=reviewed", "--today", "2026-03-09")
    assert done.exit_code == 0, done.output
    assert "2 members, 1 attended, 1 apologies, 1 outcome(s) recorded" in done.output
    with unit_of_work(settings) as uow:
        held = uow.session.get(PanelMeeting, meeting)
        assert held.starts_at == dt.time(10, 30) and held.minutes.startswith("The chair opened")
        raw = uow.session.execute(text("SELECT minutes FROM panel_meetings WHERE id = :i"), {"i": meeting}).scalar()
        assert "chair" not in raw  # encrypted at rest
        statuses = dict(uow.session.execute(select(MeetingAttendance.member_id, MeetingAttendance.status)).all())
        assert statuses == {ada: "attended", bo: "apologies"}
        assert uow.session.scalar(select(MeetingAllocation.outcome)) == "reviewed"
        assert uow.session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "case_outcome_recorded")) \
            == "test-coordinator"
    bad = run("panel", "meeting", "record", meeting, "--outcome", "CDOP-2026-0101=acquitted", "--today", "2026-03-09")
    assert bad.exit_code == 2 and "field 'outcome': must be one of" in bad.output
    listed = run("panel", "meeting", "list", "--today", "2026-03-20")
    assert listed.exit_code == 0 and "2026-03-09 10:30  held" in listed.output
    assert "2 members (1 attended, 1 apologies)" in listed.output
    assert str(meeting) not in run("panel", "meeting", "list", "--upcoming", "--today", "2026-03-20").output.split()
