"""The CDOP pages as Airflow serves them: Airflow's own API app (create_app) loads the
plugin from plugins/, mounts it at /cdop and checks its own JWTs. Real CDOP database on
SQLite and PostgreSQL, real templates; the browser test drives the same pages."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from cdop.mail import outbox
from cdop.store.db import unit_of_work
from cdop.store.models import (
    Agency,
    AgencyRequest,
    AuditEvent,
    Case,
    CaseReport,
    ChronologyEntry,
    Investigation,
    MeetingAllocation,
    OutboxMessage,
    PanelMeeting,
    Recommendation,
)
from cdop.store.storage import file_store
from cdop_airflow.ops_app.app import ACCESS
from cdop_airflow.ops_app.roles import Role
from tests.support.ops import (
    PORTAL_ANSWER,
    airflow_api_environment,
    cdop_subapp,
    csrf_from,
    expired_token,
    field_problem,
    forged_token,
    form_summary,
    submitted_portal_return,
    token_for,
)

TODAY = dt.date(2026, 3, 2)
PAGES = ["/cdop/", "/cdop/overdue", "/cdop/investigations", "/cdop/meetings", "/cdop/reports",
         "/cdop/outbox"]
# Sign-in, roles, form tokens, refusals and body limits are decided before any query is
# made, the same on either database: their tests run on SQLite alone. The pages' queries
# and writes run on both (and the read models' SQL in test_ops_queries.py).
AUTH_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def airflow_app(airflow_db, tmp_path_factory):
    """Airflow's API server app, built as `airflow api-server` builds it."""
    with airflow_api_environment(tmp_path_factory.mktemp("auth")):
        from airflow.api_fastapi.app import create_app, purge_cached_app

        app = create_app()
        yield app
        purge_cached_app()


@pytest.fixture
def signed_in(airflow_app, settings):
    """A signed-in coordinator's browser (the `_token` cookie the Airflow UI sets), on an
    empty CDOP database."""
    from fastapi.testclient import TestClient

    from cdop_airflow.ops_app.app import business_today

    sub = cdop_subapp(airflow_app)
    sub.dependency_overrides[business_today] = lambda: TODAY
    with TestClient(airflow_app, base_url="http://airflow.test") as c:
        c.cookies.set("_token", token_for("coordinator"))
        c.headers["accept"] = "text/html"
        yield c
    sub.dependency_overrides.clear()


@pytest.fixture
def client(signed_in, settings, demo_copy):
    """The same browser, with the demo caseload loaded."""
    demo_copy(settings, TODAY)
    return signed_in


def _case_with_sent_request(settings) -> tuple[str, str]:
    with unit_of_work(settings) as uow:
        number, code = uow.session.execute(
            select(Case.case_number, AgencyRequest.agency_id)
            .join(AgencyRequest)
            .where(AgencyRequest.status == "sent")
            .order_by(Case.case_number)
        ).first()
        from cdop.store.models import Agency

        return number, uow.session.get(Agency, code).code


def _identifiers(settings) -> set[str]:
    """Every identifier held, decrypted. (A date of birth is a bare date that may equal
    the date of some event on the page, so it is checked by its label instead.)"""
    with unit_of_work(settings) as uow:
        values = {"date of birth", "date_of_birth"}
        for c in uow.session.scalars(select(Case)):
            values |= {c.forenames + " " + c.surname, c.surname, c.nhs_number or "",
                       c.postcode or "", c.address or "", c.notifier_name or ""}
    return {v for v in values if v}


# ------------------------------------------------------------------------ the plugin


@AUTH_ONLY
def test_plugin_adds_the_cdop_entry_and_mounts_the_app(signed_in):
    plugins = signed_in.get("/api/v2/plugins", headers={"accept": "application/json"}).json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "cdop_operations")
    assert ours["fastapi_apps"][0]["url_prefix"] == "/cdop"
    view = ours["external_views"][0]
    assert (view["name"], view["url_route"], view["destination"]) == ("CDOP", "cdop", "nav")
    assert view["href"] == "cdop/"  # relative: resolved against the UI's <base href>


def test_session_cookie_name_is_airflows():
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    from cdop_airflow.ops_app.auth import COOKIE_NAME_JWT_TOKEN as ours

    assert ours == COOKIE_NAME_JWT_TOKEN


# ---------------------------------------------------------------- only signed-in users


def _every_route(app):
    """(method, path) for every route of the CDOP app, path parameters filled in."""
    from fastapi.routing import APIRoute

    found = []
    for route in app.routes:
        if route.path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
            continue
        # A Mount (static files, a sub-app) would not run the app's dependencies.
        assert isinstance(route, APIRoute), f"{route!r} is not an API route"
        path = re.sub(r"\{case_number\}", "CDOP-2026-0001", route.path).replace("{recommendation_id}", "1")
        path = path.replace("{code}", "RUH").replace("{version}", "1").replace("{meeting_id}", "1")
        path = path.replace("{agency}", "RUH").replace("{number}", "1")
        assert "{" not in path, f"fill in the parameters of {route.path}"
        found += [(method, "/cdop" + path) for method in sorted(route.methods - {"HEAD"})]
    return found


@AUTH_ONLY
def test_every_route_refuses_a_request_without_a_valid_session(signed_in, airflow_app, settings):
    client = signed_in
    routes = _every_route(cdop_subapp(airflow_app))
    assert len(routes) >= 10
    with unit_of_work(settings) as uow:
        events_before = uow.session.query(AuditEvent).count()
    for credential in ("none", "forged", "expired", "garbage-bearer"):
        client.cookies.clear()
        headers = {"accept": "text/html"}
        if credential == "forged":
            client.cookies.set("_token", forged_token())
        elif credential == "expired":
            client.cookies.set("_token", expired_token())
        elif credential == "garbage-bearer":
            headers["authorization"] = "Bearer not.a.jwt"
        for method, path in routes:
            response = client.request(method, path, headers=headers, follow_redirects=False,
                                      data={"agency": "RUH", "received": "2026-03-01"})
            where = (credential, method, path, response.status_code)
            if response.status_code == 303:  # a page: to Airflow's sign-in, then back here
                assert response.headers["location"].startswith("/auth/login?next="), where
            else:
                assert response.status_code in (401, 403), where
            assert "CDOP-2026" not in response.text and "Pipeline" not in response.text, where
    with unit_of_work(settings) as uow:
        assert uow.session.query(AuditEvent).count() == events_before


@AUTH_ONLY
def test_json_clients_get_401_not_a_redirect(signed_in):
    client = signed_in
    client.cookies.clear()
    response = client.get("/cdop/overdue", headers={"accept": "application/json"})
    assert response.status_code == 401


