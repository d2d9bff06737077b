"""Every page of the CDOP operations site in a real browser, one test per page: each GET
route of the app's ACCESS table is opened (signed in as a coordinator through Airflow's
own login page, at 1366 x 768, a common laptop screen), axe-core runs on it (WCAG 2.x A
and AA) and fails on any serious or critical violation, and the first screen is kept as
a screenshot in $CDOP_SCREENSHOTS (default /tmp/cdop-ops-screenshots; docs/screenshots/
holds the ones kept for the guides). A GET route added without an example here fails the
first test, so no page escapes the check.

The header's navigation stays on one line at this width on every page.
"""

# ruff: noqa: F811 (the fixtures below are imported from test_ops_browser and used by name)
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.test_ops_browser import (  # noqa: F401 (fixtures)
    PASSWORD,
    REPORT_HTML,
    api_server,
    browser,
    chromium,
)

pytestmark = pytest.mark.timeout(600)
SHOTS = Path(os.environ.get("CDOP_SCREENSHOTS", "/tmp/cdop-ops-screenshots"))
WIDTH, HEIGHT = 1366, 768

# Each GET route -> how to fill its path from the targets below. A route that is not a
# page (a download) says so instead.
EXAMPLES: dict[str, str] = {
    "/": "",
    "/agencies": "agencies",
    "/agencies/{code}": "agencies/{agency}",
    "/analyses": "analyses",
    "/audit": "audit",
    "/cases": "cases?number={open}",
    "/cases/{case_number}": "cases/{open}",
    "/cases/{case_number}/analysis": "cases/{analysed}/analysis",
    "/cases/{case_number}/portal/{agency}": "cases/{portal_case}/portal/{portal_agency}",
    "/cases/{case_number}/report/check": "cases/{checked}/report/check",
    "/cases/{case_number}/reports/{version}": "cases/{approved}/reports/1",
    "/figures": "figures",
    "/figures/board": "figures/board",
    "/gate/held": "gate/held",
    "/investigations": "investigations",
    "/meetings": "meetings",
    "/meetings/{meeting_id}": "meetings/{meeting}",
    "/notifications/new": "notifications/new",
    "/outbox": "outbox",
    "/overdue": "overdue",
    "/papers": "papers",
    "/papers/{case_number}": "papers/{approved}",
    "/recommendations": "recommendations",
    "/reports": "reports",
}
NOT_PAGES = {"/cases/{case_number}/portal/{agency}/attachments/{number}": "a download of the agency's file"}
# A few states of a page that differ from its first look.
MORE = {
    "closed case": "cases/{closed}",
    "case with a submitted portal return": "cases/{portal_case}",
    "recommendation progress form": "recommendations?record={recommendation}",
    "audit, every event": "audit?all=1",
    "no such case": "cases/NO-SUCH-CASE",
}


def test_every_get_route_has_an_example():
    from cdop_airflow.ops_app.app import ACCESS

    pages = {path for path, methods in ACCESS.items() if "GET" in methods}
    assert pages == set(EXAMPLES) | set(NOT_PAGES), pages ^ (set(EXAMPLES) | set(NOT_PAGES))


@pytest.fixture(scope="module")
def targets(api_server):
    """A case, a meeting, a report, ... for each page that shows one."""
    from cdop.panel.report_files import _store
    from cdop.store.db import dispose_engines, unit_of_work
    from cdop.store.models import (
        Agency,
        AgencyRequest,
        Case,
        CaseReport,
        MeetingAllocation,
        PanelMeeting,
        Recommendation,
    )
    from tests.support.ops import submitted_portal_return

    settings, today = api_server["settings"], dt.date.today()
    with unit_of_work(settings) as uow:
        checked = uow.session.scalar(select(Case.case_number).join(CaseReport)
                                     .where(CaseReport.status == "awaiting_check"))
        reported = select(CaseReport.case_id)
        fresh = list(uow.session.scalars(select(Case).where(Case.closed_on.is_(None), Case.id.not_in(reported),
                                                            ~Case.id.in_(select(MeetingAllocation.case_id)))
                                         .order_by(Case.id).limit(2)))
        # One case discussed at a meeting held last week (the analysis form), one approved
        # report (the panel's papers).
        past = PanelMeeting(meets_on=today - dt.timedelta(days=7), kind="general", capacity=8,
                            location="Demo County Hall, room 2")
        uow.session.add(past)
        uow.session.flush()
        analysed, approved = fresh
        for case in (analysed, approved):
            html_path, pdf_path = _store(uow, settings, case.case_number, 1,
                                         REPORT_HTML.format(number=case.case_number), b"%PDF-1.4 report")
            uow.session.add(CaseReport(case_id=case.id, version=1, status="approved",
                                       built_on=today - dt.timedelta(days=20), html_path=html_path,
                                       pdf_path=pdf_path, decided_by="coordinator",
                                       decided_at=dt.datetime.combine(today - dt.timedelta(days=19), dt.time(10))))
        uow.session.add(MeetingAllocation(meeting_id=past.id, case_id=analysed.id,
                                          allocated_on=today - dt.timedelta(days=19), pack="pack"))
        uow.commit()
        found = {
            "open": uow.session.scalar(select(Case.case_number).where(Case.closed_on.is_(None)).order_by(Case.id)),
            "closed": uow.session.scalar(select(Case.case_number).where(Case.closed_on.is_not(None))),
            "meeting": str(uow.session.scalar(select(PanelMeeting.id).where(PanelMeeting.meets_on >= today)
                                              .order_by(PanelMeeting.meets_on))),
            "agency": uow.session.scalar(select(Agency.code).order_by(Agency.code)),
            "checked": checked, "analysed": analysed.case_number, "approved": approved.case_number,
            "recommendation": str(uow.session.scalar(select(Recommendation.id).where(
                Recommendation.status.in_(("agreed", "in_progress"))).order_by(Recommendation.id))),
        }
        portal_case, portal_agency = uow.session.execute(
            select(Case.case_number, Agency.code).join(AgencyRequest, AgencyRequest.case_id == Case.id)
            .join(Agency, Agency.id == AgencyRequest.agency_id)
            .where(Case.closed_on.is_(None), AgencyRequest.status == "sent").order_by(Case.id.desc())).first()
    submitted_portal_return(settings, portal_case, portal_agency, attachment=b"%PDF-1.4 every page")
    dispose_engines()
    return found | {"portal_case": portal_case, "portal_agency": portal_agency}


