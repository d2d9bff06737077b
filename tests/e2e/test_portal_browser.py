"""The agencies' portal end to end, as an agency meets it: the request really sent through
the real SMTP server on loopback, the link read from the received email, `cdop portal
serve` in a process of its own, Debian's headless Chromium (Playwright) opening the
link, "Send me a code" pressed, the code read from the second email, the form filled with a chronology and a file
using the keyboard, submitted -> the return recorded and the next chase step cancelled.
axe-core runs on every page the agency sees (no serious or critical violation).

Screenshots go to $CDOP_SCREENSHOTS (default /tmp/cdop-portal-screenshots).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import OFFICE_POLICY, ROOT, TEST_KEY, free_port
from tests.support.portal import LINK, latest_code, sent_case

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("CDOP_SCREENSHOTS", "/tmp/cdop-portal-screenshots"))
RUH = "cdr.riverside@nhs.net"
GPHC = "hillcrest.practice@nhs.net"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def chromium():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is required in CI (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed")
    return str(CHROMIUM)


@pytest.fixture
def portal(tmp_path, smtp_server, chromium):
    """Settings for a CDOP database whose requests went out through the real SMTP server,
    and `cdop portal serve` on a free port, its links pointing at it."""
    import csv

    from cdop.config import settings_from_env
    from cdop.intake.agencies import import_agencies
    from cdop.store.db import dispose_engines, migrate

    port = free_port()
    policy = tmp_path / "policy.toml"
    # The test office's details (required outside demo mode), and the portal's address.
    policy.write_text(Path(OFFICE_POLICY).read_text(encoding="utf-8")
                      + f'\n[portal]\nbase_url = "http://127.0.0.1:{port}"\n')
    env = {
        "CDOP_HOME": str(tmp_path / "home"),
        "CDOP_DATABASE_URL": f"sqlite:///{tmp_path / 'cdop.sqlite'}",
        "CDOP_ENCRYPTION_KEYS": TEST_KEY,
        "CDOP_SMTP_HOST": "127.0.0.1",
        "CDOP_SMTP_PORT": str(smtp_server.port),
        "CDOP_POLICY_FILE": str(policy),
        "CDOP_ACTOR": "test-coordinator",
    }
    settings = settings_from_env(env)
    migrate(settings)
    with (ROOT / "include/cdop/data/demo_agencies.csv").open(newline="") as fh:
        import_agencies(settings, list(csv.DictReader(fh)))
    log = tmp_path / "portal.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(Path(sys.executable).with_name("cdop")), "portal", "serve", "--port", str(port)],
                                  env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/r/nothing-here", server, log)
        yield {"settings": settings, "url": f"http://127.0.0.1:{port}", "log": log}
    finally:
        server.terminate()
        server.wait(timeout=30)
        dispose_engines()


def _wait_for(url: str, process: subprocess.Popen, log: Path, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"portal exited: {log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=5)
        except urllib.error.HTTPError:
            return  # it answered (the plain page, 404)
        except OSError:
            time.sleep(0.3)
            continue
        return
    raise AssertionError(f"portal did not answer in {limit_s} s: {log.read_text()[-3000:]}")


def _axe_clean(page, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values":
                                                   ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5]) for v in results.response["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# Debian's headless Chromium lays out a date input month first, whatever the locale: the
# keyboard types the segments in that order.
def _tab_to(page, element_id: str, limit: int = 200) -> None:
    """Press Tab until the element has the focus (keyboard only: no click, no focus())."""
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


def test_an_agency_completes_its_return_in_the_browser_and_the_next_chase_is_cancelled(portal, smtp_server,
                                                                                       chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    from cdop.requests import chasing
    from cdop.store.db import unit_of_work
    from cdop.store.lookups import get_case, get_request
    from cdop.store.models import AuditEvent, ChronologyEntry, OutboxMessage
    from cdop_airflow.sending import send_pending

    settings = portal["settings"]
    case_number, row, today = sent_case(settings, agencies=("RUH", "GPHC"))
    with unit_of_work(settings) as uow:
        next_chase = get_request(uow, get_case(uow, case_number), "RUH").next_chase_on
    chasing.plan_chases(settings, next_chase)  # the first reminder is queued, not yet sent

    [request_mail] = [m for m in smtp_server.messages() if m["To"] == RUH and m["X-CDOP-Kind"] == "agency_request"]
    url = LINK.search(request_mail.get_body(("plain",)).get_content()).group(0)
    assert url.startswith(portal["url"] + "/r/")
    token = url.rsplit("/", 1)[1]
    attachment = tmp_path / "RUH-chronology.pdf"
    attachment.write_bytes(b"%PDF-1.4\n% the trust's own chronology export\n%%EOF\n")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-GB").new_page()
        page.goto(url)
        # Opening the link sends nothing (mail scanners open links): the agency asks.
        assert page.locator("h1").inner_text() == "Get a code to open the form"
        assert not [m for m in smtp_server.messages() if m["X-CDOP-Kind"] == "portal_code"]
        _axe_clean(page, "first page")
        _shot(page, "0-get-a-code")
        with page.expect_navigation():
            page.get_by_role("button", name="Send me a code").press("Enter")
        assert page.locator("h1").inner_text() == "Enter the code we emailed you"
        _axe_clean(page, "code page")
        _shot(page, "1-code")

        # A wrong code first: the error is announced and tied to its field.
        _tab_to(page, "code")
        page.keyboard.type("000000" if latest_code(smtp_server, RUH) != "000000" else "111111")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator('[role="alert"]').count() == 1
        assert "code-error" in page.locator("#code").get_attribute("aria-describedby")
        _axe_clean(page, "code page with an error")

        _tab_to(page, "code")
        page.keyboard.type(latest_code(smtp_server, RUH))
        with page.expect_navigation(url=f"**/r/{token}/form"):
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "Return for the child death review"
        _axe_clean(page, "form")

        # Submit with the required answers missing: errors in a summary and beside each field.
        _tab_to(page, "chronology-1-date")
        page.keyboard.type(f"{(today - dt.timedelta(days=40)):%m%d%Y}")
        page.locator('button[value="submit"]').focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator('[role="alert"]').count() == 1
        assert page.locator("#involvement__completed_by_role").get_attribute("aria-invalid") == "true"
        _axe_clean(page, "form with errors")
        _shot(page, "3-form-errors")

        # Keyboard only from here: type each answer, arrow through the radios, then submit.
        _tab_to(page, "involvement__completed_by_role")
        page.keyboard.press("Control+A")
        page.keyboard.type("Named nurse for safeguarding children")
        _tab_to(page, "safeguarding__safeguarding_concerns-yes")
        page.keyboard.press("ArrowRight")  # yes -> no (arrows move and select within the group)
        _tab_to(page, "summary")
        page.keyboard.type("Known to the trust since birth; seen in the emergency department twice this year.")
        _tab_to(page, "chronology-1-what_happened")
        page.keyboard.type("Attended the emergency department with a cough; discharged home.")
        _tab_to(page, "chronology-2-date")
        page.keyboard.type(f"{(today - dt.timedelta(days=12)):%m%d%Y}")
        assert page.locator("#chronology-2-date").input_value() == (today - dt.timedelta(days=12)).isoformat()
        _tab_to(page, "chronology-2-what_happened")
        page.keyboard.type("Brought in by ambulance; resuscitation was not successful.")
        # The file itself comes from the operating system's dialog, outside the page.
        page.set_input_files("#attachments", str(attachment))
        assert page.locator("#safeguarding__safeguarding_concerns-no").is_checked()
        _shot(page, "2-form")
        _tab_to(page, "involvement__completed_by_role")
        button = page.locator('button[value="submit"]')
        for _ in range(200):
            if button.evaluate("b => b === document.activeElement"):
                break
            page.keyboard.press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "Return submitted", page.locator("main").inner_text()[:1500]
        reference = page.locator(".reference").inner_text()
        assert reference == f"{case_number}-RUH-1"
        _axe_clean(page, "receipt")
        _shot(page, "4-receipt")

        # The link is used: opening it again shows the plain page.
        page.goto(url)
        assert page.locator("h1").inner_text() == "This link cannot be used"
        _axe_clean(page, "unusable link")

        # Another agency's link, and wrong codes until it locks: the locked page too.
        [gp_mail] = [m for m in smtp_server.messages() if m["To"] == GPHC and m["X-CDOP-Kind"] == "agency_request"]
        page.goto(LINK.search(gp_mail.get_body(("plain",)).get_content()).group(0))
        with page.expect_navigation():
            page.get_by_role("button", name="Send me a code").press("Enter")
        wrong = "000000" if latest_code(smtp_server, GPHC) != "000000" else "111111"
        for _ in range(settings.policy.portal.code_max_failures):
            _tab_to(page, "code")
            page.keyboard.type(wrong)
            with page.expect_navigation():
                page.keyboard.press("Enter")
        assert "locked" in page.locator("main").inner_text()
        _axe_clean(page, "locked link")
        _shot(page, "5-locked")
        browser.close()

    with unit_of_work(settings) as uow:
        request = get_request(uow, get_case(uow, case_number), "RUH")
        assert request.status == "returned" and request.next_chase_on is None
        entries = uow.session.scalars(select(ChronologyEntry).where(ChronologyEntry.request_id == request.id)).all()
        assert len(entries) == 2
        assert uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "return_recorded")).details["via"] == "portal"
    report = send_pending(settings, kinds=list(chasing.KINDS))
    with unit_of_work(settings) as uow:
        step = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.business_key == f"{case_number}/RUH/chase/1"))
        assert step.status == "cancelled" and report["cancelled"] == 1
    # The portal's log names routes, never a token nor the child.
    logged = portal["log"].read_text()
    assert "portal GET /r/{token}/form 200" in logged
    assert token not in logged and row["surname"] not in logged


def test_check_my_text_highlights_a_name_and_the_agency_may_submit_anyway(portal, smtp_server, chromium):
    """Before submitting: the agency's own words that appear to name someone are shown
    back highlighted, with the request to refer to people by role (axe-core clean); the
    agency submits anyway and the return is recorded. Screenshot: portal-check-my-text."""
    from playwright.sync_api import sync_playwright

    from cdop.store.db import unit_of_work
    from cdop.store.lookups import get_case, get_request
    from tests.support.portal import complete_return

    settings = portal["settings"]
    case_number, row, today = sent_case(settings, agencies=("RUH",), seed=5)
    [request_mail] = [m for m in smtp_server.messages() if m["To"] == RUH and m["X-CDOP-Kind"] == "agency_request"]
    url = LINK.search(request_mail.get_body(("plain",)).get_content()).group(0)
    typed = complete_return(today, summary=(
        "Seen in the emergency department twice. Mrs O’Neill, a neighbour, called the ambulance; "
        "the child's mother was at work."))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-GB").new_page()
        page.goto(url)
        # Opening the link sends nothing: the agency asks for its code.
        assert not [m for m in smtp_server.messages() if m["X-CDOP-Kind"] == "portal_code"]
        with page.expect_navigation():
            page.get_by_role("button", name="Send me a code").click()
        assert page.locator("h1").inner_text() == "Enter the code we emailed you"
        page.fill("#code", latest_code(smtp_server, RUH))
        with page.expect_navigation():
            page.keyboard.press("Enter")
        for name, value in typed.items():
            field = page.locator(f'[name="{name}"]').first
            kind = field.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
            if kind == "input:radio":
                page.check(f"#{name}-{value}")
            elif kind.startswith("select"):
                field.select_option(value)
            else:
                field.fill(value)
        with page.expect_navigation():
            page.locator('button[value="submit"]').click()
        warning = page.locator("#check-my-text")
        assert warning.is_visible()
        assert "Please refer to people by their role" in warning.inner_text()
        assert page.locator("#check-my-text mark").all_inner_texts() == ["Mrs O’Neill"]
        assert page.locator("#summary").input_value() == typed["summary"]  # the typed text is kept
        _axe_clean(page, "check my text")
        warning.scroll_into_view_if_needed()
        page.screenshot(path=str(_shots() / "portal-check-my-text.png"), full_page=False)
        page.locator("#check-my-text a[href='#send']").click()
        page.locator("#send").scroll_into_view_if_needed()
        page.screenshot(path=str(_shots() / "portal-submit-anyway.png"), full_page=False)
        with page.expect_navigation():
            page.locator('button[value="submit_anyway"]').click()
        assert page.locator("h1").inner_text() == "Return submitted"
        browser.close()
    with unit_of_work(settings) as uow:
        assert get_request(uow, get_case(uow, case_number), "RUH").status == "returned"


def _shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