@AUTH_ONLY
def test_a_bearer_token_is_accepted_like_the_cookie(signed_in):
    client = signed_in
    token = client.cookies.get("_token")
    client.cookies.clear()
    response = client.get("/cdop/outbox", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200 and "Outbox" in response.text


# ------------------------------------------------------------------------ the pages


def test_pages_show_the_caseload_and_never_an_identifier(client, settings):
    identifiers = _identifiers(settings)
    assert identifiers
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
        html = response.text
        assert not [v for v in identifiers if v in html], path
    from cdop.views.pipeline import stage_counts

    with unit_of_work(settings) as uow:
        gathering = stage_counts(uow.session)["gathering_information"]
    assert gathering > 0
    pipeline = client.get("/cdop/?stage=gathering_information").text
    assert re.search(rf'data-stage="gathering_information">\s*<div class="n">{gathering}<', pipeline)
    assert "CDOP-2026-" in pipeline
    with unit_of_work(settings) as uow:
        numbers = list(uow.session.scalars(select(Case.case_number)))
    for number in numbers[:5]:
        page = client.get(f"/cdop/cases/{number}")
        assert page.status_code == 200 and number in page.text
        assert not [v for v in identifiers if v in page.text], number
        assert "Notification registered" in page.text


@AUTH_ONLY
def test_unknown_case_is_404(signed_in):
    client = signed_in
    assert client.get("/cdop/cases/NOPE-1").status_code == 404
    assert client.get("/cdop/cases/%3Cscript%3E").status_code == 404


@AUTH_ONLY
def test_case_finder_goes_to_the_case(signed_in):
    response = signed_in.get("/cdop/cases?number=cdop-2026-0003", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/cdop/cases/CDOP-2026-0003"


# ----------------------------------------------------------------------- the actions


def test_record_a_return_from_the_case_page(client, settings):
    number, agency = _case_with_sent_request(settings)
    page = client.get(f"/cdop/cases/{number}")
    response = client.post(
        f"/cdop/cases/{number}/return",
        data={"csrf_token": csrf_from(page.text), "agency": agency, "received": "2026-02-27"},
        files={"file": ("return form.pdf", b"%PDF-1.4 the agency's return", "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == f"/cdop/cases/{number}?done=return_recorded"
    with unit_of_work(settings) as uow:
        request = uow.session.scalar(
            select(AgencyRequest).join(Case).where(Case.case_number == number,
                                                   AgencyRequest.agency.has(code=agency)))
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "return_recorded")
                                   .order_by(AuditEvent.id.desc()))
        assert request.status == "returned" and request.returned_on == dt.date(2026, 2, 27)
        # Stored under a name of the system's making: the sender's file name may be the child's.
        # (A random prefix keeps a new upload from overwriting a file a committed row names.)
        assert request.return_file and request.return_file.endswith(f"-{number}-{agency}-return.pdf.enc")
        assert "return form" not in request.return_file
        assert event.actor == "coordinator" and event.details["file_attached"] is True
        stored = file_store(settings).get(request.return_file)
    assert b"the agency's return" not in stored  # encrypted at rest
    shown = client.get(response.headers["location"]).text
    assert "Return recorded." in shown and "coordinator" in shown


def test_a_bad_form_names_the_field_and_writes_nothing(client, settings):
    number, agency = _case_with_sent_request(settings)
    token = csrf_from(client.get(f"/cdop/cases/{number}").text)
    response = client.post(f"/cdop/cases/{number}/return",
                           data={"csrf_token": token, "agency": agency, "received": "2026-03-09"})
    assert response.status_code == 422
    # Beside its field, linked from the summary; the form keeps the agency chosen and
    # leaves the refused date empty (a refused value is never shown again).
    assert field_problem(response.text, "return", "received") == "is in the future"
    assert 'data-field="received"' in response.text and f'href="cases/{number}/return#return-received"' in response.text
    assert f'<option value="{agency}" selected>' in response.text
    assert "2026-03-09" not in re.search(r'<form[^>]*id="return-form".*?</form>', response.text, re.S).group(0)
    response = client.post(f"/cdop/cases/{number}/return",
                           data={"csrf_token": token, "agency": agency, "received": "27/02/2026"})
    assert response.status_code == 422 and "is not a date in the form YYYY-MM-DD" in response.text
    assert "27/02/2026" not in response.text  # the value is never echoed
    response = client.post(f"/cdop/cases/{number}/return",
                           data={"csrf_token": token, "agency": "NOPE", "received": "2026-02-27"})
    assert response.status_code == 404 and "has no request to agency NOPE" in response.text
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(
            select(AgencyRequest.status).join(Case).where(
                Case.case_number == number, AgencyRequest.agency.has(code=agency))) == "sent"
        assert not uow.session.scalar(select(AuditEvent).where(AuditEvent.actor == "coordinator"))


def test_update_an_investigation(client, settings):
    with unit_of_work(settings) as uow:
        number, kind = uow.session.execute(
            select(Case.case_number, Investigation.kind).join(Investigation)
            .where(Investigation.status == "in_progress").order_by(Case.case_number)).first()
    token = csrf_from(client.get(f"/cdop/cases/{number}").text)
    bad = client.post(f"/cdop/cases/{number}/investigation",
                      data={"csrf_token": token, "kind": kind, "status": "concluded", "date": ""})
    assert bad.status_code == 422 and field_problem(bad.text, "investigation", "date").startswith("is required")
    assert f'<option value="{kind}" selected>' in bad.text and '<option value="concluded" selected>' in bad.text
    bad = client.post(f"/cdop/cases/{number}/investigation",
                      data={"csrf_token": token, "kind": "séance", "status": "concluded",
                            "date": "2026-02-20"})
    assert bad.status_code == 422 and field_problem(bad.text, "investigation", "kind").startswith("must be one of")
    assert "séance" not in bad.text and 'value="2026-02-20"' in bad.text
    ok = client.post(f"/cdop/cases/{number}/investigation",
                     data={"csrf_token": token, "kind": kind, "status": "concluded",
                           "date": "2026-02-20", "outcome": "Inquest concluded."},
                     follow_redirects=False)
    assert ok.status_code == 303
    with unit_of_work(settings) as uow:
        inv = uow.session.scalar(select(Investigation).join(Case).where(
            Case.case_number == number, Investigation.kind == kind))
        assert (inv.status, inv.concluded_on, inv.outcome) == ("concluded", dt.date(2026, 2, 20),
                                                               "Inquest concluded.")
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "investigation_recorded")
                                   .order_by(AuditEvent.id.desc()))
        assert event.actor == "coordinator" and event.details["status"] == "concluded"


def test_approve_or_return_a_case_report(client, settings):
    with unit_of_work(settings) as uow:
        case = uow.session.scalar(select(Case).order_by(Case.id.desc()))
        report = CaseReport(case_id=case.id, version=1, status="awaiting_check", built_on=TODAY)
        uow.session.add(report)
        uow.commit()
        number, report_id = case.case_number, report.id
    assert number in client.get("/cdop/reports").text
    assert 'name="version" value="1"' in client.get(f"/cdop/cases/{number}").text
    page = client.get(f"/cdop/cases/{number}").text
    assert 'id="report-form"' in page
    token = csrf_from(page)
    bad = client.post(f"/cdop/cases/{number}/report",
                      data={"csrf_token": token, "version": "1", "decision": "return"})
    assert bad.status_code == 422 and field_problem(bad.text, "report", "comments").startswith("are required")
    bad = client.post(f"/cdop/cases/{number}/report",
                      data={"csrf_token": token, "version": "1", "decision": "maybe"})
    assert bad.status_code == 422 and "Decision: must be one of" in form_summary(bad.text, "report")
    ok = client.post(f"/cdop/cases/{number}/report",
                     data={"csrf_token": token, "version": "1", "decision": "return",
                           "comments": "Chronology needs the GP entries."},
                     follow_redirects=False)
    assert ok.status_code == 303
    with unit_of_work(settings) as uow:
        saved = uow.session.get(CaseReport, report_id)
        assert (saved.status, saved.decided_by) == ("returned", "coordinator")
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "report_returned"))
        assert event.actor == "coordinator" and event.entity_id == report_id
    assert number not in client.get("/cdop/reports").text
    again = client.post(f"/cdop/cases/{number}/report",
                        data={"csrf_token": token, "version": "1", "decision": "approve"})
    assert again.status_code == 422 and "not awaiting a check" in again.text


# ---------------------------------------------------------------------------- CSRF


@AUTH_ONLY
def test_forms_are_protected_against_cross_site_requests(client, settings):
    number, agency = _case_with_sent_request(settings)
    token = csrf_from(client.get(f"/cdop/cases/{number}").text)
    form = {"agency": agency, "received": "2026-02-27"}
    url = f"/cdop/cases/{number}/return"
    assert client.post(url, data=form).status_code == 403  # no token
    assert client.post(url, data={**form, "csrf_token": "0" * 64}).status_code == 403
    other = csrf_from_session(client, number, token_for("officer", role="op"))
    assert other != token
    assert client.post(url, data={**form, "csrf_token": other}).status_code == 403
    assert client.post(url, data={**form, "csrf_token": token},
                       headers={"origin": "https://evil.example"}).status_code == 403
    assert client.post(url, data={**form, "csrf_token": token},
                       headers={"sec-fetch-site": "cross-site"}).status_code == 403
    with unit_of_work(settings) as uow:
        assert not uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "return_recorded",
                                                               AuditEvent.actor == "coordinator"))
    same = client.post(url, data={**form, "csrf_token": token}, follow_redirects=False,
                       headers={"origin": "http://airflow.test", "sec-fetch-site": "same-origin"})
    assert same.status_code == 303


def csrf_from_session(client, number, token) -> str:
    saved = client.cookies.get("_token")
    client.cookies.set("_token", token)
    try:
        return csrf_from(client.get(f"/cdop/cases/{number}").text)
    finally:
        client.cookies.set("_token", saved)


@AUTH_ONLY
def test_a_missing_setting_is_named_on_the_page(signed_in, monkeypatch):
    monkeypatch.delenv("CDOP_ENCRYPTION_KEYS")
    response = signed_in.get("/cdop/outbox")
    assert response.status_code == 503
    assert "CDOP_ENCRYPTION_KEYS is not set" in response.text


# ------------------------------------------------------------------ roles (issue 10)

# Who signs in: SimpleAuthManager users of each Airflow role, and one whose role Airflow
# accepts but the CDOP does not know (no CDOP role: refused everywhere).
PERSONAS = {
    "coordinator (ADMIN)": ("coordinator", "admin", Role.COORDINATOR),
    "coordinator (OP)": ("officer", "op", Role.COORDINATOR),
    "panel member (USER)": ("panel", "user", Role.PANEL_MEMBER),
    "viewer (VIEWER)": ("viewer", "viewer", Role.VIEWER),
    "no CDOP role": ("stranger", None, None),
}


def _app_routes(sub) -> list[tuple[str, str]]:
    """(method, path template) of every route the CDOP app serves, from the app itself."""
    from fastapi.routing import APIRoute

    found = []
    for route in sub.routes:
        if route.path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
            continue
        assert isinstance(route, APIRoute), f"{route!r} is not an API route"
        found += [(method, route.path) for method in sorted(route.methods - {"HEAD"})]
    return found


def test_every_route_is_in_the_access_table_and_enforces_it(airflow_app):
    """A route without a decision about who may use it cannot exist: each one carries
    exactly one Requires, with the roles the ACCESS table gives it, and the table names
    no route the app does not serve."""
    from fastapi.routing import APIRoute

    from cdop_airflow.ops_app.auth import Requires

    sub = cdop_subapp(airflow_app)
    served = set(_app_routes(sub))
    declared = {(method, path) for path, methods in ACCESS.items() for method in methods}
    assert served == declared
    for route in sub.routes:
        if not isinstance(route, APIRoute):
            continue
        guards = [d.dependency for d in route.dependencies if isinstance(d.dependency, Requires)]
        assert len(guards) == 1, route.path
        [method] = route.methods - {"HEAD"}
        assert guards[0].roles == ACCESS[route.path][method], route.path


def _approved_report(settings, number: str) -> None:
    from cdop.panel.report_files import _store

    html = f"<html><body><h1>Case report {number}</h1><p>Anonymised summary for the panel.</p></body></html>"
    with unit_of_work(settings) as uow:
        case = uow.session.scalar(select(Case).where(Case.case_number == number))
        html_path, pdf_path = _store(uow, settings, number, 1, html, b"%PDF-1.4 report")
        uow.session.add(CaseReport(case_id=case.id, version=1, status="approved", built_on=TODAY,
                                   decided_by="cli:test", decided_at=dt.datetime(2026, 2, 20, 10),
                                   html_path=html_path, pdf_path=pdf_path))
        uow.commit()


