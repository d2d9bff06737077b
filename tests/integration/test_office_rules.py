"""The office's own rules, on real SQLite and PostgreSQL with the real SMTP server on
loopback and the installed `cdop` command:

- request emails and reminders name the office and its coordinator and give the
  statutory basis of the request;
- agencies and supplementary forms are chosen by the child's age and the circumstances
  (no education request nor suicide form for a newborn; police and coroner, and their
  processes, for a road traffic death);
- no command accepts a business date in the future, and nothing is written;
- `cdop case list` filters by stage and open/closed, newest first, a page at a time;
- the demo has a meeting that has happened with a case waiting for its analysis, which
  the README's command then records; its history is stamped with the days it happened.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from cdop.clock import today_in_england
from cdop.dev.demo import load_demo
from cdop.intake.notifications import register_notifications
from cdop.rules.stages import case_stage
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case
from cdop.store.models import Analysis, AuditEvent, Case, MeetingAllocation, PanelMeeting
from cdop.validation import InputError
from tests.conftest import cli
from tests.support.chasing import chase_day, notify, received, send_requests

D = dt.date


def _row(**changes) -> dict:
    row = {"forenames": "Grace", "surname": "O’Connor-Łukasiewicz", "date_of_birth": "2026-10-30",
           "date_of_death": "2026-11-02", "sex": "female", "place_of_death": "hospital", "expected": "no",
           "agencies": ["RUH", "GPHC"], "investigations": ["post_mortem"], "notified_on": "2026-11-03"}
    return row | changes


def _case(settings, number: str) -> dict:
    with unit_of_work(settings) as uow:
        case = get_case(uow, number)
        return {"agencies": sorted(r.agency.code for r in case.requests),
                "forms": sorted({f for r in case.requests for f in r.forms}),
                "investigations": sorted(i.kind for i in case.investigations)}


def test_request_emails_name_the_office_the_coordinator_and_the_statutory_basis(agencies, smtp_server):
    office = agencies.policy.office
    assert office.coordinator == "Alex Morgan, CDOP coordinator"  # tests/support/office_policy.toml
    number, _ = notify(agencies, ["RUH", "EDU"], on=D(2026, 11, 13))
    send_requests(agencies, D(2026, 11, 16))
    chase_day(agencies, D(2026, 12, 21))  # the first reminder
    requests = received(smtp_server, kinds=("agency_request",))
    reminders = received(smtp_server, kinds=("chase_reminder",))
    assert len(requests) == 2 and len(reminders) == 2
    for mail in requests + reminders:
        text = " ".join(mail["text"].split())
        assert office.coordinator in text and office.name in text and office.phone in text
        assert "Children Act 2004, section 16M" in text and "Section 16N" in text
        assert "Working Together to Safeguard Children 2023" in text
        assert "Child Death Review Statutory and Operational Guidance" in text
        assert "01234 567890" not in text and "example.nhs.net" not in text  # no placeholder
    for message in smtp_server.messages():  # the HTML part says the same
        html = " ".join(message.get_body(("html",)).get_content().split())
        assert "Children Act 2004, section 16M" in html and office.coordinator in html


def test_a_newborn_gets_no_education_request_and_no_suicide_form(agencies):
    with pytest.raises(InputError) as err:
        register_notifications(agencies, [_row(agencies=["RUH", "SCH1"])], today=D(2026, 11, 3))
    [problem] = err.value.problems
    assert problem.field == "agencies" and "Education / school" in problem.message
    assert "SCH1" not in str(problem) and "Oakfield" not in str(problem)
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(func.count(Case.id))) == 0  # nothing written
    [number] = register_notifications(agencies, [_row(circumstances=["suicide_self_harm"])], today=D(2026, 11, 3))
    forms = _case(agencies, number)["forms"]
    assert "suicide" not in forms and "neonatal" in forms
    # A teenager with the same circumstance gets the form (and the coroner, see below).
    [older] = register_notifications(agencies, [_row(date_of_birth="2011-05-04", circumstances=["suicide_self_harm"],
                                                     surname="Hope")], today=D(2026, 11, 3))
    assert "suicide" in _case(agencies, older)["forms"]


def test_a_road_traffic_death_brings_the_police_and_the_coroner_and_their_processes(agencies):
    [number] = register_notifications(
        agencies, [_row(date_of_birth="2019-03-01", circumstances=["road_traffic_collision"])], today=D(2026, 11, 3))
    case = _case(agencies, number)
    assert case["agencies"] == ["COR", "GPHC", "POL", "RUH"]
    assert case["investigations"] == ["coroner_inquest", "police", "post_mortem"]
    assert "road_traffic" in case["forms"]


def test_no_command_accepts_a_business_date_in_the_future(agencies):
    # The command runs in its own process by the real clock: the dates refused are the
    # real tomorrow and later, the fictional history lies before the real today.
    today = today_in_england()
    tomorrow, later = today + dt.timedelta(days=1), today + dt.timedelta(days=60)
    number, _ = notify(agencies, ["RUH"], on=D(2026, 11, 13))
    for args in (
        ["digest", "show", "--today", str(tomorrow)],
        ["return", "record", number, "RUH", "--received", str(tomorrow)],
        ["return", "record", number, "RUH", "--received", "2026-11-30", "--today", str(later)],
        ["investigation", "record", number, "post_mortem", "--status", "concluded", "--date", str(tomorrow)],
        ["ncmd", "record", number, "--at", f"{tomorrow} 09:00"],
        ["analysis", "record", number, "--category", "infection", "--modifiable", "no", "--today", str(later)],
    ):
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "is in the future" in result.stderr and "Traceback" not in result.stderr, args
        assert str(tomorrow) not in result.stderr and str(later) not in result.stderr, args  # never the value
    with unit_of_work(agencies) as uow:
        case = get_case(uow, number)
        assert [r.status for r in case.requests] == ["pending"] and case.closed_on is None
    assert cli("digest", "show", "--today", str(today)).returncode == 0  # today itself is fine


def test_case_list_filters_by_stage_and_state_newest_first_in_pages(agencies):
    numbers = [notify(agencies, ["RUH"], on=D(2026, 11, day), seed=day)[0] for day in (2, 3, 4, 5, 6)]
    send_requests(agencies, D(2026, 11, 9))
    listed = cli("case", "list", "--page-size", "2")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == numbers[::-1][:2]
    assert "page 1 of 3" in listed.stderr and "of 5" in listed.stderr
    third = cli("case", "list", "--page-size", "2", "--page", "3").stdout.splitlines()
    assert [line.split()[0] for line in third] == [numbers[0]]
    gathering = cli("case", "list", "--stage", "gathering_information").stdout.splitlines()
    assert len(gathering) == 5 and all("1-4 years" in line and "Unexpected" in line for line in gathering)
    assert all("no CDRM or joint agency response" in line for line in gathering)
    assert cli("case", "list", "--closed").stdout == ""
    assert len(cli("case", "list", "--open").stdout.splitlines()) == 5
    bad = cli("case", "list", "--stage", "Quennell")
    assert bad.returncode == 2 and "field 'stage'" in bad.stderr and "Quennell" not in bad.stderr


def test_the_demo_has_a_past_meeting_with_a_case_waiting_for_its_analysis(settings):
    today = today_in_england()  # the command below dates itself by the real clock
    load_demo(settings, today=today)
    with unit_of_work(settings) as uow:
        # The latest meeting that has happened (the history's monthly meetings come before it).
        past = uow.session.scalar(select(PanelMeeting).where(PanelMeeting.meets_on < today)
                                  .order_by(PanelMeeting.meets_on.desc()).limit(1))
        waiting = uow.session.scalars(
            select(Case).join(MeetingAllocation, MeetingAllocation.case_id == Case.id)
            .where(MeetingAllocation.meeting_id == past.id, Case.closed_on.is_(None))).all()
        assert len(waiting) == 1 and case_stage(waiting[0]).value == "allocated_to_meeting"
        number, past_id = waiting[0].case_number, past.id
        # The history is stamped with the days it happened, not all with today.
        days = uow.session.scalars(select(func.date(AuditEvent.occurred_at)).where(
            AuditEvent.case_id == waiting[0].id)).all()
        assert len(set(days)) >= 5 and str(today) not in days
    # The README's next step records the analysis and closes the case.
    result = cli("analysis", "record", number, "--category", "infection", "--modifiable", "no",
                 "--factor", "child|acute_illness|1|Previously well",
                 "--recommendation", f"RUH|{today + dt.timedelta(days=120)}|Audit sepsis screening")
    assert result.returncode == 0, result.stderr
    with unit_of_work(settings) as uow:
        case = get_case(uow, number)
        assert case.closed_on == today
        assert uow.session.scalar(select(Analysis).where(Analysis.case_id == case.id)).meeting_id == past_id


def test_the_read_models_carry_age_band_expected_and_the_review_meeting_flag(agencies):
    from cdop.views.cases import case_view
    from cdop.views.pipeline import cases_at_stage

    flagged, _ = notify(agencies, ["RUH"], on=D(2026, 11, 2), seed=2)
    met, _ = notify(agencies, ["RUH"], on=D(2026, 11, 3), seed=3, investigations=["jar"])
    send_requests(agencies, D(2026, 11, 9))
    with unit_of_work(agencies) as uow:
        page = cases_at_stage(uow.session, "gathering_information", D(2026, 11, 10))
        rows = {r["case_number"]: r for r in page.rows}
        assert rows[flagged]["no_review_meeting"] and not rows[met]["no_review_meeting"]
        assert {r["age_band"] for r in rows.values()} == {"1-4 years"}
        assert {r["expected_label"] for r in rows.values()} == {"Unexpected"}
        view = case_view(uow.session, flagged, agencies.policy)
        assert view.no_review_meeting and view.age_band == "1-4 years" and not view.expected
        assert view.flags == ["Unexpected death: no Child Death Review Meeting or joint agency response recorded"]
        assert case_view(uow.session, met, agencies.policy).flags == []
