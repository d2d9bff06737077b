"""The analysis form and the follow-up of recommendations, on SQLite and PostgreSQL with
the real SMTP server on loopback: a bad form is refused whole naming each field; a good
one closes the case and sends each recommendation; progress requests go once per step
on working days, stop when completed, and a request overtaken by an update is cancelled."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from cdop.intake.cases import describe_case
from cdop.mail.templating import template_path
from cdop.panel import analysis
from cdop.panel.analysis import (
    plan_recommendation_follow_ups,
    record_analysis,
    record_recommendation_update,
)
from cdop.panel.case_reports import assemble_reports, decide
from cdop.panel.meetings import add_meeting, allocate_cases
from cdop.rules.workdays import WorkingCalendar
from cdop.store.db import unit_of_work
from cdop.store.models import Analysis, OutboxMessage, Recommendation
from cdop.validation import InputError
from cdop_airflow.sending import send_pending
from tests.conftest import cli
from tests.support.clock import cli_on
from tests.support.panel import every_part_text, gate_for, ready_case, received

D = dt.date
MEETING = D(2027, 3, 4)


def _case_seen_by_panel(settings) -> tuple[str, dict]:
    number, ids = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH", "GPHC"))
    assemble_reports(settings, D(2027, 1, 11))
    decide(settings, number, approve=True, comments=None, actor="coordinator", today=D(2027, 1, 12))
    add_meeting(settings, meets_on=MEETING, today=D(2027, 1, 4))
    allocate_cases(settings, D(2027, 1, 12))
    return number, ids


def test_a_bad_analysis_form_is_refused_whole_naming_each_field(agencies, tmp_path):
    settings = agencies
    number, ids = _case_seen_by_panel(settings)
    form = json.loads(template_path("returns/analysis_template.json").read_text())
    form["case_number"] = number
    form["reviewed_on"] = None
    form["category"] = "natural"
    form["factors"][0]["domain"] = "family"
    form["factors"][1]["grade"] = 3
    form["factors"][2]["factor"] = "co_sleeping_at_nursery"  # not a code of its domain
    form["factors"].append(dict(form["factors"][1]))  # the same factor twice
    form["learning"] = f"The school ({ids['school']}) noticed first."
    form["recommendations"][0]["due_on"] = "2027-03-01"  # before the review
    form["recommendations"][1]["email"] = "not-an-email"
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps(form))
    # The meeting has not happened yet: refused, whatever the form says.
    result = cli_on(D(2027, 3, 3), "analysis", "record", number, "--file", str(path), "--today", "2027-03-03")
    assert result.returncode == 2 and "field 'case': its panel meeting has not happened yet" in result.stderr
    result = cli_on(D(2027, 3, 5), "analysis", "record", number, "--file", str(path), "--today", "2027-03-05")
    assert result.returncode == 2
    for expected in ("field 'category'", "field 'factors[1].domain'", "field 'factors[2].grade'",
                     "field 'factors[3].factor': must be one of",
                     "field 'factors[4].factor': is already on line 2",
                     "field 'learning': contains an identifier (school)", "field 'recommendations[1].due_on'",
                     "field 'recommendations[2].email'"):
        assert expected in result.stderr, result.stderr
    assert ids["school"] not in result.stderr
    assert describe_case(settings, number)["stage"] == "allocated_to_meeting"  # nothing changed
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(Analysis)) is None
        assert uow.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "recommendation")) is None


def test_the_analysis_closes_the_case_and_recommendations_are_followed_up(agencies, smtp_server, tmp_path):
    settings = agencies
    number, _ = _case_seen_by_panel(settings)
    form = json.loads(template_path("returns/analysis_template.json").read_text())
    form.update(case_number=number, reviewed_on=None)
    form["recommendations"][0]["due_on"] = "2027-03-08"
    form["recommendations"][1]["due_on"] = "2027-09-30"
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps(form))
    result = cli_on(D(2027, 3, 5), "analysis", "record", number, "--file", str(path), "--today", "2027-03-05")
    assert result.returncode == 0, result.stderr
    assert "case closed on 2027-03-05" in result.stdout
    assert describe_case(settings, number)["stage"] == "closed"
    shown = json.loads(cli("analysis", "show", number).stdout)
    assert (shown["reviewed_on"], shown["category"], shown["modifiable"]) == ("2027-03-04", "acute_medical", "yes")
    assert shown["finalised_on"] == "2027-03-05"
    assert [(f["domain"], f["factor"], f["grade"]) for f in shown["factors"]] == [
        ("child", "chronic_condition", 2), ("service", "care_plan", 2), ("social", "parental_smoking", 1)]
    r1, r2 = (r["id"] for r in shown["recommendations"])
    # A second analysis of a closed case is refused.
    assert cli_on(D(2027, 3, 6), "analysis", "record", number, "--file", str(path), "--today", "2027-03-06").returncode == 2

    # Each recommendation goes to its organisation when agreed.
    send_pending(settings, kinds=list(analysis.KINDS))
    agreed = received(smtp_server, "recommendation")
    assert sorted(m["X-Envelope-To"] for m in agreed) == ["hillcrest.practice@nhs.net", "icb.quality@nhs.net"]
    gate = gate_for(settings, number)
    for message in agreed:
        assert gate.scan("\n".join(every_part_text(message))) == []

    # Progress is asked when due (Monday 8 March), on working days only, once per step.
    calendar = WorkingCalendar()
    assert plan_recommendation_follow_ups(settings, D(2027, 3, 5)) == []  # not due yet
    assert plan_recommendation_follow_ups(settings, D(2027, 3, 13)) == []  # due, but a Saturday
    [first] = plan_recommendation_follow_ups(settings, D(2027, 3, 8))
    assert plan_recommendation_follow_ups(settings, D(2027, 3, 8)) == []  # rerun: the same step, once
    send_pending(settings, kinds=list(analysis.KINDS))
    [reminder] = received(smtp_server, "recommendation_reminder")
    assert reminder["X-CDOP-Key"] == f"{number}/recommendation-{r1}/recommendation_reminder/1"
    assert "request 1 for this recommendation" in reminder.get_body(("plain",)).get_content()
    assert gate.scan("\n".join(every_part_text(reminder))) == []
    with unit_of_work(settings) as uow:
        rec = uow.session.get(Recommendation, r1)
        next_on = calendar.add(D(2027, 3, 8), 20)  # 20 working days on, past Easter
        assert (rec.follow_ups_sent, rec.next_follow_up_on) == (1, next_on)
    assert plan_recommendation_follow_ups(settings, next_on - dt.timedelta(days=1)) == []

    # Progress recorded: in progress asks again later; a request queued and then overtaken by
    # a completed update is cancelled, not sent; completed stops the follow-up.
    result = cli_on(D(2027, 4, 6), "recommendation", "update", f"R{r1}", "--status", "in_progress",
                    "--progress", "Audit started in February.", "--today", "2027-04-06")
    asked_again = calendar.add(D(2027, 4, 6), 20)
    assert result.returncode == 0 and f"next progress request: {asked_again}" in result.stdout
    assert len(plan_recommendation_follow_ups(settings, asked_again)) == 1
    record_recommendation_update(settings, r1, status="completed", progress="Audit done; actions agreed.",
                                 today=asked_again)
    report = send_pending(settings, kinds=list(analysis.KINDS))
    assert report.get("cancelled") == 1
    assert len(received(smtp_server, "recommendation_reminder")) == 1
    assert plan_recommendation_follow_ups(settings, D(2027, 6, 1)) == []
    with_names = cli_on(D(2027, 5, 5), "recommendation", "update", str(r2), "--status", "in_progress", "--progress",
                        "Training booked at Larkspur Meadow Primary School.", "--today", "2027-05-05")
    assert with_names.returncode == 2 and "field 'progress': contains an identifier (school)" in with_names.stderr
    listed = cli("recommendation", "list", "--open").stdout
    assert f"R{r2}" in listed and f"R{r1} " not in listed


def test_recommendation_flags_and_validation_of_the_command_line_form(agencies):
    settings = agencies
    number, _ = _case_seen_by_panel(settings)
    with pytest.raises(InputError) as refused:
        record_analysis(settings, number, {"category": "infection", "modifiable": "yes",
                                           "factors": [{"domain": "child", "factor": "acute_illness", "grade": 1}],
                                           "recommendations": [{"agency": "SCH1", "text": "Review first aid.",
                                                                "due_on": "2027-09-01"}]},
                        today=D(2027, 3, 5), actor="coordinator")
    # "yes" with no factor graded 2 contradicts the grades: refused, naming the field.
    assert [p.field for p in refused.value.problems] == ["modifiable"]
    result = cli_on(D(2027, 3, 5), "analysis", "record", number, "--category", "infection",
                    "--factor", "child|acute_illness|1|Previously well.", "--recommendation",
                    "RUH|2027-09-01|Review sepsis screening in the emergency department.", "--today", "2027-03-05")
    assert result.returncode == 0, result.stderr
    shown = json.loads(cli("analysis", "show", number).stdout)
    assert shown["recommendations"][0]["organisation"] == "Riverside University Hospitals NHS Trust"
    assert shown["modifiable"] == "no"
    assert shown["factors"] == [{"domain": "child", "factor": "acute_illness", "grade": 1,
                                 "factor_label": "Acute or sudden-onset illness", "notes": "Previously well."}]


def test_a_recommendation_may_go_to_the_childs_own_school_and_its_text_is_still_gated(agencies, smtp_server):
    """Issue 21 item 7: the child's school (a recorded family place, and an agency in the
    directory) may be a recommendation's organisation; the message reaches it; a text that
    names the school is still refused, and no other identifier passes."""
    from cdop.intake.family import record_family

    settings = agencies
    number, _ = _case_seen_by_panel(settings)
    record_family(settings, number, identifiers=[{"field": "school", "value": "Oakfield Primary School"}])
    form = {"category": "infection", "modifiable": "no",
            "factors": [{"domain": "child", "factor": "acute_illness", "grade": 1}],
            "recommendations": [{"agency": "SCH1", "text": "Review the first aid training of lunchtime staff.",
                                 "due_on": "2027-09-01"}]}
    named = {**form, "recommendations": [{**form["recommendations"][0],
                                          "text": "Oakfield Primary School to review first aid."}]}
    with pytest.raises(InputError) as refused:
        record_analysis(settings, number, named, today=D(2027, 3, 5), actor="coordinator")
    assert [p.field for p in refused.value.problems] == ["recommendations[1].text"]
    typed = {**form, "recommendations": [{"organisation": "Oakfield Primary School", "email": "head@oakfield.example.org",
                                          "text": "Review first aid.", "due_on": "2027-09-01"}]}
    with pytest.raises(InputError) as typed_refused:  # typed by hand: free text, gated
        record_analysis(settings, number, typed, today=D(2027, 3, 5), actor="coordinator")
    assert [p.field for p in typed_refused.value.problems] == ["recommendations[1].organisation"]

    recorded = record_analysis(settings, number, form, today=D(2027, 3, 5), actor="coordinator")
    assert recorded["recommendations"]
    send_pending(settings, kinds=list(analysis.KINDS))
    [message] = received(smtp_server, "recommendation")
    assert message["X-Envelope-To"] == "office@oakfield-primary.example.org.uk"
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(OutboxMessage.status).where(OutboxMessage.kind == "recommendation")) == "sent"
    # Nothing else identifying in it: the gate without the addressee's own name finds nothing.
    texts = "\n".join(every_part_text(message))
    assert gate_for(settings, number).scan(texts.replace("Oakfield Primary School", "the school")) == []