def _matrix_targets(settings) -> dict:
    """A separate target for each action a coordinator persona will succeed at, so each
    allowed request does what it says (303) and each refused one finds work to do."""
    from cdop.panel.meetings import add_meeting, add_member

    with unit_of_work(settings) as uow:
        sent = uow.session.execute(
            select(Case.case_number, Agency.code).join(AgencyRequest, AgencyRequest.case_id == Case.id)
            .join(Agency, Agency.id == AgencyRequest.agency_id)
            .where(AgencyRequest.status == "sent", Case.closed_on.is_(None))
            .order_by(Case.case_number, Agency.code)).all()
        returned = uow.session.execute(
            select(Case.case_number, Agency.code).join(AgencyRequest, AgencyRequest.case_id == Case.id)
            .join(Agency, Agency.id == AgencyRequest.agency_id)
            .where(AgencyRequest.status == "returned", Case.closed_on.is_(None))
            .order_by(Case.case_number, Agency.code)).all()
        open_processes = uow.session.execute(
            select(Case.case_number, Investigation.kind).join(Investigation)
            .where(Investigation.status == "in_progress", Case.closed_on.is_(None))
            .order_by(Case.case_number)).all()
        # The date of death is encrypted: compared here, decrypted, not in SQL.
        open_cases = [c.case_number for c in uow.session.scalars(
            select(Case).where(Case.closed_on.is_(None)).order_by(Case.case_number))
            if c.date_of_death < TODAY]
        cases = list(uow.session.scalars(select(Case).where(Case.closed_on.is_(None))
                                         .order_by(Case.id.desc()).limit(6)))
        for case in cases[:2]:
            uow.session.add(CaseReport(case_id=case.id, version=1, status="awaiting_check", built_on=TODAY))
            # A chronology entry naming the child: a replacement for the check page to decide.
            uow.session.add(ChronologyEntry(case_id=case.id, event_date=TODAY - dt.timedelta(days=3),
                                            description=f"{case.forenames.split()[0]} seen at home."))
        # Two cases discussed at a meeting that has taken place, for the analysis form.
        past = PanelMeeting(meets_on=TODAY - dt.timedelta(days=7), kind="general", capacity=8)
        uow.session.add(past)
        uow.session.flush()
        for case in cases[4:6]:
            uow.session.add_all([
                CaseReport(case_id=case.id, version=1, status="approved", built_on=TODAY - dt.timedelta(days=20)),
                MeetingAllocation(meeting_id=past.id, case_id=case.id, allocated_on=TODAY - dt.timedelta(days=19),
                                  pack="pack")])
        analysed = [c.case_number for c in cases[4:6]]
        recommendations = [str(i) for i in uow.session.scalars(
            select(Recommendation.id).where(Recommendation.status.in_(("agreed", "in_progress")))
            .order_by(Recommendation.id).limit(2))]
        uow.commit()
        awaiting = [c.case_number for c in cases[:2]]
        approved = cases[3].case_number
        held = []
        for turn in range(2):  # one held message for each coordinator persona to release
            message, _ = outbox.enqueue(uow, settings, key=f"matrix/held/{turn}", kind="daily_digest",
                                        to=["cdop.coordinator@example.nhs.net"], subject="Digest",
                                        business_date=TODAY)
            message.status, message.last_error = "held", "could not be composed (ValueError)"
            uow.session.flush()
            held.append(str(message.id))
        uow.commit()
    _approved_report(settings, approved)
    add_member(settings, name="Dr Matrix", role="Designated doctor", email="matrix.doctor@nhs.net")
    meeting = add_meeting(settings, meets_on=TODAY, kind="general", capacity=6, location="Room 1",
                          today=TODAY, starts_at="10:00")
    one_per_request = {}
    for number, code in sent:  # at most one request per case: distinct cases
        one_per_request.setdefault(number, code)
    requests = list(one_per_request.items())
    return {"returns": requests[:2], "waivers": requests[2:4], "content": returned[:2],
            "processes": open_processes[:2], "open": open_cases, "reports": awaiting,
            "approved": approved, "held": held, "meeting": str(meeting),
            "analysed": analysed, "recommendations": recommendations,
            "portal": [submitted_portal_return(settings, number, code, attachment=b"%PDF-1.4 matrix")
                       for number, code in requests[4:6]]}


AGENCY_FILE = (b"code,name,type,request_email,escalation_email,secure,phone\n"
               b"MTX,Matrix Community Trust,community_health,requests.matrix@nhs.net,,yes,01234 999999\n")


def _request_for(method: str, path: str, targets: dict, turn: int) -> tuple[str, dict, dict | None]:
    """The URL, form and files for one cell of the matrix. `turn` picks the coordinator's target."""
    fill = path.replace("{meeting_id}", targets["meeting"]).replace("{code}", "RUH")
    files = None
    form: dict = {}
    if path == "/cases/{case_number}/return":
        number, code = targets["returns"][turn]
        return path.replace("{case_number}", number), {"agency": code, "received": "2026-02-27"}, None
    if path == "/cases/{case_number}/waive":
        number, code = targets["waivers"][turn]
        return path.replace("{case_number}", number), {"agency": code, "reason": "Not involved."}, None
    if path == "/cases/{case_number}/waiver":  # after /waive, in the app's order: the same request
        number, code = targets["waivers"][turn]
        return path.replace("{case_number}", number), {"agency": code, "reason": "Not involved in care."}, None
    if path == "/cases/{case_number}/return/summary":
        number, code = targets["content"][turn]
        return path.replace("{case_number}", number), {"agency": code, "summary": "Seen twice in clinic."}, None
    if path == "/cases/{case_number}/return/entry":  # after /content, in the app's order: an entry to correct
        number, _ = targets["content"][turn]
        return path.replace("{case_number}", number), {"entry": "1", "what_happened": "Clinic visit."}, None
    if path == "/cases/{case_number}/analysis/correct":  # after /analysis, in the app's order
        return (path.replace("{case_number}", targets["analysed"][turn]),
                {"what": "learning", "key": "", "text": "Safer sleep advice was repeated."}, None)
    if path == "/cases/{case_number}/content":
        number, code = targets["content"][turn]
        return (path.replace("{case_number}", number),
                {"agency": code, "summary": "Seen twice in clinic.", "entries": "2026-01-05 | Clinic visit",
                 "replace": "yes"}, None)
    if path == "/cases/{case_number}/investigation":
        number, kind = targets["processes"][turn]
        return path.replace("{case_number}", number), {"kind": kind, "status": "concluded",
                                                       "date": "2026-02-20", "outcome": ""}, None
    if path == "/cases/{case_number}/ncmd":
        return path.replace("{case_number}", targets["open"][turn]), {"date": "2026-03-01", "time": "09:30"}, None
    if path == "/cases/{case_number}/family":
        return path.replace("{case_number}", targets["open"][2 + turn]), {"key_worker_offered": "yes"}, None
    if path == "/cases/{case_number}/identifiers":
        return path.replace("{case_number}", targets["open"][turn]), {"reason": "The coroner asked"}, None
    if path == "/cases/{case_number}/report":
        return (path.replace("{case_number}", targets["reports"][turn]),
                {"version": "1", "decision": "approve"}, None)
    if path == "/cases/{case_number}/report/check":
        return path.replace("{case_number}", targets["reports"][0]), {}, None
    if path == "/cases/{case_number}/report/replacements":
        return (path.replace("{case_number}", targets["reports"][turn]),
                {"replacement": "1", "decision": "keep"}, None)
    if path == "/cases/{case_number}/report/reveal":
        return (path.replace("{case_number}", targets["reports"][turn]),
                {"replacement": "1", "reason": "The matrix checks who may reveal"}, None)
    if path == "/cases/{case_number}/reports/{version}":
        return path.replace("{case_number}", targets["approved"]).replace("{version}", "1"), {}, None
    if path == "/cases/{case_number}/report/rebuild":
        # The report is refused (the case is not ready): a 422 naming the field, not a 303.
        return path.replace("{case_number}", targets["open"][4 + turn]), {}, None
    if path == "/papers/{case_number}":
        return path.replace("{case_number}", targets["approved"]), {}, None
    if path == "/cases/{case_number}/analysis":
        return path.replace("{case_number}", targets["analysed"][turn]), (
            {"category": "infection", "factor-1-factor": "child:acute_illness", "factor-1-grade": "1"}
            if method == "POST" else {}), None
    if path == "/recommendations/{recommendation_id}/progress":
        return path.replace("{recommendation_id}", targets["recommendations"][turn]), {
            "status": "in_progress", "progress": "Audit started."}, None
    if path == "/recommendations/{recommendation_id}/confirm":
        # No organisation has sent evidence in the matrix's database: refused, naming the field.
        return path.replace("{recommendation_id}", targets["recommendations"][turn]), {}, None
    if path == "/outbox/release":
        return path, {"message": targets["held"][turn]}, None
    if path.startswith("/cases/{case_number}/portal/{agency}"):
        number, code = targets["portal"][turn if method == "POST" else 0]
        return (path.replace("{case_number}", number).replace("{agency}", code)
                .replace("{number}", "1"), {}, None)
    if path == "/cases":
        return path + "?number=" + targets["approved"], {}, None
    if path == "/notifications" and method == "POST":
        form = {"forenames": "Matrix", "surname": f"Persona{'AB'[turn]}", "date_of_birth": "2020-05-01",
                "date_of_death": "2026-02-20", "sex": "female", "place_of_death": "hospital",
                "expected": "no", "deprivation_decile": "5", "agencies": ["RUH"]}
    elif path == "/notifications/file":
        files = {"file": ("many.csv", (
            "forenames,surname,date_of_birth,date_of_death,sex,place_of_death,expected,deprivation_decile,agencies\n"
            f"Matrix,File{'AB'[turn]},2019-04-01,2026-02-21,male,home,no,4,RUH\n").encode(), "text/csv")}
    elif path == "/agencies/import":
        files = {"file": ("directory.csv", AGENCY_FILE, "text/csv")}
    elif path == "/agencies/{code}" and method == "POST":
        form = {"name": "Riverside University Hospitals NHS Trust", "type": "hospital_trust",
                "request_email": "cdr.riverside@nhs.net", "secure": "yes", "active": "yes"}
    elif path == "/meetings" and method == "POST":
        # Ahead of the business date, whether the server's is TODAY or the real one.
        form = {"date": f"{dt.date.today().year + 1}-04-0" + "12"[turn], "time": "14:00", "kind": "general",
                "capacity": "6",
                "location": "Room 2"}
    elif path == "/meetings/{meeting_id}" and method == "POST":
        form = {"member": "1"}
    assert "{" not in fill.replace("{case_number}", ""), f"fill in the parameters of {path}"
    return fill.replace("{case_number}", targets["approved"]), form, files


# An allowed request that answers with a page of its own rather than a redirect.
ANSWERS_WITH_A_PAGE = {"/cases/{case_number}/identifiers": 200, "/cases/{case_number}/report/rebuild": 422,
                       "/cases/{case_number}/report/reveal": 200,
                       # Nothing is held in the matrix's database: refused, naming the field.
                       "/gate/held/release": 422,
                       # Nothing has its evidence in yet: refused, naming the field.
                       "/recommendations/{recommendation_id}/confirm": 422}


