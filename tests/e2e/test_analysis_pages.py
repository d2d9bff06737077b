"""The analysis form and the recommendations page as Airflow serves them (Airflow's own
API app, its JWTs, the plugin mounted at /cdop), on SQLite and PostgreSQL with the demo
caseload: a case waiting for its analysis is listed and its form records it through the
same service as the CLI; a refused form shows each problem -- the gate's findings among
them -- next to its field, writes nothing and repeats no refused value; progress on a
recommendation is recorded, audited with the signed-in user; overdue ones come first."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from cdop.store.db import unit_of_work
from cdop.store.models import (
    Analysis,
    AuditEvent,
    Case,
    CaseIdentifier,
    CaseReport,
    MeetingAllocation,
    PanelMeeting,
    Recommendation,
    RecommendationUpdate,
)
from tests.support.ops import (
    airflow_api_environment,
    cdop_subapp,
    csrf_from,
    field_problem,
    token_for,
)

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def airflow_app(airflow_db, tmp_path_factory):
    with airflow_api_environment(tmp_path_factory.mktemp("auth")):
        from airflow.api_fastapi.app import create_app, purge_cached_app

        app = create_app()
        yield app
        purge_cached_app()


@pytest.fixture
def client(airflow_app, settings, demo_copy):
    """A signed-in coordinator's browser on the demo caseload, one case discussed at a
    meeting last week and waiting for its analysis (a school recorded for its family)."""
    from fastapi.testclient import TestClient

    from cdop_airflow.ops_app.app import business_today

    demo_copy(settings, TODAY)
    with unit_of_work(settings) as uow:
        case = uow.session.scalar(select(Case).where(Case.closed_on.is_(None)).order_by(Case.id.desc()))
        past = PanelMeeting(meets_on=TODAY - dt.timedelta(days=7), kind="general", capacity=8)
        uow.session.add(past)
        uow.session.flush()
        uow.session.add_all([
            CaseReport(case_id=case.id, version=1, status="approved", built_on=TODAY - dt.timedelta(days=20)),
            MeetingAllocation(meeting_id=past.id, case_id=case.id, allocated_on=TODAY - dt.timedelta(days=19),
                              pack="pack"),
            CaseIdentifier(case_id=case.id, field="school", value="Larkspur Meadow Primary School")])
        uow.commit()
        number = case.case_number
    sub = cdop_subapp(airflow_app)
    sub.dependency_overrides[business_today] = lambda: TODAY
    with TestClient(airflow_app, base_url="http://airflow.test") as c:
        c.cookies.set("_token", token_for("coordinator"))
        c.headers["accept"] = "text/html"
        c.number = number
        yield c
    sub.dependency_overrides.clear()


def _analysis(settings, number):
    with unit_of_work(settings) as uow:
        return uow.session.scalar(select(Analysis).join(Case).where(Case.case_number == number))


def test_record_an_analysis_from_the_form(client, settings):
    number = client.number
    listed = client.get("/cdop/analyses")
    assert listed.status_code == 200 and f'href="cases/{number}/analysis"' in listed.text

    page = client.get(f"/cdop/cases/{number}/analysis")
    assert page.status_code == 200 and 'id="analysis-form"' in page.text
    token = csrf_from(page.text)
    bad = {
        "csrf_token": token, "category": "acute_medical",
        "factor-1-factor": "child:chronic_condition", "factor-1-grade": "1", "factor-1-notes": "Asthma.",
        # Row 4 (rows 2-3 blank): notes naming the child's school -- the gate's finding.
        "factor-4-factor": "service:recognition", "factor-4-grade": "2",
        "factor-4-notes": "Larkspur Meadow Primary School did not call for help.",
        "factor-5-factor": "physical:water", "factor-5-grade": "7",
        "learning": "Written safety-netting advice on discharge.",
        "rec-2-agency": "RUH", "rec-2-text": "Audit safety-netting advice.", "rec-2-due_on": "2026-01-01",
    }
    refused = client.post(f"/cdop/cases/{number}/analysis", data=bad)
    assert refused.status_code == 422
    html = refused.text
    assert 'role="alert"' in html and "Nothing was recorded" in html
    # Each problem beside its own field, by the form's row (4, 5 and recommendation 2).
    for field, message in [("factor-4-notes", "contains an identifier (school)"),
                           ("factor-5-grade", "must be between 0 and 2"),
                           ("rec-2-due_on", "is in the past")]:
        assert re.search(rf'id="err-{field}">(<span[^>]*>Error: </span>)?[^<]*{re.escape(message)}', html), field
        assert f'id="{field}" aria-describedby="err-{field}" aria-invalid="true"' in html or \
            f'aria-describedby="err-{field}"' in html, field
    assert "Larkspur" not in html  # the refused text is not repeated
    assert "Written safety-netting advice on discharge." in html  # what was accepted is kept
    assert _analysis(settings, number) is None

    good = {**bad, "factor-4-notes": "The school did not call for help.", "factor-5-grade": "0",
            "rec-2-due_on": "2026-09-30"}
    done = client.post(f"/cdop/cases/{number}/analysis", data=good, follow_redirects=False)
    assert done.status_code == 303, done.text[:800]
    assert done.headers["location"] == f"/cdop/cases/{number}/analysis?done=analysis_recorded"
    with unit_of_work(settings) as uow:
        analysis = uow.session.scalar(select(Analysis).join(Case).where(Case.case_number == number))
        lines = [(f.domain, f.factor_code, f.grade, f.notes) for f in analysis.factors]
        assert lines == [("child", "chronic_condition", 1, "Asthma."),
                         ("service", "recognition", 2, "The school did not call for help."),
                         ("physical", "water", 0, None)]
        assert (analysis.modifiable, analysis.finalised_on, analysis.recorded_by) == (
            "yes", TODAY, "coordinator")
        [rec] = uow.session.scalars(select(Recommendation).where(Recommendation.analysis_id == analysis.id))
        assert (rec.due_on, rec.organisation) == (dt.date(2026, 9, 30), "Riverside University Hospitals NHS Trust")
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "analysis_recorded",
                                                            AuditEvent.entity_id == analysis.id))
        assert event.actor == "coordinator"
        assert uow.session.get(Case, analysis.case_id).closed_on == TODAY
        case_id = analysis.case_id
    shown = client.get(done.headers["location"]).text
    assert "Analysis recorded and finalised" in shown and "Modifiable factors identified" in shown
    assert 'id="analysis-form"' not in shown  # recorded: read-only
    # A second post is refused and changes nothing.
    again = client.post(f"/cdop/cases/{number}/analysis", data=good, follow_redirects=False)
    assert again.status_code == 422 and 'id="recorded-analysis"' in again.text
    with unit_of_work(settings) as uow:
        assert uow.session.query(Analysis).filter_by(case_id=case_id).count() == 1
    assert number not in client.get("/cdop/analyses").text


def test_a_case_not_yet_discussed_offers_no_form(client, settings):
    with unit_of_work(settings) as uow:
        number = uow.session.scalar(
            select(Case.case_number).where(Case.closed_on.is_(None), ~Case.id.in_(select(MeetingAllocation.case_id)))
            .order_by(Case.id))
    page = client.get(f"/cdop/cases/{number}/analysis")
    assert page.status_code == 200 and "has not been discussed at a panel meeting" in page.text
    assert 'id="analysis-form"' not in page.text
    assert client.get("/cdop/cases/NOPE-9/analysis").status_code == 404


def test_recommendations_overdue_first_and_progress_recorded(client, settings):
    page = client.get("/cdop/recommendations")
    assert page.status_code == 200
    order = re.findall(r'<section class="rec-card( overdue| closed)?" id="R(\d+)"', page.text)
    kinds = ["overdue" if k == " overdue" else "closed" if k == " closed" else "open" for k, _ in order]
    assert kinds and kinds == sorted(kinds, key=["overdue", "open", "closed"].index), kinds
    assert "overdue" in kinds
    rec_id = int(order[0][1])
    # No form under each item: one "Record progress" link each, and the form on demand.
    assert "<form" not in re.search(r'<section class="rec-card.*</section>', page.text, re.S).group(0)
    assert page.text.count('>Record progress<span') == len([k for k in kinds if k != "closed"])
    chosen = client.get(f"/cdop/recommendations?record={rec_id}").text
    assert chosen.count('action="recommendations/') == 1 and f'id="progress-R{rec_id}"' in chosen
    token = csrf_from(chosen)
    with unit_of_work(settings) as uow:
        school = uow.session.scalar(select(CaseIdentifier.value).join(Recommendation, Recommendation.case_id ==
                                                                       CaseIdentifier.case_id)
                                    .where(Recommendation.id == rec_id, CaseIdentifier.field == "school"))
        before = uow.session.query(RecommendationUpdate).filter_by(recommendation_id=rec_id).count()
    if school:
        named = client.post(f"/cdop/recommendations/{rec_id}/progress",
                            data={"csrf_token": token, "status": "in_progress", "progress": f"Met {school}."})
        assert named.status_code == 422 and "contains an identifier (school)" in named.text
        assert school not in named.text
    empty = client.post(f"/cdop/recommendations/{rec_id}/progress",
                        data={"csrf_token": token, "status": "done", "progress": ""})
    assert empty.status_code == 422
    assert field_problem(empty.text, f"R{rec_id}", "status") and field_problem(
        empty.text, f"R{rec_id}", "progress").startswith("is required")
    kept = client.post(f"/cdop/recommendations/{rec_id}/progress",
                       data={"csrf_token": token, "status": "completed", "progress": "x" * 5000})
    assert kept.status_code == 422 and '<option value="completed" selected>' in kept.text  # kept as chosen
    saved = client.post(f"/cdop/recommendations/{rec_id}/progress", follow_redirects=False,
                        data={"csrf_token": token, "status": "completed", "progress": "Audit done; actions agreed."})
    assert saved.status_code == 303 and saved.headers["location"] == "/cdop/recommendations?done=progress_recorded"
    with unit_of_work(settings) as uow:
        rec = uow.session.get(Recommendation, rec_id)
        updates = uow.session.query(RecommendationUpdate).filter_by(recommendation_id=rec_id).count()
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "recommendation_updated")
                                   .order_by(AuditEvent.id.desc()))
        assert (rec.status, rec.next_follow_up_on, updates) == ("completed", None, before + 1)
        assert event.actor == "coordinator" and event.entity_id == rec_id
    assert "Progress recorded." in client.get("/cdop/recommendations?done=progress_recorded").text
    # Now among the completed, with its evidence of action and no form.
    card = None
    for number in range(1, 6):
        html = client.get(f"/cdop/recommendations?show=completed&page={number}").text
        if found := re.search(rf'<section class="rec-card closed" id="R{rec_id}".*?</section>', html, re.S):
            card = found.group(0)
            break
    assert card and "Audit done; actions agreed." in card and "<form" not in card
    assert client.post("/cdop/recommendations/999999/progress",
                       data={"csrf_token": token, "status": "completed", "progress": "x"}).status_code == 404


def test_the_forms_need_the_session_token(client, settings):
    number = client.number
    response = client.post(f"/cdop/cases/{number}/analysis", data={"category": "infection"})
    assert response.status_code == 403
    response = client.post("/cdop/recommendations/1/progress", data={"status": "completed", "progress": "x"})
    assert response.status_code == 403
    assert _analysis(settings, number) is None
