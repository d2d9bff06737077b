"""The CDOP pages in a real browser: `airflow api-server` with the plugin, Debian's
headless Chromium driven by Playwright, signing in through Airflow's own login page
first, then the "CDOP" entry in the Airflow navigation, every page, and a form.

Screenshots go to $CDOP_SCREENSHOTS (default /tmp/cdop-ops-screenshots).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import OFFICE_POLICY, TEST_KEY, free_port
from tests.support.ops import AIRFLOW_API_ENV

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("CDOP_SCREENSHOTS", "/tmp/cdop-ops-screenshots"))
PASSWORD = "browser-test-password"

pytestmark = pytest.mark.timeout(420)


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is required in CI (apt-get install chromium chromium-driver)")
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium chromium-driver")
    return str(CHROMIUM)


def _wait_for(url: str, process: subprocess.Popen, log: Path, limit_s: float = 180) -> None:
    """Poll until the server answers (bounded; fails at once if the server died)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"api-server exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"api-server did not answer in {limit_s} s: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def api_server(airflow_db, chromium, tmp_path_factory):
    """`airflow api-server` on a free port, with the plugin, the demo caseload, and a
    SimpleAuthManager user whose password file the test wrote."""
    from cdop.config import settings_from_env
    from cdop.dev.demo import load_demo
    from cdop.store.db import dispose_engines, migrate

    work = tmp_path_factory.mktemp("browser")
    passwords = work / "passwords.json"
    passwords.write_text(json.dumps({"coordinator": PASSWORD}))
    cdop_env = {
        "CDOP_HOME": str(work / "cdop"),
        "CDOP_DATABASE_URL": f"sqlite:///{work / 'cdop.sqlite'}",
        "CDOP_ENCRYPTION_KEYS": TEST_KEY,
        "CDOP_POLICY_FILE": OFFICE_POLICY,
        "CDOP_SMTP_PORT": "8025",
    }
    settings = settings_from_env(cdop_env)
    migrate(settings)
    load_demo(settings, today=dt.date.today())
    from cdop.store.db import unit_of_work
    from cdop.views.pipeline import stage_counts

    with unit_of_work(settings) as uow:
        counts = stage_counts(uow.session)
    assert counts["gathering_information"] > 0
    dispose_engines()
    port = free_port()
    env = {
        **os.environ,
        **AIRFLOW_API_ENV,
        **cdop_env,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "coordinator:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = work / "api-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "api-server", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/v2/monitor/health", process, log)
        yield {"url": f"http://127.0.0.1:{port}", "settings": settings, "log": log, "counts": counts}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_sign_in_then_use_the_cdop_pages(api_server, browser):
    from cdop.store.db import dispose_engines, unit_of_work
    from cdop.store.models import Agency, AgencyRequest, AuditEvent, Case

    base = api_server["url"]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()

    # Not signed in: the CDOP pages send the browser to Airflow's sign-in page.
    page.goto(f"{base}/cdop/overdue")
    page.wait_for_url("**/auth/login**")
    _shot(page, "01-sign-in")
    page.get_by_label("Username").fill("coordinator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # ...and back to the page asked for, signed in.
    page.wait_for_url(f"{base}/cdop/overdue")
    assert page.get_by_role("heading", name="Overdue returns by agency").is_visible()

    # The "CDOP" entry in Airflow's navigation opens the pages inside the Airflow UI.
    page.goto(f"{base}/")
    page.get_by_role("link", name="CDOP").first.click()
    page.wait_for_url(f"{base}/plugin/cdop")
    frame = page.frame_locator("iframe")
    frame.get_by_role("heading", name="Pipeline by stage").wait_for()
    assert frame.locator('[data-stage="gathering_information"] .n').inner_text() == str(
        api_server["counts"]["gathering_information"])
    _shot(page, "02-cdop-in-airflow-pipeline")

    shots = {}
    for path, heading, name in [
        ("overdue", "Overdue returns by agency", "03-overdue"),
        ("investigations", "Cases waiting on investigations", "04-investigations"),
        ("meetings", "Upcoming panel meetings", "05-meetings"),
        ("outbox", "Outbox", "06-outbox"),
        ("reports", "Case reports awaiting the office's check", "07-reports"),
        ("audit", "Identifiers shown or sent", "11-audit"),
        ("papers", "Panel papers", "12-papers"),
        ("figures", "Operations figures", "13-figures"),
    ]:
        page.goto(f"{base}/cdop/{path}")
        assert page.get_by_role("heading", name=heading).first.is_visible(), path
        shots[path] = _shot(page, name)
    assert page.get_by_text("Nothing was recorded").count() == 0

    # A case with a request awaiting its return: record the return through the form.
    settings = api_server["settings"]
    with unit_of_work(settings) as uow:
        number, agency = uow.session.execute(
            select(Case.case_number, Agency.code)
            .join(AgencyRequest, AgencyRequest.case_id == Case.id)
            .join(Agency, Agency.id == AgencyRequest.agency_id)
            .where(AgencyRequest.status == "sent")
            .order_by(Case.case_number)
        ).first()
    dispose_engines()
    page.goto(f"{base}/cdop/")
    page.get_by_placeholder("Case number").fill(number.lower())
    page.get_by_role("button", name="Open").click()
    page.wait_for_url(f"{base}/cdop/cases/{number}")
    form = page.locator("#return-form")

    # A date in the future is refused, naming the field, and nothing is written.
    form.locator("select[name=agency]").select_option(agency)
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    form.locator("input[name=received]").fill(future)
    form.get_by_role("button", name="Record return").click()
    page.get_by_role("alert").wait_for()
    assert "field 'received': is in the future" in page.get_by_role("alert").inner_text()
    _shot(page, "08-case-form-error")

    form = page.locator("#return-form")
    form.locator("select[name=agency]").select_option(agency)
    form.locator("input[name=received]").fill(dt.date.today().isoformat())
    form.get_by_role("button", name="Record return").click()
    page.wait_for_url(f"{base}/cdop/cases/{number}?done=return_recorded")
    assert page.get_by_role("status").inner_text() == "Return recorded."
    timeline = page.locator("#timeline").inner_text()
    assert "return recorded" in timeline and "airflow:coordinator" in timeline
    _shot(page, "09-case-return-recorded")

    with unit_of_work(settings) as uow:
        request = uow.session.scalar(
            select(AgencyRequest).join(Case).join(Agency, Agency.id == AgencyRequest.agency_id)
            .where(Case.case_number == number, Agency.code == agency))
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "return_recorded")
                                   .order_by(AuditEvent.id.desc()))
        assert request.status == "returned" and request.returned_on == dt.date.today()
        assert event.actor == "airflow:coordinator"
    dispose_engines()
    context.close()
    for path in shots.values():
        assert path.stat().st_size > 10_000