@AUTH_ONLY
def test_the_role_matrix_on_a_real_api_server(client, settings, airflow_app):
    """Role x route x method -> allowed (2xx/3xx) or refused (403, a styled page naming no
    case), through Airflow's own API app and its JWTs; nothing refused writes anything.
    Signed out: the sign-in page (a page) or 401 (an action)."""
    from cdop_airflow.ops_app.auth import csrf_token_for

    sub = cdop_subapp(airflow_app)
    routes = _app_routes(sub)
    targets = _matrix_targets(settings)
    numbers = _all_case_numbers(settings)
    turns: dict[str, int] = {}
    matrix = {}

    def writes() -> int:
        with unit_of_work(settings) as uow:
            return uow.session.scalar(select(func.count()).select_from(AuditEvent)
                                      .where(AuditEvent.action != "report_read"))

    for persona, (username, role, cdop_role) in PERSONAS.items():
        token = token_for(username, role=role)
        client.cookies.set("_token", token)
        for method, path in routes:
            allowed = cdop_role in ACCESS[path][method]
            turn = turns.get(path, 0) if allowed else 0
            url, form, files = _request_for(method, path, targets, turn)
            data = {**form, "csrf_token": csrf_token_for(token)} if method == "POST" else None
            before = writes()
            response = client.request(method, "/cdop" + url, data=data, files=files, follow_redirects=False)
            alert = re.search(r'role="alert".*?</div>', response.text, re.S)
            where = (persona, method, path, response.status_code, alert.group(0) if alert else response.text[:300])
            matrix[(persona, method, path)] = response.status_code
            if allowed:
                assert 200 <= response.status_code < 400 or path in ANSWERS_WITH_A_PAGE, where
                if method == "POST" and path in ANSWERS_WITH_A_PAGE:
                    assert response.status_code == ANSWERS_WITH_A_PAGE[path], where
                    turns[path] = turn + 1
                elif method == "POST":
                    assert response.status_code == 303 and "done=" in response.headers["location"], where
                    turns[path] = turn + 1
            else:
                assert response.status_code == 403, where
                assert "does not allow this page or action" in response.text, where
                assert "<h1" in response.text and "</html>" in response.text, where  # the styled page
                assert not [n for n in numbers if n in response.text], where
                assert writes() == before, where
            if cdop_role is Role.VIEWER and response.status_code == 200:
                assert not [n for n in numbers if n in response.text], where  # figures only
    # Each role's home.
    for persona, home in (("panel member (USER)", "/cdop/papers"), ("viewer (VIEWER)", "/cdop/figures")):
        assert matrix[(persona, "GET", "/")] == 303, persona
        username, role, _ = PERSONAS[persona]
        client.cookies.set("_token", token_for(username, role=role))
        assert client.get("/cdop/", follow_redirects=False).headers["location"] == home
    # Signed out: every cell refused, nothing written.
    client.cookies.clear()
    before = writes()
    for method, path in routes:
        url, form, files = _request_for(method, path, targets, 0)
        response = client.request(method, "/cdop" + url, data=form or None, files=files, follow_redirects=False)
        if method == "GET":
            assert response.status_code == 303 and response.headers["location"].startswith("/auth/login"), path
        else:
            assert response.status_code == 401, path
    assert writes() == before


def _all_case_numbers(settings) -> list[str]:
    with unit_of_work(settings) as uow:
        return list(uow.session.scalars(select(Case.case_number)))


def test_panel_members_read_approved_reports_only_and_each_reading_is_audited(client, settings):
    targets = _matrix_targets(settings)
    client.cookies.set("_token", token_for("panel", role="user"))
    papers = client.get("/cdop/papers")
    assert papers.status_code == 200 and targets["approved"] in papers.text
    assert not [n for n in targets["reports"] if n in papers.text]  # awaiting check: not theirs
    assert "Pipeline" not in papers.text and 'action="cases"' not in papers.text  # nav for their role
    report = client.get(f"/cdop/papers/{targets['approved']}")
    assert report.status_code == 200 and f"Case report {targets['approved']}" in report.text
    assert client.get(f"/cdop/papers/{targets['reports'][0]}").status_code == 404  # not approved
    with unit_of_work(settings) as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "report_read"))
        assert event.actor == "panel"


def test_the_audit_page_lists_every_reveal_newest_first(client, settings):
    from cdop.intake.cases import describe_case

    numbers = _all_case_numbers(settings)[:2]
    why = ["Søren Weiß-Hope's GP asked", "Coroner’s officer needs the NHS number"]
    for number, reason in zip(numbers, why, strict=True):
        describe_case(settings, number, reveal=True, reason=reason)
    page = client.get("/cdop/audit")
    assert page.status_code == 200
    html = page.text
    assert html.index(numbers[1]) < html.index(numbers[0])  # newest first
    from markupsafe import escape

    assert escape(why[0]) in html and escape(why[1]) in html
    assert "identifiers viewed" in html and "test-coordinator" in html
    assert "notification registered" not in html  # reveals only by default
    assert "identifiers sent" in html and "agency request, secure route" in html  # the demo's requests
    every = client.get("/cdop/audit?all=1").text

    def total(page: str) -> int:
        return int(re.search(r"&middot; (\d+) in all", page).group(1))

    assert total(every) > total(html) > 2 and "identifiers viewed" in every
    client.cookies.set("_token", token_for("panel", role="user"))
    refused = client.get("/cdop/audit")
    assert refused.status_code == 403 and escape(why[0]) not in refused.text
NASTY_FORM_VALUES = [
    "QZV77001XK\r\nBcc: someone@example.org", "QZV77002XK\x00", "\u202eQZV77003XK", "QZV77004XK\x1b[2J",
    "9999-12-31", "0001-01-01", "QZV77005XK" + "x" * 70_000, "\u2066QZV77006XK\u2069", "QZV77007XK\u200b",
]


def test_the_forms_refuse_any_input_without_echo_or_writing(client, settings):
    """Issue 11: each form, with control, bidirectional and invisible characters, far
    dates and over-long text in each field: refused naming the field, nothing echoed,
    every table as it was."""
    from tests.support.fuzz_inputs import snapshot

    number, agency = _case_with_sent_request(settings)
    token = csrf_from(client.get(f"/cdop/cases/{number}").text)
    forms = {
        "return": {"agency": agency, "received": "2026-02-27"},
        "investigation": {"kind": "police", "status": "concluded", "date": "2026-02-20", "outcome": "Closed."},
        "report": {"version": "1", "decision": "return", "comments": "Add the GP's last contact."},
    }
    before = snapshot(settings)
    tried = 0
    for form, good in forms.items():
        for field in good:
            for value in NASTY_FORM_VALUES:
                if field in ("outcome", "comments") and ("\r\n" in value or value[:1] in "09"):
                    continue  # a line break or a date is fine in free text
                response = client.post(f"/cdop/cases/{number}/{form}",
                                       data={"csrf_token": token, **good, field: value}, follow_redirects=False)
                tried += 1
                assert response.status_code in (404, 422), (form, field, response.status_code)
                assert "qzv7700" not in response.text.lower(), (form, field)
                assert "Traceback" not in response.text
    assert tried > 60
    assert snapshot(settings) == before


def test_a_blocked_report_shows_the_gate_findings_in_context_without_the_values(client, settings):
    """Issue 10 item 3: the coordinator sees where the gate found what, with the words around
    it, every identifier in the window shown by its field name only."""
    with unit_of_work(settings) as uow:
        request = uow.session.scalar(
            select(AgencyRequest).join(Case).where(AgencyRequest.status == "returned")
            .order_by(Case.case_number))
        case = request.case
        number, surname, forename = case.case_number, case.surname, case.forenames.split()[0]
        code = request.agency.code
        request.summary = (f"Seen in clinic with {forename} {surname}; mother called on "
                           "07700 900123 about the follow-up appointment.")
        uow.session.add(CaseReport(case_id=case.id, version=9, status="blocked", built_on=TODAY,
                                   gate_findings=["child.surname"]))
        uow.commit()
    page = client.get(f"/cdop/cases/{number}")
    assert page.status_code == 200
    assert "What the anonymisation gate found" in page.text
    assert f"summary of the {code} return" in page.text
    assert "<mark>[child.surname]</mark>" in page.text or "<mark>[child.name]</mark>" in page.text
    assert "unrecorded.phone" in page.text  # what nobody recorded is found too
    assert surname not in page.text and "07700 900123" not in page.text
    assert "follow-up appointment" in page.text  # the context around it


# ------------------------------------------------------- the coordinator's day (issue 12)


@AUTH_ONLY
def test_refusals_are_pages_of_the_site(client):
    unknown = client.get("/cdop/cases/NOPE-1")
    assert unknown.status_code == 404
    assert "<h1>Not found</h1>" in unknown.text and "There is no case NOPE-1" in unknown.text
    assert 'href="overdue"' in unknown.text  # the coordinator's navigation: a page of the site
    nowhere = client.get("/cdop/no/such/page")
    assert nowhere.status_code == 404 and "There is no page at this address." in nowhere.text
    assert "</html>" in nowhere.text


def test_a_closed_case_is_read_only(client, settings):
    with unit_of_work(settings) as uow:
        number = uow.session.scalar(select(Case.case_number).where(Case.closed_on.is_not(None)))
    page = client.get(f"/cdop/cases/{number}")
    assert page.status_code == 200 and "This case is closed: its record is read-only." in page.text
    for form in ("return-form", "waive-form", "investigation-form", "ncmd-form", "family-form", "report-form"):
        assert f'id="{form}"' not in page.text, form
    token = csrf_from(page.text)
    refused = client.post(f"/cdop/cases/{number}/investigation",
                          data={"csrf_token": token, "kind": "police", "status": "concluded", "date": "2026-02-20"})
    assert refused.status_code == 422 and "Case: is closed: its record is read-only" in form_summary(
        refused.text, "investigation")
    with unit_of_work(settings) as uow:
        assert not uow.session.scalar(select(AuditEvent).where(AuditEvent.actor == "coordinator"))


