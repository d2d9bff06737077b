"""A recommendation answered in the browser, as its organisation meets it: the
recommendation really sent through the real SMTP server on loopback, the link read from
the received email, `cdop portal serve` in a process of its own, Debian's headless
Chromium opening the link, the code read from the second email, then accept -> action plan
-> evidence and outcome typed with the keyboard. axe-core runs on every page (no serious or
critical violation); each page is kept as a screenshot in $CDOP_SCREENSHOTS
(default /tmp/cdop-portal-screenshots), named recommendation-*.png.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.test_portal_browser import (  # noqa: F401  (the fixtures)
    CHROMIUM_ARGS,
    _axe_clean,
    _shot,
    _tab_to,
    chromium,
    portal,
)
from tests.support.portal import LINK, latest_code
from tests.support.recommendations import GP, case_with_recommendations

pytestmark = pytest.mark.timeout(300)


def test_an_organisation_accepts_plans_and_reports_its_outcome_in_the_browser(portal, smtp_server,  # noqa: F811
                                                                             chromium, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    from cdop.clock import today_in_england
    from cdop.panel import analysis
    from cdop.store.db import unit_of_work
    from cdop.store.models import Recommendation, RecommendationEvidence
    from cdop_airflow.sending import send_pending

    settings = portal["settings"]
    _, (r_gp, _) = case_with_recommendations(settings)
    send_pending(settings, kinds=list(analysis.KINDS))
    [mail] = [m for m in smtp_server.messages() if m["To"] == GP and m["X-CDOP-Kind"] == "recommendation"]
    url = LINK.search(mail.get_body(("plain",)).get_content()).group(0)
    assert url.startswith(portal["url"] + "/r/")
    evidence = tmp_path / f"R{r_gp}-audit.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% the practice's audit of asthma reviews\n%%EOF\n")
    target = today_in_england() + dt.timedelta(days=90)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-GB").new_page()
        page.goto(url)
        assert page.locator("h1").inner_text() == "Get a code to open the form"
        with page.expect_navigation():
            page.get_by_role("button", name="Send me a code").press("Enter")
        _tab_to(page, "code")
        page.keyboard.type(latest_code(smtp_server, GP))
        with page.expect_navigation(url="**/recommendation"):
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == f"Recommendation R{r_gp}: accept or decline"
        _axe_clean(page, "recommendation: accept or decline")
        _shot(page, "recommendation-1-accept")

        # Send without choosing: the error is announced and tied to its field.
        page.locator('button[value="send"]').focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator('[role="alert"]').count() == 1
        assert page.locator("#response").get_attribute("aria-invalid") == "true"
        _axe_clean(page, "recommendation: answer missing")
        _shot(page, "recommendation-2-error")

        # Keyboard only: choose "accept" (the first radio), give reasons naming someone ->
        # check my text highlights it; change it to a role and send.
        _tab_to(page, "response-accepted")
        page.keyboard.press("Space")
        _tab_to(page, "reasons")
        page.keyboard.type("Dr Grace O'Brien-Łukasz will lead the audit.")
        page.locator('button[value="send"]').focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("mark").count() >= 1
        _axe_clean(page, "recommendation: check my text")
        _shot(page, "recommendation-3-check-my-text")
        _tab_to(page, "reasons")
        page.keyboard.press("Control+A")
        page.keyboard.type("The practice's lead GP for children will lead the audit.")
        page.locator('button[value="send"]').focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == f"Recommendation R{r_gp}: your action plan"
        _axe_clean(page, "recommendation: action plan")

        # The action plan: two actions, owners by role, target dates typed month first.
        for n, (what, owner) in enumerate((("Audit asthma reviews of the last year.", "Named GP for children"),
                                           ("Set up a three-monthly recall.", "Practice manager")), start=1):
            _tab_to(page, f"action-{n}-action")
            page.keyboard.type(what)
            _tab_to(page, f"action-{n}-owner_role")
            page.keyboard.type(owner)
            _tab_to(page, f"action-{n}-target_on")
            page.keyboard.type(f"{target:%m%d%Y}")
        _shot(page, "recommendation-4-plan")
        page.locator('button[value="send"]').focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == f"Recommendation R{r_gp}: evidence and outcome"
        assert page.locator("table.plan tbody tr").count() == 2
        _axe_clean(page, "recommendation: evidence and outcome")

        # Evidence and the outcome.
        page.locator("#evidence").set_input_files(str(evidence))
        _tab_to(page, "outcome")
        page.keyboard.type("Children with two or more exacerbations are now recalled every three months.")
        _shot(page, "recommendation-5-outcome")
        page.locator('button[value="send"]').focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == f"Recommendation R{r_gp}: what you have told us"
        assert "The CDOP office will check it" in page.content()
        _axe_clean(page, "recommendation: all sent")
        _shot(page, "recommendation-6-done")
        browser.close()

    with unit_of_work(settings) as uow:
        rec = uow.session.get(Recommendation, r_gp)
        assert (rec.response, rec.status) == ("accepted", "in_progress")
        assert [r["target_on"] for r in rec.plan] == [target.isoformat()] * 2
        assert rec.outcome.startswith("Children with two or more")
        assert len(uow.session.query(RecommendationEvidence).all()) == 1
    log = portal["log"].read_text()
    assert url.rsplit("/", 1)[1] not in log and "Grace" not in log
