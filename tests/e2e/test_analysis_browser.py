"""The analysis form and the recommendations page in a real browser: `airflow api-server`
with the plugin and the demo caseload, Debian's headless Chromium driven by Playwright,
signed in through Airflow's own login page. A coordinator records an analysis with its
factor lines and a recommendation (after the gate's finding shown beside a field), then
a recommendation's progress with the keyboard alone; the database holds what was
entered and the audit names the signed-in user. axe-core runs on every page and the test
fails on any serious or critical violation.

Screenshots go to $CDOP_SCREENSHOTS (default /tmp/cdop-ops-screenshots).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from cdop.clock import today_in_england
from tests.e2e.test_ops_browser import PASSWORD, _shot, api_server, browser, chromium  # noqa: F401 (fixtures)

pytestmark = pytest.mark.timeout(420)
SCHOOL = "Larkspur Meadow Primary School"


def _axe(page, name: str) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"])
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: accessibility violations {bad}"


def _case_waiting_for_analysis(settings) -> str:
    """A demo case put on a meeting held last week with its report approved (the state the
    coordinator finds after a panel meeting), a school recorded for its family."""
    from cdop.store.db import dispose_engines, unit_of_work
    from cdop.store.models import Case, CaseIdentifier, CaseReport, MeetingAllocation, PanelMeeting

    today = today_in_england()
    with unit_of_work(settings) as uow:
        case = uow.session.scalar(select(Case).where(Case.closed_on.is_(None))
                                  .where(~Case.id.in_(select(MeetingAllocation.case_id)),
                                         ~Case.id.in_(select(CaseReport.case_id))).order_by(Case.id))
        past = PanelMeeting(meets_on=today - dt.timedelta(days=7), kind="general", capacity=8,
                            location="Demo County Hall, room 2")
        uow.session.add(past)
        uow.session.flush()
        uow.session.add_all([
            CaseReport(case_id=case.id, version=1, status="approved", built_on=today - dt.timedelta(days=20)),
            MeetingAllocation(meeting_id=past.id, case_id=case.id, allocated_on=today - dt.timedelta(days=19),
                              pack="pack"),
            CaseIdentifier(case_id=case.id, field="school", value=SCHOOL)])
        uow.commit()
        number = case.case_number
    dispose_engines()
    return number


def test_record_an_analysis_with_recommendations_and_a_recommendations_progress(api_server, browser):  # noqa: F811
    from cdop.store.db import dispose_engines, unit_of_work
    from cdop.store.models import Analysis, AuditEvent, Case, Recommendation, RecommendationUpdate

    base, settings = api_server["url"], api_server["settings"]
    number = _case_waiting_for_analysis(settings)
    today = today_in_england()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/cdop/analyses")
    page.wait_for_url("**/auth/login**")
    page.get_by_label("Username").fill("coordinator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/cdop/analyses")

    # The case is listed as waiting for its analysis.
    assert page.get_by_role("heading", name="Cases waiting for the panel's analysis").is_visible()
    _axe(page, "analyses")
    _shot(page, "21-analyses-waiting")
    page.get_by_role("link", name=f"Record the analysis of {number}").click()
    page.wait_for_url(f"{base}/cdop/cases/{number}/analysis")
    _axe(page, "analysis form")

    form = page.locator("#analysis-form")
    form.get_by_label("Category of death").select_option("acute_medical")
    line1, line2 = page.locator("#factor-1"), page.locator("#factor-2")
    line1.get_by_label("Domain and factor").select_option("child:chronic_condition")
    line1.get_by_label("Grade").select_option("1")
    line1.get_by_label("Notes").fill("Asthma, reviewed twice a year.")
    line2.get_by_label("Domain and factor").select_option("service:care_plan")
    line2.get_by_label("Grade").select_option("2")
    line2.get_by_label("Notes").fill(f"No written asthma plan was shared with {SCHOOL}.")
    form.get_by_label("What the panel learned").fill("Written asthma plans should go to every setting the child attends.")
    rec = page.locator("#rec-1")
    rec.get_by_label("Agency in the directory").select_option("GPHC")
    rec.get_by_label("Due").fill((today + dt.timedelta(days=90)).isoformat())
    rec.get_by_label("Recommendation (anonymised)").fill("Share each child's asthma plan with their school nurse.")
    form.get_by_role("button", name="Record and finalise the analysis").click()

    # The gate's finding beside the field it is in; nothing written; the name not repeated.
    page.get_by_role("alert").first.wait_for()
    error = page.locator("#err-factor-2-notes")
    assert "contains an identifier (school)" in error.inner_text()
    assert page.locator("#factor-2-notes").get_attribute("aria-invalid") == "true"
    assert SCHOOL not in page.content()
    assert page.locator("#learning").input_value().startswith("Written asthma plans")  # kept
    _axe(page, "analysis form with the gate's finding")
    _shot(page, "22-analysis-gate-finding-inline")
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(Analysis).join(Case).where(Case.case_number == number)) is None
    dispose_engines()

    page.locator("#factor-2-notes").fill("No written asthma plan was shared with the school.")
    page.get_by_role("button", name="Record and finalise the analysis").click()
    page.wait_for_url(f"{base}/cdop/cases/{number}/analysis?done=analysis_recorded")
    assert "Analysis recorded and finalised" in page.get_by_role("status").inner_text()
    assert "Modifiable factors identified" in page.locator("#modifiable").inner_text()
    _axe(page, "recorded analysis")
    _shot(page, "23-analysis-recorded")

    with unit_of_work(settings) as uow:
        analysis = uow.session.scalar(select(Analysis).join(Case).where(Case.case_number == number))
        assert [(f.domain, f.factor_code, f.grade, f.notes) for f in analysis.factors] == [
            ("child", "chronic_condition", 1, "Asthma, reviewed twice a year."),
            ("service", "care_plan", 2, "No written asthma plan was shared with the school.")]
        assert (analysis.category, analysis.modifiable, analysis.finalised_on) == ("acute_medical", "yes", today)
        [new_rec] = uow.session.scalars(select(Recommendation).where(Recommendation.analysis_id == analysis.id))
        assert (new_rec.agency_id is not None, new_rec.due_on, new_rec.status) == (
            True, today + dt.timedelta(days=90), "agreed")
        recorded = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "analysis_recorded",
                                                               AuditEvent.entity_id == analysis.id))
        assert recorded.actor == "coordinator"
        assert uow.session.get(Case, analysis.case_id).closed_on == today
    dispose_engines()

    # Issue 21: a recorded text is corrected on the page, gated as typed: the school's name
    # is refused beside the field (not given back), then the text by role is saved.
    page.goto(f"{base}/cdop/cases/{number}/analysis")
    form = page.locator("#correct-learning")
    form.locator("textarea").fill(f"The staff of {SCHOOL} noticed the cough first.")
    form.get_by_role("button", name="Correct").click()
    page.wait_for_load_state()
    error = page.locator("#err-text-learning")
    assert error.is_visible() and "refer to people by their role" in error.inner_text()
    assert page.locator("#text-learning").input_value() == ""
    assert SCHOOL not in page.locator("main").inner_text()
    _axe(page, "analysis correction refused")
    _shot(page, "23b-analysis-correction-refused")
    page.locator("#text-learning").fill("The school noticed the cough first.")
    page.locator("#correct-learning").get_by_role("button", name="Correct").click()
    page.wait_for_url(f"{base}/cdop/cases/{number}/analysis?done=text_amended")
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(Analysis.learning).join(Case).where(Case.case_number == number)) \
            == "The school noticed the cough first."
    dispose_engines()

    # Recommendations: overdue first; record the first one's progress with the keyboard only.
    page.goto(f"{base}/cdop/recommendations")
    assert page.get_by_role("heading", name="Recommendations", exact=True).is_visible()
    _axe(page, "recommendations")
    _shot(page, "24-recommendations-overdue-first")
    first = page.locator("section.rec-card").first
    assert "overdue" in (first.get_attribute("class") or "")
    rec_id = int(first.get_attribute("id").removeprefix("R"))
    assert page.locator("form.progress-form").count() == 0  # no form under each item
    first.get_by_role("link", name=f"Record progress on R{rec_id}").press("Enter")
    first = page.locator(f"#R{rec_id}")
    assert page.locator("form.progress-form").count() == 1
    status = first.get_by_label("Status now")
    status.focus()
    page.keyboard.press("ArrowDown")  # in_progress -> completed
    page.keyboard.press("Tab")
    page.keyboard.type("Audit of written plans completed; actions agreed with each practice.")
    page.keyboard.press("Tab")  # to the button
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/cdop/recommendations?done=progress_recorded")
    assert page.get_by_role("status").inner_text() == "Progress recorded."
    _axe(page, "recommendations after progress")
    _shot(page, "25-recommendation-progress-recorded")

    with unit_of_work(settings) as uow:
        rec_row = uow.session.get(Recommendation, rec_id)
        update = uow.session.scalar(select(RecommendationUpdate).where(RecommendationUpdate.recommendation_id == rec_id)
                                    .order_by(RecommendationUpdate.id.desc()))
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "recommendation_updated",
                                                            AuditEvent.entity_id == rec_id))
        assert (rec_row.status, update.status, update.recorded_on) == ("completed", "completed", today)
        assert update.progress == "Audit of written plans completed; actions agreed with each practice."
        assert event.actor == "coordinator"
    dispose_engines()
    context.close()