def test_the_timeline_is_in_words_with_one_name_per_person(client, settings):
    number, agency = _case_with_sent_request(settings)
    token = csrf_from(client.get(f"/cdop/cases/{number}").text)
    client.post(f"/cdop/cases/{number}/return", data={"csrf_token": token, "agency": agency,
                                                      "received": "2026-02-27"},
                files={"file": ("r.pdf", b"%PDF-1.4 x", "application/pdf")})
    with unit_of_work(settings) as uow:
        name = uow.session.scalar(select(Agency.name).where(Agency.code == agency))
        case_id = uow.session.scalar(select(Case.id).where(Case.case_number == number))
        uow.session.add(AuditEvent(actor="airflow-ui:coordinator", action="report_approved", entity="case_report",
                                   case_id=case_id, details={"version": 1}))
        uow.commit()
    timeline = client.get(f"/cdop/cases/{number}").text.split('id="timeline"')[1]
    from markupsafe import escape

    assert f"Return received from {escape(name)}, with a file" in timeline
    assert "Case report version 1 approved for the panel" in timeline
    assert "file attached" not in timeline and "airflow-ui:" not in timeline and "airflow:coordinator" not in timeline
    assert "<td>coordinator</td>" in timeline


def test_register_notifications_from_a_file_all_or_nothing(client, settings):
    page = client.get("/cdop/notifications/new")
    token = csrf_from(page.text)
    header = "forenames,surname,date_of_birth,date_of_death,sex,place_of_death,expected,deprivation_decile,agencies\n"
    bad = (header + "Ada,QZV77011XK,2020-01-01,2026-02-01,female,home,no,3,RUH\n"
           "Bo,QZV77012XK,2020-01-01,2031-02-01,male,home,no,3,NOPE\n")
    with unit_of_work(settings) as uow:
        before = uow.session.scalar(select(func.count()).select_from(Case))
    refused = client.post("/cdop/notifications/file", data={"csrf_token": token},
                          files={"file": ("deaths.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 422
    assert "row 2, field &#39;date_of_death&#39;" in refused.text and "row 2, field &#39;agencies&#39;" in refused.text
    assert "qzv7701" not in refused.text.lower()
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Case)) == before  # nothing half-written
    good = bad.replace("2031-02-01", "2026-02-02").replace("NOPE", "GPHC")
    done = client.post("/cdop/notifications/file", data={"csrf_token": token},
                       files={"file": ("deaths.csv", good.encode(), "text/csv")})
    assert done.status_code == 200 and "2 notifications registered" in done.text
    assert "QZV7701" not in done.text
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Case)) == before + 2
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "notification_registered")
                                   .order_by(AuditEvent.id.desc()))
        assert event.actor == "coordinator"


def test_edit_an_agency_and_import_the_directory(client, settings):
    page = client.get("/cdop/agencies")
    assert page.status_code == 200 and "RUH" in page.text
    token = csrf_from(client.get("/cdop/agencies/RUH").text)
    bad = client.post("/cdop/agencies/RUH", data={"csrf_token": token, "name": "Riverside\r\nBcc: x@example.org",
                                                  "type": "hospital_trust", "request_email": "not-an-address"})
    assert bad.status_code == 422 and field_problem(bad.text, "agency", "name") and field_problem(
        bad.text, "agency", "request_email")
    assert "Bcc" not in bad.text and "not-an-address" not in bad.text  # refused values are not put back
    assert '<option value="hospital_trust" selected>' in bad.text  # what was right is kept
    ok = client.post("/cdop/agencies/RUH", data={"csrf_token": token, "name": "Riverside University Hospitals",
                                                 "type": "hospital_trust", "request_email": "cdr.riverside@nhs.net",
                                                 "secure": "yes", "active": "yes"}, follow_redirects=False)
    assert ok.status_code == 303
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(Agency.name).where(Agency.code == "RUH")) == "Riverside University Hospitals"
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "agencies_imported")
                                   .order_by(AuditEvent.id.desc()))
        assert event.actor == "coordinator"
    assert client.get("/cdop/agencies/NOPE").status_code == 404


def test_family_identifiers_are_entered_but_never_shown_back_except_by_an_audited_reveal(client, settings):
    with unit_of_work(settings) as uow:
        case = uow.session.scalar(select(Case).where(Case.closed_on.is_(None)).order_by(Case.id))
        number, surname = case.case_number, case.surname
    token = csrf_from(client.get(f"/cdop/cases/{number}").text)
    done = client.post(f"/cdop/cases/{number}/family",
                       data={"csrf_token": token, "sibling": ["5-9 years"], "key_worker_offered": "yes",
                             "identifier_field": ["parent_name", ""], "identifier_value": ["Morwenna Pascoe", ""]},
                       follow_redirects=False)
    assert done.status_code == 303, done.text[:400]
    page = client.get(f"/cdop/cases/{number}").text
    assert "Morwenna" not in page and "parent name" in page and surname not in page
    refused = client.post(f"/cdop/cases/{number}/identifiers", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 422 and field_problem(refused.text, "reveal", "reason") and surname not in refused.text
    shown = client.post(f"/cdop/cases/{number}/identifiers", data={"csrf_token": token, "reason": "Coroner's officer"})
    assert shown.status_code == 200 and surname in shown.text
    assert shown.headers["cache-control"] == "no-store"
    with unit_of_work(settings) as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "identifiers_viewed")
                                   .order_by(AuditEvent.id.desc()))
        assert event.actor == "coordinator" and event.reason == "Coroner's officer"


def test_meeting_business_waits_for_the_meeting(client, settings):
    from cdop.panel.meetings import add_meeting

    meeting = add_meeting(settings, meets_on=TODAY + dt.timedelta(days=20), kind="general", capacity=4,
                          today=TODAY, starts_at="14:30", location="Room 9")
    page = client.get(f"/cdop/meetings/{meeting}")
    assert page.status_code == 200 and "at 14:30" in page.text and 'name="minutes"' not in page.text
    token = csrf_from(page.text)
    early = client.post(f"/cdop/meetings/{meeting}", data={"csrf_token": token, "minutes": "Too soon."})
    assert early.status_code == 422 and "Minutes: the meeting has not happened yet" in form_summary(early.text, "business")
    listing = client.get("/cdop/meetings").text
    assert "at 14:30" in listing and "Room 9" in listing and "Held" in listing
    assert client.get("/cdop/meetings/999999").status_code == 404


def test_a_portal_return_is_read_downloaded_and_reopened_from_the_case_page(client, settings, smtp_server):
    """The coordinator sees an agency's portal return from the case page: its answers
    (audited, not cached), its attachment as a download named by case and agency, and a
    Reopen button that ends the agency's links and queues a fresh one, which the request
    DAG's portal task sends."""
    from cdop.portal.service import KIND_LINK, PORTAL_KINDS
    from cdop.sending import delivery
    from cdop.store.models import PortalForm, PortalLink

    number, code = _case_with_sent_request(settings)
    submitted_portal_return(settings, number, code, attachment=b"%PDF-1.4 the agency's file")
    case_page = client.get(f"/cdop/cases/{number}")
    assert case_page.status_code == 200
    link = f'cases/{number}/portal/{code}"'
    assert link in case_page.text and f"submitted ({number}-{code}-1)" in case_page.text
    assert PORTAL_ANSWER not in case_page.text  # the answers are on their own, audited page

    answers = client.get(f"/cdop/cases/{number}/portal/{code}")
    assert answers.status_code == 200 and PORTAL_ANSWER in answers.text
    assert answers.headers["cache-control"] == "no-store"
    assert "Named Child" not in answers.text  # the name the agency gave its file is never shown
    download = client.get(f"/cdop/cases/{number}/portal/{code}/attachments/1")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 the agency's file"
    assert download.headers["content-disposition"] == f'attachment; filename="{number}-{code}-attachment-1.pdf"'
    assert download.headers["content-type"] == "application/octet-stream"
    assert client.get(f"/cdop/cases/{number}/portal/{code}/attachments/2").status_code == 404
    assert client.get(f"/cdop/cases/{number}/portal/NOPE").status_code == 404
    with unit_of_work(settings) as uow:
        actions = [(e.action, e.actor) for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(("portal_return_viewed", "portal_attachment_read")))
            .order_by(AuditEvent.id))]
    assert actions == [("portal_return_viewed", "coordinator"), ("portal_attachment_read", "coordinator")]

    with unit_of_work(settings) as uow:  # a live link, which the reopening ends
        request_id = uow.session.scalar(select(PortalForm.request_id).where(
            PortalForm.reference == f"{number}-{code}-1"))
        uow.session.add(PortalLink(request_id=request_id, case_id=uow.session.get(AgencyRequest, request_id).case_id,
                                   token_hash="matrix-live-link", sent_to="x@nhs.net", secure_route=True,
                                   issued_at=dt.datetime(2026, 2, 20), expires_at=dt.datetime(2099, 1, 1),
                                   codes_sent=0, code_failures=0))
        uow.commit()
    token = csrf_from(case_page.text)
    done = client.post(f"/cdop/cases/{number}/portal/{code}/reopen", data={"csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303 and "done=portal_reopened" in done.headers["location"]
    again = client.post(f"/cdop/cases/{number}/portal/{code}/reopen", data={"csrf_token": token})
    assert again.status_code == 422 and "no submitted portal return to reopen" in again.text
    with unit_of_work(settings) as uow:
        form = uow.session.scalar(select(PortalForm).where(PortalForm.request_id == request_id))
        link = uow.session.scalar(select(PortalLink).where(PortalLink.token_hash == "matrix-live-link"))
        queued = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == KIND_LINK)).all()
        assert form.status == "reopened" and link.ended_reason == "reopened"
        assert [m.status for m in queued] == ["pending"]
    # What the request DAG's send_portal_messages task runs: the new link goes.
    from dataclasses import replace

    from cdop.mail.mailer import SmtpMailer

    sending = replace(settings, smtp=replace(settings.smtp, port=smtp_server.port))
    mailer = SmtpMailer(sending.smtp, sending.policy.mail_from)
    try:
        report = delivery.deliver(sending, mailer, kinds=list(PORTAL_KINDS))
    finally:
        mailer.close()
    assert len(report.sent) == 1 and not report.failed
    [mail] = smtp_server.messages()
    assert "/r/" in mail.get_body(("plain",)).get_content()


# --------------------------------------------- the check of a pseudonymised draft (issue 21)