@pytest.fixture(scope="module")
def laptop(api_server, browser):
    """A coordinator signed in through Airflow's login page, on a 1366 x 768 screen."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{api_server['url']}/cdop/")
    page.wait_for_url("**/auth/login**")
    page.get_by_label("Username").fill("coordinator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{api_server['url']}/cdop/")
    yield page
    context.close()


def _slug(name: str) -> str:
    """A screenshot's file name: "/cases/{case_number}/analysis" -> "cases-one-analysis"."""
    return re.sub(r"[^a-z0-9]+", "-", re.sub(r"\{[^}]+\}", "one", name.lower())).strip("-") or "pipeline"


def _check(page, url: str | None, name: str) -> None:
    """axe-core on the page (opened at `url`, or as it is), the navigation on one line,
    and the first screen kept."""
    from axe_playwright_python.sync_playwright import Axe

    if url is not None:
        response = page.goto(url)
        assert response is not None and response.status < 500, (name, response and response.status)
    results = Axe().run(page, options={"runOnly": {"type": "tag",
                                                   "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]}})
    bad = [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"])
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert results.response["testEngine"]["name"] == "axe-core", name
    assert not bad, f"{name}: {bad}"
    nav = page.locator("header nav")
    if nav.count():  # the site's own pages (not a report document): the navigation on one line
        links = nav.locator("a")
        tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
        assert len(tops) == 1, f"{name}: the navigation wraps at {WIDTH} px"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"page-{_slug(name)}.png"))


@pytest.mark.parametrize("route", sorted(EXAMPLES))
def test_every_page_passes_axe(api_server, targets, laptop, route):
    _check(laptop, f"{api_server['url']}/cdop/{EXAMPLES[route].format(**targets)}", route)


@pytest.mark.parametrize("name", sorted(MORE))
def test_more_states_pass_axe(api_server, targets, laptop, name):
    _check(laptop, f"{api_server['url']}/cdop/{MORE[name].format(**targets)}", name)


def test_refused_forms_pass_axe(api_server, targets, laptop):
    """A refused form as the coordinator sees it: the summary above it linking to the
    field, the problem beside the field, what was typed kept."""
    base = f"{api_server['url']}/cdop"
    page = laptop
    page.goto(f"{base}/cases/{targets['open']}")
    form = page.locator("#ncmd-form")
    form.get_by_label("Date").fill(dt.date.today().isoformat())
    form.get_by_role("button", name="Record").click()  # no time: refused
    page.locator("#ncmd-errors").wait_for()
    assert page.locator("#ncmd-time-error").inner_text().count("is required") == 1
    assert page.locator("#ncmd-time").get_attribute("aria-invalid") == "true"
    assert form.get_by_label("Date").input_value() == dt.date.today().isoformat()  # kept
    # The summary's link goes to the field on this very page: no fresh form, nothing lost.
    page.locator("#ncmd-errors a").first.click()
    assert page.url.endswith(f"/cdop/cases/{targets['open']}/ncmd#ncmd-time")
    assert page.locator("#ncmd-time-error").is_visible()
    assert form.get_by_label("Date").input_value() == dt.date.today().isoformat()
    page.locator("#ncmd-form").scroll_into_view_if_needed()
    _check(page, None, "refused form on the case page")

    page.goto(f"{base}/recommendations?record={targets['recommendation']}")
    form = page.locator(f"#progress-R{targets['recommendation']}")
    form.get_by_label("Status now").select_option("completed")
    form.get_by_role("button", name="Record progress").click()  # no progress: refused
    page.locator(f"#R{targets['recommendation']}-errors").wait_for()
    assert page.locator(f"#R{targets['recommendation']}-progress-error").inner_text().count("is required") == 1
    assert page.locator(f"#R{targets['recommendation']}-status").input_value() == "completed"  # kept
    page.locator(f"#progress-R{targets['recommendation']}").scroll_into_view_if_needed()
    _check(page, None, "refused recommendation progress")