def _draft_to_check(settings) -> tuple[str, str]:
    """A case whose return names the child, a neighbour nobody recorded and a Baby Bjorn sling (a brand read as a given name),
    with version 1 of its report drafted from them and waiting for the check."""
    from cdop.panel import case_reports
    from cdop.store.lookups import get_case

    with unit_of_work(settings) as uow:
        request = uow.session.scalar(
            select(AgencyRequest).join(Case).where(
                AgencyRequest.status == "returned", Case.closed_on.is_(None),
                ~select(CaseReport.id).where(CaseReport.case_id == Case.id).exists())
            .order_by(Case.case_number))
        number, forename = request.case.case_number, request.case.forenames.split()[0]
        request.summary = (f"{forename} was brought in by Ms Xander, a neighbour. {forename}'s Baby Bjorn sling "
                           "was in the bedroom; Ms Xander called the ambulance.")
        uow.commit()
    with unit_of_work(settings) as uow:
        case = case_reports._load_case(uow, number)
        assert get_case(uow, number).id == case.id
        case_reports._build(uow, settings, case, 1, TODAY)
        uow.commit()
    return number, forename


def test_the_coordinator_checks_each_replacement_on_the_report_page(client, settings):
    """Issue 21 item 2: the draft with every replacement marked (label, kind, who found it;
    no original), one small form per replacement: keep, change, undo with a reason, each
    POST + redirect and audited; a reveal only with a reason, audited; approval waits for
    every flag."""
    number, forename = _draft_to_check(settings)
    page = client.get(f"/cdop/cases/{number}/report/check")
    assert page.status_code == 200
    assert forename not in page.text and "Xander" not in page.text and "Bjorn" not in page.text
    marks = re.findall(r'<mark class="r ([a-z ]*)"[^>]*>([^<]+)<sup>(\d+)</sup></mark>', page.text)
    assert [(label, n) for _, label, n in marks] == [
        ("The child", "1"), ("[person A]", "2"), ("The child", "3"), ("[person B]", "4"), ("[person A]", "5")]
    assert [kind.strip() for kind, _, _ in marks] == ["", "flag", "", "flag", "flag"]  # flags to decide
    assert "a name nobody recorded" in page.text and "to decide" in page.text
    token = csrf_from(page.text)
    items = {int(n): fp for n, fp in re.findall(
        r'name="replacement" value="(\d+)"><input type="hidden" name="fingerprint" value="([0-9a-f]+)"', page.text)}
    assert sorted(items) == [1, 2, 4]  # 3 and 5 are the same words as 1 and 2: decided with them
    assert "The same words as <a href=\"cases/" + number + "/report/check#r2\">No. 2</a>" in page.text

    # Approval waits.
    refused = client.post(f"/cdop/cases/{number}/report", data={"csrf_token": token, "version": "1",
                                                                  "decision": "approve"})
    assert refused.status_code == 422 and "wait for your decision" in refused.text

    def decide(n: int, **form):
        return client.post(f"/cdop/cases/{number}/report/replacements", follow_redirects=False,
                           data={"csrf_token": token, "replacement": str(n), "fingerprint": items[n], **form})

    # Undo without a reason: refused, named, nothing written.
    bad = decide(4, decision="undo")
    assert bad.status_code == 422 and "field &#39;reason&#39;: is required" in bad.text
    undone = decide(4, decision="undo", reason="A Baby Bjorn is a baby sling")
    assert undone.status_code == 303 and undone.headers["location"].endswith("/report/check?done=replacement_decided#r4")
    assert decide(2, decision="label", label="a neighbour").status_code == 303
    # A label that names someone is refused.
    named = decide(1, decision="label", label=forename)
    assert named.status_code == 422 and "contains an identifier" in named.text and forename not in named.text
    after = client.get(f"/cdop/cases/{number}/report/check")
    assert "Bjorn" in after.text  # undone: as written, what the panel will read
    assert after.text.count(">a neighbour<sup>") == 2  # the same words, the same decision everywhere
    assert "Every replacement is decided." in after.text
    # A stale form (the draft changed since the page was drawn) is refused, not decided blind.
    stale = client.post(f"/cdop/cases/{number}/report/replacements",
                        data={"csrf_token": token, "replacement": "1", "fingerprint": "0" * 64, "decision": "keep"})
    assert stale.status_code == 422 and "look again" in stale.text

    # A reveal shows the original once, with a reason, audited; never without one.
    assert client.post(f"/cdop/cases/{number}/report/reveal",
                       data={"csrf_token": token, "replacement": "1"}).status_code == 422
    shown = client.post(f"/cdop/cases/{number}/report/reveal",
                        data={"csrf_token": token, "replacement": "1", "reason": "The family liaison asked"})
    assert shown.status_code == 200 and f"was written as: <strong>{forename}</strong>" in shown.text
    with unit_of_work(settings) as uow:
        events = {e.action: e for e in uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action.like("replacement_%")))}
        assert set(events) == {"replacement_undone", "replacement_relabelled", "replacement_revealed"}
        assert events["replacement_revealed"].reason == "The family liaison asked"
        assert events["replacement_undone"].reason == "A Baby Bjorn is a baby sling"
        assert events["replacement_revealed"].actor == "coordinator"
        assert forename not in repr([e.details for e in events.values()])
    assert client.get(f"/cdop/cases/{number}/report/check").text.count(forename) == 0  # not kept on the page

    approved = client.post(f"/cdop/cases/{number}/report", follow_redirects=False,
                           data={"csrf_token": token, "version": "1", "decision": "approve"})
    assert approved.status_code == 303
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(CaseReport.status).join(Case).where(Case.case_number == number)) == "approved"


@AUTH_ONLY
def test_the_check_page_forms_need_the_csrf_token(client, settings):
    number, _ = _draft_to_check(settings)
    for path, form in (("replacements", {"replacement": "1", "decision": "keep"}),
                       ("reveal", {"replacement": "1", "reason": "Because"})):
        response = client.post(f"/cdop/cases/{number}/report/{path}", data=form, follow_redirects=False)
        assert response.status_code == 403, path
    with unit_of_work(settings) as uow:
        assert not uow.session.scalar(select(AuditEvent).where(AuditEvent.action.like("replacement_%")))

# ------------------------------------------------------- bounds and refusals (issue 22)


@AUTH_ONLY
def test_a_value_that_is_not_a_number_is_named_never_echoed(signed_in):
    """Issue 22 item 9: `?page=` that is not a number gets a page of the site naming the
    field, not FastAPI's JSON repeating the value; a JSON client gets the field too."""
    for path in ("/cdop/overdue", "/cdop/outbox", "/cdop/audit"):
        page = signed_in.get(f"{path}?page=Qzv7700O’Neill")
        assert page.status_code == 422 and page.headers["content-type"].startswith("text/html"), path
        assert "Not valid: page." in page.text and "</html>" in page.text
        assert "Qzv7700" not in page.text and "O’Neill" not in page.text
    as_json = signed_in.get("/cdop/overdue?page=Qzv7700", headers={"accept": "application/json"})
    assert as_json.status_code == 422 and as_json.json()["detail"][0]["loc"] == ["query", "page"]
    assert "Qzv7700" not in as_json.text


@AUTH_ONLY
def test_a_chunked_upload_to_the_pages_is_refused_past_the_limit_unread(airflow_app, settings):
    """Issue 22 item 5: the operations pages under uvicorn, as Airflow's API server runs
    them: a chunked body with no length, sent by nobody signed in, to a route that takes a
    form, is refused with 413 once past the limit; the app read no more than that."""
    from cdop_airflow.ops_app.app import MAX_BODY_BYTES
    from tests.support.http_server import SERVER_MESSAGE_MAX, Counted, chunked_post, serve

    counted = Counted(airflow_app)
    server, thread, url = serve(counted)
    try:
        status, _ = chunked_post(url, "/cdop/outbox/release", total=2 * MAX_BODY_BYTES)
    finally:
        server.should_exit = True
        thread.join(timeout=60)
    assert status == 413
    assert counted.body_bytes - counted.last_message <= MAX_BODY_BYTES < counted.body_bytes
    assert counted.last_message <= SERVER_MESSAGE_MAX

def test_register_a_death_keeps_what_was_typed_and_names_each_problem_beside_its_field(signed_in, agencies):
    """Issue 23: one bad field no longer throws the form away. The refused field comes
    back empty with its problem beside it (never the value); everything else comes back
    as typed; the deprivation decile, rarely known at notification, may be left out."""
    token = csrf_from(signed_in.get("/cdop/notifications/new").text)
    typed = {"csrf_token": token, "forenames": "Grace May", "surname": "O’Neill-Łukasiewicz",
             "date_of_birth": "2019-05-05", "date_of_death": "2026-02-20", "nhs_number": "943 476 5918",
             "sex": "female", "place_of_death": "hospital", "expected": "no", "postcode": "BA1 1AA",
             "agencies": ["RUH", "GPHC"], "investigations": ["post_mortem"], "notifier_name": "Dr Hope Will"}
    with unit_of_work(agencies) as uow:
        before = uow.session.scalar(select(func.count()).select_from(Case))
    refused = signed_in.post("/cdop/notifications", data=typed, follow_redirects=False)
    assert refused.status_code == 422
    page = refused.text
    assert "943 476 5918" not in page and "9434765918" not in page  # the refused value is not repeated
    assert 'id="err-nhs_number"' in page and 'aria-describedby="err-nhs_number"' in page
    assert 'href="notifications#f-nhs_number">NHS number</a>' in page  # this document, the POST's answer
    assert "field &#39;nhs_number&#39;" not in page  # no programmer's message at the top
    assert 'value="Grace May"' in page and 'value="O’Neill-Łukasiewicz"' in page
    assert 'value="2019-05-05"' in page and 'value="BA1 1AA"' in page and 'value="Dr Hope Will"' in page
    assert '<option value="hospital" selected>' in page and '<option value="no" selected>' in page
    assert 'value="RUH" checked' in page and 'value="GPHC" checked' in page and 'value="post_mortem" checked' in page
    assert 'name="deprivation_decile" min="1" max="10" required' not in page
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Case)) == before

    done = signed_in.post("/cdop/notifications", data={**typed, "nhs_number": "943 476 5919"},
                          follow_redirects=False)
    assert done.status_code == 303
    with unit_of_work(agencies) as uow:
        case = uow.session.scalar(select(Case).order_by(Case.id.desc()))
        assert uow.session.scalar(select(func.count()).select_from(Case)) == before + 1
        assert case.deprivation_decile is None and case.surname == "O’Neill-Łukasiewicz"


def test_the_case_header_shows_age_band_expected_and_the_flags_the_cli_shows(signed_in, agencies):
    """Issue 23: the page shows what `cdop case list` and `cdop ncmd breaches` flag -- an open
    unexpected death with no CDRM or joint agency response, an NCMD notification overdue --
    and the header says the age band and whether the death was expected, never the date."""
    from cdop.intake.notifications import register_notifications

    row = {"forenames": "Will", "surname": "Ståle-Brønn", "date_of_birth": "2021-06-14",
           "date_of_death": "2026-02-20", "sex": "male", "place_of_death": "home", "expected": "no",
           "agencies": ["RUH"], "notified_on": "2026-02-23"}
    flagged, told = (register_notifications(agencies, [r], today=TODAY)[0]
                     for r in (row, {**row, "forenames": "Hope", "investigations": ["jar"]}))
    with unit_of_work(agencies) as uow:
        uow.session.scalar(select(Case).where(Case.case_number == told)).ncmd_notified_at = dt.datetime(2026, 2, 21, 9)
        uow.commit()
    page = signed_in.get(f"/cdop/cases/{flagged}").text
    assert "1-4 years &middot; unexpected death" in page
    assert "no Child Death Review Meeting or joint agency response recorded" in page
    assert "NCMD notification overdue" in page
    assert "2026-02-20" not in page and "2026-02-22" not in page  # neither the death nor its deadline
    other = signed_in.get(f"/cdop/cases/{told}").text
    assert "1-4 years &middot; unexpected death" in other
    assert "NCMD notification overdue" not in other and "joint agency response recorded" not in other
    # The pipeline's list of the stage flags the same case, and only it.
    listing = signed_in.get("/cdop/?stage=notified").text  # registered, not asked yet
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<tr><td><a href="cases/([^"]+)">.*?</tr>', listing, re.S)}
    assert "no CDRM or JAR" in rows[flagged] and "no CDRM or JAR" not in rows[told]

def test_the_held_findings_page_locates_each_finding_and_releases_a_false_alarm_with_a_reason(signed_in, settings):
    """What holds a statutory output, placed and kinded (never the words), and the
    coordinator's release with a reason: audited, every place of the same text at once."""
    from cdop.confidentiality.decisions import fingerprint
    from cdop.store.models import HeldFinding

    client = signed_in
    secret = "Kestrel Road"  # what was found: kept only as its fingerprint
    fp = fingerprint("address", "14 " + secret)
    with unit_of_work(settings) as uow:
        for document, section, row, line, column in (
                ("annual-report-2027.html", "Recommendations made this year", 2, 355, None),
                ("tables/recommendations_made.csv", None, 1, None, "Recommendation")):
            uow.session.add(HeldFinding(output="annual_report:2027", document=document, section=section, row=row,
                                        line=line, column=column, field="unrecorded.address", kind="address",
                                        severity="stop", fingerprint=fp, status="held", found_on=TODAY))
        uow.commit()
        first = uow.session.scalar(select(HeldFinding.id).order_by(HeldFinding.id))
    page = client.get("/cdop/gate/held")
    assert page.status_code == 200
    shown = unescape(page.text)
    assert "Annual report 2027: not released" in shown
    assert "an address nobody recorded" in shown and "the same words in 2 places, released together" in shown
    assert 'annual-report-2027.html, section "Recommendations made this year", row 2, line 355' in shown
    assert 'tables/recommendations_made.csv, row 1, column "Recommendation"' in shown
    assert "unrecorded.address" in shown and secret not in shown
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    refused = client.post("/cdop/gate/held/release", data={"csrf_token": token, "finding": str(first), "reason": ""})
    assert refused.status_code == 422 and "field 'reason'" in unescape(refused.text)
    done = client.post("/cdop/gate/held/release", follow_redirects=False, data={
        "csrf_token": token, "finding": str(first), "reason": "The Łucja O’Neill-Smith road safety team's office."})
    assert done.status_code == 303 and "done=finding_released" in done.headers["location"]
    with unit_of_work(settings) as uow:
        assert set(uow.session.scalars(select(HeldFinding.status))) == {"released"}
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "gate_finding_released"))
        assert event.details["places"] == 2 and event.reason.startswith("The Łucja")
    after = client.get("/cdop/gate/held?done=finding_released")
    assert "Nothing is held by the gate." in after.text and "Released, with your reason" in after.text
    assert "Łucja" not in after.text  # the reason is audited, not shown back


def test_a_waiver_reason_naming_the_child_is_refused_on_the_page_and_can_be_corrected(client, settings):
    """Gated where typed, on the page too: the waiver's reason naming the child is refused
    naming the field (never the words); a waived return's reason is corrected by a form."""
    from cdop.requests.agency_requests import waive_request

    number, code = _case_with_sent_request(settings)
    with unit_of_work(settings) as uow:
        forename = uow.session.scalar(select(Case.forenames).where(Case.case_number == number)).split()[0]
    page = client.get(f"/cdop/cases/{number}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = client.post(f"/cdop/cases/{number}/waive", data={
        "csrf_token": token, "agency": code, "reason": f"{forename} was never seen by this agency."})
    assert refused.status_code == 422
    alert = re.search(r'role="alert".*?</div>', refused.text, re.S).group(0)
    assert "Reason" in alert and "refer to people by their role" in alert and forename not in alert
    assert "refer to people by their role" in field_problem(refused.text, "waive", "reason")
    assert forename not in refused.text  # the refused reason is not put back in its box
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(AgencyRequest.status).join(Case).join(Agency).where(
            Case.case_number == number, Agency.code == code)) == "sent"

    waive_request(settings, number, code, reason="Not involved.", today=TODAY)
    again = client.post(f"/cdop/cases/{number}/waiver", data={
        "csrf_token": token, "agency": code, "reason": f"{forename}'s family moved away."})
    assert again.status_code == 422 and forename not in re.search(r'role="alert".*?</div>', again.text, re.S).group(0)
    done = client.post(f"/cdop/cases/{number}/waiver", follow_redirects=False, data={
        "csrf_token": token, "agency": code, "reason": "The family moved out of the area before the death."})
    assert done.status_code == 303 and "done=waiver_amended" in done.headers["location"]
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(AgencyRequest.waiver_reason).join(Case).join(Agency).where(
            Case.case_number == number, Agency.code == code)).startswith("The family moved")


def _case_with(settings, *conditions) -> Case:
    with unit_of_work(settings) as uow:
        case = uow.session.scalars(select(Case).where(Case.closed_on.is_(None), *conditions)
                                   .order_by(Case.case_number)).first()
        uow.session.expunge(case)
        return case


def _audited(settings, action: str) -> int:
    with unit_of_work(settings) as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_a_returns_summary_and_a_chronology_entry_are_corrected_on_the_case_page_gated(client, settings):
    """Issue 21: the texts `cdop return amend-summary|amend-entry` correct are editable on
    the page too. A correction naming the child is refused beside its field (never
    repeating it), what else was typed comes back, nothing is written; by role: saved and
    audited."""
    case = _case_with(settings, Case.requests.any(AgencyRequest.status == "returned"),
                      Case.id.in_(select(ChronologyEntry.case_id)))
    number, name = case.case_number, case.forenames.split()[0]
    with unit_of_work(settings) as uow:
        agency = uow.session.scalars(select(Agency.code).join(AgencyRequest, AgencyRequest.agency_id == Agency.id)
                                     .join(Case).where(Case.case_number == number,
                                                       AgencyRequest.status == "returned")).first()
    page = client.get(f"/cdop/cases/{number}")
    assert 'id="summary-form"' in page.text and 'id="entry-form"' in page.text
    token = csrf_from(page.text)

    def summary_of() -> str | None:
        with unit_of_work(settings) as uow:
            return uow.session.scalar(select(AgencyRequest.summary).join(Case).join(Agency).where(
                Case.case_number == number, Agency.code == agency))

    before = summary_of()
    refused = client.post(f"/cdop/cases/{number}/return/summary", follow_redirects=False,
                          data={"csrf_token": token, "agency": agency, "summary": f"{name} was seen at home."})
    assert refused.status_code == 422
    assert 'id="summary-summary-error"' in refused.text and "refer to people by their role" in refused.text
    assert 'aria-describedby="summary-summary-error"' in refused.text
    assert name not in refused.text and f'value="{agency}" selected' in refused.text
    assert summary_of() == before and _audited(settings, "return_summary_amended") == 0
    done = client.post(f"/cdop/cases/{number}/return/summary", follow_redirects=False,
                       data={"csrf_token": token, "agency": agency, "summary": "The child was seen at home."})
    assert done.status_code == 303, done.text[:500]
    assert summary_of() == "The child was seen at home." and _audited(settings, "return_summary_amended") == 1

    refused = client.post(f"/cdop/cases/{number}/return/entry", follow_redirects=False,
                          data={"csrf_token": token, "entry": "1", "what_happened": f"Visit to {name}."})
    assert refused.status_code == 422 and 'id="entry-what_happened-error"' in refused.text
    assert name not in refused.text and 'name="entry" min="1" max="100000" required value="1"' in refused.text
    missing = client.post(f"/cdop/cases/{number}/return/entry", follow_redirects=False,
                          data={"csrf_token": token, "entry": "9999", "what_happened": "Seen by the GP."})
    assert missing.status_code == 422 and 'id="entry-entry-error"' in missing.text
    assert "Seen by the GP." in missing.text  # not what was refused: given back
    assert _audited(settings, "chronology_entry_amended") == 0
    done = client.post(f"/cdop/cases/{number}/return/entry", follow_redirects=False,
                       data={"csrf_token": token, "entry": "1", "what_happened": "Visit to the child at home."})
    assert done.status_code == 303 and _audited(settings, "chronology_entry_amended") == 1
    # No form token: refused, nothing written.
    forged = client.post(f"/cdop/cases/{number}/return/entry", follow_redirects=False,
                         data={"entry": "1", "what_happened": "Seen."})
    assert forged.status_code == 403 and _audited(settings, "chronology_entry_amended") == 1


def test_every_text_of_a_recorded_analysis_is_corrected_on_its_page_gated(client, settings):
    """Issue 21: learning, each factor line's notes (not editable at all before), each
    recommendation's text and latest progress: a form each on the analysis page; a name
    is refused beside the field, never repeated; by role: saved and audited."""
    from cdop.panel.analysis import record_recommendation_update
    from cdop.store.models import Analysis, AnalysisFactor, RecommendationUpdate

    with unit_of_work(settings) as uow:
        analysis = uow.session.scalars(select(Analysis).where(Analysis.id.in_(select(AnalysisFactor.analysis_id)))
                                       .order_by(Analysis.id)).first()
        case = uow.session.get(Case, analysis.case_id)
        number, name, analysis_id = case.case_number, case.forenames.split()[0], analysis.id
        rec_id = uow.session.scalars(select(Recommendation.id).where(Recommendation.case_id == case.id)
                                     .order_by(Recommendation.id)).first()
    if rec_id is not None:  # a latest progress to correct
        record_recommendation_update(settings, rec_id, status="in_progress", progress="Started.", today=TODAY)
    page = client.get(f"/cdop/cases/{number}/analysis")
    assert 'id="correct-learning"' in page.text and 'id="correct-notes-1"' in page.text
    token = csrf_from(page.text)
    forms = [("learning", "", "learning"), ("notes", "1", "notes-1")]
    if rec_id is not None:
        forms += [("recommendation", str(rec_id), f"recommendation-{rec_id}"), ("progress", str(rec_id),
                                                                                 f"progress-{rec_id}")]
    for what, key, form in forms:
        refused = client.post(f"/cdop/cases/{number}/analysis/correct", follow_redirects=False,
                              data={"csrf_token": token, "what": what, "key": key,
                                    "text": f"Advice was given to {name}."})
        assert refused.status_code == 422, (what, refused.status_code)
        assert f'id="err-text-{form}"' in refused.text and "refer to people by their role" in refused.text
        assert f'aria-describedby="err-text-{form}"' in refused.text and name not in refused.text, what
        done = client.post(f"/cdop/cases/{number}/analysis/correct", follow_redirects=False,
                           data={"csrf_token": token, "what": what, "key": key,
                                 "text": "Advice was given to the family."})
        assert done.status_code == 303, (what, done.text[:300])
    with unit_of_work(settings) as uow:
        analysis = uow.session.get(Analysis, analysis_id)
        assert analysis.learning == "Advice was given to the family."
        assert analysis.factors[0].notes == "Advice was given to the family."
        if rec_id is not None:
            assert uow.session.get(Recommendation, rec_id).text == "Advice was given to the family."
            assert uow.session.scalars(select(RecommendationUpdate.progress).where(
                RecommendationUpdate.recommendation_id == rec_id).order_by(
                RecommendationUpdate.recorded_on.desc(), RecommendationUpdate.id.desc())).first() \
                == "Advice was given to the family."
    assert _audited(settings, "learning_amended") == 1 and _audited(settings, "factor_notes_amended") == 1
    # Another case's recommendation is not this page's to correct.
    other = client.post(f"/cdop/cases/{number}/analysis/correct", follow_redirects=False,
                        data={"csrf_token": token, "what": "recommendation", "key": "999999", "text": "x y z"})
    assert other.status_code == 404


def test_the_coordinator_confirms_a_recommendation_complete_on_its_evidence_from_the_page(client, settings):
    """A recommendation is closed by evidence, not by time: the page offers "Confirm
    complete" only beside an outcome reported with evidence; confirming one without is
    refused naming the field; confirming one with it completes it, audited."""
    from cdop.store.files import store_encrypted
    from cdop.store.models import RecommendationEvidence

    with unit_of_work(settings) as uow:
        rec_ids = uow.session.scalars(select(Recommendation.id).where(
            Recommendation.status.in_(("agreed", "in_progress"))).order_by(Recommendation.id)).all()
    assert len(rec_ids) >= 2
    with_evidence, without = rec_ids[0], rec_ids[1]
    with unit_of_work(settings) as uow:  # what the organisation sent through the portal
        rec = uow.session.get(Recommendation, with_evidence)
        rec.response, rec.status = "accepted", "in_progress"
        rec.plan = [{"action": "Audit the reviews.", "owner_role": "Named GP for children",
                     "target_on": "2026-02-01"}]
        rec.outcome = "Recall every three months is in place."
        stored = store_encrypted(uow, settings, "files/evidence", "evidence.pdf", b"%PDF-1.4\n")
        uow.session.add(RecommendationEvidence(recommendation_id=with_evidence, stored_path=stored,
                                               original_name="audit.pdf", content_type="application/pdf",
                                               size_bytes=9))
        uow.commit()
    page = client.get("/cdop/recommendations?show=open&page=1")
    assert page.status_code == 200
    assert f'action="recommendations/{with_evidence}/confirm"' in page.text
    assert f'action="recommendations/{without}/confirm"' not in page.text
    assert "Recall every three months is in place." in page.text and "Named GP for children" in page.text
    token = csrf_from(page.text)
    refused = client.post(f"/cdop/recommendations/{without}/confirm", data={"csrf_token": token},
                          follow_redirects=False)
    assert refused.status_code == 422 and "has no outcome with evidence reported yet" in unescape(refused.text)
    done = client.post(f"/cdop/recommendations/{with_evidence}/confirm", data={"csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303
    with unit_of_work(settings) as uow:
        assert uow.session.get(Recommendation, with_evidence).status == "completed"
        assert uow.session.get(Recommendation, without).status in ("agreed", "in_progress")
    assert _audited(settings, "recommendation_confirmed") == 1


def test_each_page_entry_point_of_free_text_refuses_the_childs_name_naming_the_field(client, settings):
    """Issue 21, item 8: the page forms that take free text bound for a panel or public
    document (a process's outcome, the family's support notes, a recommendation's
    progress, a meeting's minutes) refuse the child's forename naming the field, never
    repeating it, and write nothing."""
    from cdop.panel.meetings import add_meeting
    from cdop.store.models import RecommendationUpdate

    with unit_of_work(settings) as uow:
        number, kind = uow.session.execute(
            select(Case.case_number, Investigation.kind).join(Investigation)
            .where(Investigation.status == "in_progress", Case.closed_on.is_(None)).order_by(Case.case_number)).first()
        forename = uow.session.scalar(select(Case.forenames).where(Case.case_number == number)).split()[0]
        case_id = uow.session.scalar(select(Case.id).where(Case.case_number == number))
        rec_id = uow.session.scalars(select(Recommendation.id).where(
            Recommendation.case_id == case_id, Recommendation.status.in_(("agreed", "in_progress")))).first()
    meeting = add_meeting(settings, meets_on=TODAY - dt.timedelta(days=1), kind="general", capacity=6,
                          location="Room 1", today=TODAY - dt.timedelta(days=30), starts_at="10:00")
    with unit_of_work(settings) as uow:
        uow.session.add(MeetingAllocation(meeting_id=meeting, case_id=case_id, allocated_on=TODAY - dt.timedelta(days=9)))
        uow.commit()
    token = csrf_from(client.get(f"/cdop/cases/{number}").text)
    named = f"{forename} was seen at home."
    posts = [(f"/cdop/cases/{number}/investigation", "outcome",
              {"kind": kind, "status": "concluded", "date": "2026-02-20", "outcome": named}),
             (f"/cdop/cases/{number}/family", "support_notes", {"support_notes": named}),
             (f"/cdop/meetings/{meeting}", "minutes", {"minutes": f"The chair welcomed the members. {named}"})]
    if rec_id is not None:
        posts.append((f"/cdop/recommendations/{rec_id}/progress", "progress",
                      {"status": "in_progress", "progress": named}))
    before = _audited(settings, "investigation_recorded"), _audited(settings, "family_recorded")
    for url, field, form in posts:
        refused = client.post(url, data={"csrf_token": token, **form}, follow_redirects=False)
        assert refused.status_code == 422, (url, refused.status_code)
        text = unescape(refused.text)
        assert f"'{field}'" in text or f'data-field="{field}"' in text or f"err-{field}" in text, url
        assert "refer to people by their role" in text and forename not in text, url
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(Investigation.status).where(
            Investigation.case_id == case_id, Investigation.kind == kind)) == "in_progress"
        assert uow.session.get(PanelMeeting, meeting).minutes is None
        assert "support_notes" not in (uow.session.get(Case, case_id).family_context or {})
        if rec_id is not None:
            assert not [p for p in uow.session.scalars(select(RecommendationUpdate.progress).where(
                RecommendationUpdate.recommendation_id == rec_id)) if forename in (p or "")]
    assert (_audited(settings, "investigation_recorded"), _audited(settings, "family_recorded")) == before


def test_the_board_figures_page_shows_the_measures_by_year_and_agency(client, settings):
    """Completeness and timeliness by year and returns by agency, the numbers the
    measures give for the page's business date; a viewer sees them (counts only, no case
    number); a panel member is refused."""
    from cdop.rules.board import board_figures

    page = client.get("/cdop/figures/board")
    assert page.status_code == 200
    text = unescape(re.sub(r"<[^>]+>", " ", page.text))
    years = re.findall(r"<tr><td>(\d{4}/\d\d)", page.text.split('id="board-years"')[1].split("</table>")[0])
    assert years == ["2025/26", "2024/25", "2023/24", "2022/23", "2021/22"]  # newest first
    assert "(so far)" in text
    with unit_of_work(settings) as uow:
        figures = board_figures(uow.session, [2026], TODAY)
    now = figures.year(2026)
    row = page.text.split('id="board-years"')[1].split("</tr>")[1]
    cells = [unescape(c).strip() for c in re.findall(r'<td class="num">([^<]*)</td>', row)]
    assert cells[:2] == [str(now.notified), str(now.notified_reviewed)]
    assert cells[3] == str(now.reviews)
    agencies = page.text.split('id="board-agencies"')[1].split("</table>")[0] if figures.agencies else ""
    for a in figures.agencies:
        assert unescape(a.agency) in unescape(agencies)
    numbers = _all_case_numbers(settings)
    viewer = PERSONAS["viewer (VIEWER)"]
    client.cookies.set("_token", token_for(viewer[0], role=viewer[1]))
    seen = client.get("/cdop/figures/board")
    assert seen.status_code == 200 and not [n for n in numbers if n in seen.text]
    member = PERSONAS["panel member (USER)"]
    client.cookies.set("_token", token_for(member[0], role=member[1]))
    assert client.get("/cdop/figures/board", follow_redirects=False).status_code == 403
