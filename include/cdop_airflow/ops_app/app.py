"""Routes of the CDOP operations pages (see the package docstring)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from cdop.config import Settings, local_today
from cdop_airflow.ops_app import analysis_pages
from cdop_airflow.ops_app.auth import (
    CSRF_FIELD,
    CurrentUser,
    Requires,
    check_csrf,
    csrf_token,
    has_role,
    login_url,
    require_user,
)
from cdop_airflow.ops_app.roles import EVERY_ROLE, Role

CASE_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}$")
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
NAV = (
    ("", "Pipeline"),
    ("overdue", "Overdue returns"),
    ("investigations", "Waiting on investigations"),
    ("meetings", "Panel meetings"),
    ("reports", "Reports to check"),
    *analysis_pages.NAV,
    ("outbox", "Outbox"),
    ("audit", "Audit trail"),
    ("papers", "Panel papers"),
    ("figures", "Figures"),
)

_COORDINATOR = frozenset({Role.COORDINATOR})
_PANEL = frozenset({Role.COORDINATOR, Role.PANEL_MEMBER})
_FIGURES = frozenset({Role.COORDINATOR, Role.VIEWER})

# Who may use each route: path -> method -> the CDOP roles admitted (roles.py says what
# each role is). Every route is declared through `_route`, which takes its roles from
# here and fails at start-up for a route missing from this table; a test holds the
# table and the app's routes equal and checks the whole matrix against a real server.
ACCESS: dict[str, dict[str, frozenset[Role]]] = {
    # Each role's home: the pipeline for a coordinator; the others are sent to theirs.
    "/": {"GET": EVERY_ROLE},
    "/overdue": {"GET": _COORDINATOR},
    "/investigations": {"GET": _COORDINATOR},
    "/meetings": {"GET": _COORDINATOR},
    "/reports": {"GET": _COORDINATOR},
    "/outbox": {"GET": _COORDINATOR},
    "/outbox/release": {"POST": _COORDINATOR},
    "/audit": {"GET": _COORDINATOR},
    "/cases": {"GET": _COORDINATOR},
    "/cases/{case_number}": {"GET": _COORDINATOR},
    "/cases/{case_number}/return": {"POST": _COORDINATOR},
    "/cases/{case_number}/investigation": {"POST": _COORDINATOR},
    "/cases/{case_number}/report": {"POST": _COORDINATOR},
    # Approved, anonymised case reports and the meetings' agendas.
    "/papers": {"GET": _PANEL},
    "/papers/{case_number}": {"GET": _PANEL},
    # Counts only: no case number, no case detail.
    "/figures": {"GET": _FIGURES},
    # The analysis form and the recommendations (coordinators; analysis_pages.py).
    **analysis_pages.ACCESS,
}


def _route(router: Any, method: str, path: str, **kwargs: Any):
    """Declare a route with the roles ACCESS gives it (a KeyError here is a route that
    nobody decided who may use)."""
    roles = ACCESS[path][method]
    dependencies = [Depends(Requires(roles)), *kwargs.pop("dependencies", [])]
    return router.api_route(path, methods=[method], dependencies=dependencies, **kwargs)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'self'; base-uri 'self'"
    ),
}


# ---------------------------------------------------------------------- dependencies


@lru_cache(maxsize=8)
def _settings_for_environment(_env: tuple[tuple[str, str], ...]) -> Settings:
    from cdop_airflow.runtime import settings

    return settings("airflow-ui")


def base_settings() -> Settings:
    """Settings from the environment (or the cdop_* Connections), built once per
    environment: Connections are read at the first request, not at every one."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("CDOP_")))
    return _settings_for_environment(env)


def business_today() -> dt.date:
    """A person acting on the page acts today, in England."""
    return local_today()


def user_settings(user: CurrentUser, base: Annotated[Settings, Depends(base_settings)]) -> Settings:
    """The signed-in Airflow user is the actor in the audit trail."""
    return dataclasses.replace(base, actor=f"airflow:{user.get_name()}")


SettingsDep = Annotated[Settings, Depends(user_settings)]
TodayDep = Annotated[dt.date, Depends(business_today)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]


# ------------------------------------------------------------------------- rendering


def _base_href(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/") + "/"


def render_page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    from cdop.mail.templating import render

    user = getattr(request.state, "cdop_user", None)
    held = getattr(request.state, "cdop_roles", frozenset())
    nav = [(path, label) for path, label in NAV if held & ACCESS["/" + path]["GET"]
           and (path or Role.COORDINATOR in held)]
    page = render(
        f"ops/{template}",
        base=_base_href(request),
        nav=nav,
        coordinator=Role.COORDINATOR in held,
        active=context.pop("active", ""),
        user=user.get_name() if user else "",
        done=request.query_params.get("done"),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def _page_link(request: Request) -> Callable[[int], str]:
    def link(number: int) -> str:
        params = dict(request.query_params)
        params["page"] = str(number)
        params.pop("done", None)
        return "?" + urlencode(params)

    return link


def _case_number(value: str) -> str:
    number = value.strip().upper()
    if not CASE_NUMBER.match(number):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such case")
    return number


def _redirect(request: Request, path: str, done: str) -> RedirectResponse:
    return RedirectResponse(
        f"{_base_href(request)}{path}?{urlencode({'done': done})}", status_code=status.HTTP_303_SEE_OTHER
    )


# ------------------------------------------------------------------------------- app


def create_app() -> FastAPI:
    app = FastAPI(
        title="CDOP operations",
        description="Child Death Overview Panel operations pages (signed-in Airflow users only).",
        dependencies=[Depends(require_user)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException) -> Response:
        wants_page = "text/html" in request.headers.get("accept", "")
        signed_in = getattr(request.state, "cdop_signed_in", False)
        if exc.status_code in (401, 403) and request.method == "GET" and wants_page and not signed_in:
            # Not signed in, or the session expired: to the sign-in page, then back here.
            return RedirectResponse(login_url(request), status_code=status.HTTP_303_SEE_OTHER)
        if wants_page:
            from cdop.mail.templating import render

            body = render("ops/refused.html.j2", base=_base_href(request), status_code=exc.status_code,
                          message=str(exc.detail))
            return HTMLResponse(body, status_code=exc.status_code, headers=exc.headers)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    from cdop.config import ConfigError

    @app.exception_handler(ConfigError)
    async def misconfigured(request: Request, exc: ConfigError) -> Response:
        # The message names the setting, never a secret's value.
        from cdop.mail.templating import render

        body = render("ops/refused.html.j2", base=_base_href(request), status_code=503,
                      message=f"The CDOP is not configured on this server: {exc}")
        return HTMLResponse(body, status_code=503)

    _read_routes(app)
    _panel_and_figure_routes(app)
    _action_routes(app)
    _outbox_routes(app)
    analysis_pages.routes(app, render_page=render_page, user_settings=user_settings, business_today=business_today)
    return app


def _read_routes(app: FastAPI) -> None:
    from cdop.rules.stages import STAGE_ORDER
    from cdop.rules.workdays import WorkingCalendar
    from cdop.store.db import unit_of_work
    from cdop.views import investigations as investigations_view
    from cdop.views import overdue as overdue_view
    from cdop.views import panel as panel_view
    from cdop.views import pipeline as pipeline_view

    @_route(app, "GET", "/", response_class=HTMLResponse)
    def pipeline(request: Request, settings: SettingsDep, today: TodayDep, stage: str | None = None,
                 page: PageNo = 1):
        """The pipeline: how many cases at each stage, and the cases at one stage. A panel
        member's home is the papers, a viewer's the figures."""
        if not has_role(request, Role.COORDINATOR):
            home = "papers" if has_role(request, Role.PANEL_MEMBER) else "figures"
            return RedirectResponse(_base_href(request) + home, status_code=status.HTTP_303_SEE_OTHER)
        with unit_of_work(settings) as uow:
            counts = pipeline_view.stage_counts(uow.session)
            chosen = stage if stage in counts else next(
                (s.value for s in STAGE_ORDER if counts[s.value] and s.value != "closed"),
                STAGE_ORDER[0].value,
            )
            cases = pipeline_view.cases_at_stage(uow.session, chosen, today, page=page)
        return render_page(request, "pipeline.html.j2", active="", counts=counts, chosen=chosen,
                           stages=[(s.value, pipeline_view.STAGE_LABELS[s]) for s in STAGE_ORDER],
                           cases=cases, page_link=_page_link(request), today=today)

    @_route(app, "GET", "/overdue", response_class=HTMLResponse)
    def overdue(request: Request, settings: SettingsDep, today: TodayDep, agency: str | None = None,
                page: PageNo = 1):
        """Overdue returns by agency: working days overdue and the chase ladder step."""
        calendar = WorkingCalendar(settings.policy.holiday_subdivision)
        with unit_of_work(settings) as uow:
            agencies = overdue_view.overdue_by_agency(uow.session, today, calendar)
            rows = overdue_view.overdue_returns(uow.session, today, calendar, settings.policy,
                                       agency=agency, page=page)
        return render_page(request, "overdue.html.j2", active="overdue", agencies=agencies,
                           rows=rows, agency=(agency or "").upper(), page_link=_page_link(request),
                           today=today)

    @_route(app, "GET", "/investigations", response_class=HTMLResponse)
    def investigations(request: Request, settings: SettingsDep, today: TodayDep,
                       kind: str | None = None, page: PageNo = 1):
        """Cases waiting only on parallel processes: which process, for how long."""
        with unit_of_work(settings) as uow:
            by_process = investigations_view.waiting_by_process(uow.session)
            rows = investigations_view.waiting_on_investigations(uow.session, today, kind=kind, page=page)
        return render_page(request, "investigations.html.j2", active="investigations",
                           by_process=by_process, rows=rows, kind=kind or "",
                           page_link=_page_link(request), today=today)

    @_route(app, "GET", "/meetings", response_class=HTMLResponse)
    def meetings(request: Request, settings: SettingsDep, today: TodayDep):
        """Upcoming panel meetings and their agendas."""
        upcoming = panel_view.upcoming_meetings(settings, today)
        return render_page(request, "meetings.html.j2", active="meetings", meetings=upcoming,
                           today=today)

    @_route(app, "GET", "/reports", response_class=HTMLResponse)
    def reports(request: Request, settings: SettingsDep, page: PageNo = 1):
        """Case reports awaiting the office's quality check."""
        with unit_of_work(settings) as uow:
            rows = panel_view.reports_awaiting_check(uow.session, page=page)
        return render_page(request, "reports.html.j2", active="reports", rows=rows,
                           page_link=_page_link(request))

    @_route(app, "GET", "/outbox", response_class=HTMLResponse)
    def outbox(request: Request, settings: SettingsDep, token: Annotated[str, Depends(csrf_token)],
               status_: Annotated[str | None, Query(alias="status")] = None,
               kind: str | None = None, case: str | None = None, page: PageNo = 1):
        """Every message: to whom, what kind, when, its state. Case numbers only; no bodies.
        Messages set aside (held) are listed first, each with a form to release it."""
        return _outbox_response(request, settings, token, status_, kind, case, page)

    @_route(app, "GET", "/cases", response_class=HTMLResponse)
    def find_case(request: Request, number: str = ""):
        """The case finder in the page header."""
        return RedirectResponse(f"{_base_href(request)}cases/{quote(_case_number(number))}",
                                status_code=status.HTTP_303_SEE_OTHER)

    @_route(app, "GET", "/cases/{case_number}", response_class=HTMLResponse)
    def case_page(request: Request, case_number: str, settings: SettingsDep, today: TodayDep,
                  token: Annotated[str, Depends(csrf_token)]):
        """One case: where it is, its timeline, and the coordinator's actions."""
        return _case_response(request, settings, today, token, _case_number(case_number))


def _panel_and_figure_routes(app: FastAPI) -> None:
    from cdop.store.db import unit_of_work
    from cdop.views import audit as audit_view
    from cdop.views import investigations as investigations_view
    from cdop.views import outbox as outbox_view
    from cdop.views import panel as panel_view
    from cdop.views import pipeline as pipeline_view

    @_route(app, "GET", "/figures", response_class=HTMLResponse)
    def figures(request: Request, settings: SettingsDep, today: TodayDep):
        """The operations figures: counts by stage, agency, process and message state."""
        from cdop.rules.stages import STAGE_ORDER
        from cdop.rules.workdays import WorkingCalendar
        from cdop.views import overdue as overdue_view

        calendar = WorkingCalendar(settings.policy.holiday_subdivision)
        with unit_of_work(settings) as uow:
            counts = pipeline_view.stage_counts(uow.session)
            agencies = overdue_view.overdue_by_agency(uow.session, today, calendar)
            by_process = investigations_view.waiting_by_process(uow.session)
            messages = outbox_view.outbox_counts(uow.session)
        return render_page(request, "figures.html.j2", active="figures", counts=counts,
                           stages=[(s.value, pipeline_view.STAGE_LABELS[s]) for s in STAGE_ORDER],
                           agencies=agencies, by_process=by_process, messages=messages, today=today)

    @_route(app, "GET", "/papers", response_class=HTMLResponse)
    def papers(request: Request, settings: SettingsDep, today: TodayDep, page: PageNo = 1):
        """The panel's papers: the next meetings' agendas and every approved case report."""
        upcoming = panel_view.upcoming_meetings(settings, today)
        with unit_of_work(settings) as uow:
            rows = panel_view.approved_reports(uow.session, page=page)
        return render_page(request, "papers.html.j2", active="papers", meetings=upcoming, rows=rows,
                           page_link=_page_link(request), today=today)

    @_route(app, "GET", "/papers/{case_number}", response_class=HTMLResponse)
    def approved_report(request: Request, case_number: str, settings: SettingsDep):
        """An approved, anonymised case report as the panel reads it (reads are audited)."""
        from cdop.panel.case_reports import read_approved_report

        html = read_approved_report(settings, _case_number(case_number), actor=settings.actor)
        if html is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No approved case report for this case")
        return HTMLResponse(html)

    @_route(app, "GET", "/audit", response_class=HTMLResponse)
    def audit(request: Request, settings: SettingsDep, page: PageNo = 1,
              every: Annotated[bool, Query(alias="all")] = False):
        """Every time identifiers were shown or sent (or, with all=1, every audit event),
        newest first: when, case, who, what and why."""
        with unit_of_work(settings) as uow:
            rows = audit_view.audit_events(uow.session, reveals_only=not every, page=page)
        return render_page(request, "audit.html.j2", active="audit", rows=rows, every=every,
                           page_link=_page_link(request))
def _outbox_response(request: Request, settings: Settings, token: str, status_: str | None,
                     kind: str | None, case: str | None, page: int, *, problem: str | None = None,
                     status_code: int = 200) -> HTMLResponse:
    from cdop.store.db import unit_of_work
    from cdop.views import outbox as outbox_view

    with unit_of_work(settings) as uow:
        counts = outbox_view.outbox_counts(uow.session)
        kinds = outbox_view.outbox_kinds(uow.session)
        held = outbox_view.held_messages(uow.session)
        rows = outbox_view.outbox_messages(uow.session, status=status_, kind=kind, case_number=case,
                                           page=page)
    return render_page(request, "outbox.html.j2", active="outbox", counts=counts, kinds=kinds,
                       held=held, rows=rows, status=status_ or "", kind=kind or "",
                       case=(case or "").upper(), page_link=_page_link(request),
                       csrf_field=CSRF_FIELD, csrf_token=token, problem=problem,
                       status_code=status_code)


def _case_response(request: Request, settings: Settings, today: dt.date, token: str, number: str,
                   *, problems: list | None = None, failed_form: str | None = None,
                   status_code: int = 200) -> HTMLResponse:
    from cdop.store.db import unit_of_work
    from cdop.taxonomy import taxonomy
    from cdop.views import cases as case_views

    with unit_of_work(settings) as uow:
        view = case_views.case_view(uow.session, number, settings.policy)
        if view is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"No case {number}")
        timeline = case_views.case_timeline(uow.session, number)
        blocked = bool(view.reports) and view.reports[0]["status"] == "blocked"  # newest first
        findings = case_views.gate_findings_in_context(uow.session, number, settings) if blocked else []
    tax = taxonomy()
    return render_page(
        request,
        "case.html.j2",
        active="",
        case=view,
        timeline=timeline,
        findings=findings,
        csrf_field=CSRF_FIELD,
        csrf_token=token,
        investigation_kinds=tax.labels("investigation"),
        investigation_statuses=tax.labels("investigation_status"),
        problems=problems or [],
        failed_form=failed_form,
        today=today,
        status_code=status_code,
    )


def _action_routes(app: FastAPI) -> None:
    from cdop.store.lookups import NotFound
    from cdop.validation import CODE_MAX, InputError, Problem, RowReader

    def attempt(request: Request, settings: Settings, today: dt.date, token: str, number: str,
                form_name: str, action: Callable[[], None], done: str) -> Response:
        try:
            action()
        except InputError as exc:
            return _case_response(request, settings, today, token, number, problems=exc.problems,
                                  failed_form=form_name, status_code=422)
        except NotFound as exc:
            return _case_response(request, settings, today, token, number,
                                  problems=[Problem("case", str(exc))], failed_form=form_name,
                                  status_code=404)
        return _redirect(request, f"cases/{quote(number)}", done)

    @_route(app, "POST", "/cases/{case_number}/return", dependencies=[Depends(check_csrf)])
    def record_return_action(
        request: Request,
        case_number: str,
        settings: SettingsDep,
        today: TodayDep,
        token: Annotated[str, Depends(csrf_token)],
        agency: Annotated[str, Form()] = "",
        received: Annotated[str, Form()] = "",
        file: Annotated[UploadFile | None, File()] = None,
    ):
        """Record an agency's return (the same service as `cdop return record`)."""
        from cdop.requests.returns import record_return

        number = _case_number(case_number)

        def act() -> None:
            reader = RowReader({"agency": agency, "received": received})
            code = reader.text("agency", max_len=CODE_MAX)
            day = reader.date("received")
            if reader.problems:
                raise InputError(reader.problems)
            with _uploaded(file) as path:
                record_return(settings, number, code, received_on=day, today=today, file=path)

        return attempt(request, settings, today, token, number, "return", act, "return_recorded")

    @_route(app, "POST", "/cases/{case_number}/investigation", dependencies=[Depends(check_csrf)])
    def record_investigation_action(
        request: Request,
        case_number: str,
        settings: SettingsDep,
        today: TodayDep,
        token: Annotated[str, Depends(csrf_token)],
        kind: Annotated[str, Form()] = "",
        status_: Annotated[str, Form(alias="status")] = "",
        date: Annotated[str, Form()] = "",
        outcome: Annotated[str, Form()] = "",
    ):
        """Add or update a parallel process (the same service as `cdop investigation record`)."""
        from cdop.intake.investigations import OUTCOME_MAX, record_investigation

        number = _case_number(case_number)

        def act() -> None:
            reader = RowReader({"date": date, "outcome": outcome})
            day = reader.date("date", required=False)
            text = reader.text("outcome", required=False, max_len=OUTCOME_MAX, multiline=True)
            if reader.problems:
                raise InputError(reader.problems)
            record_investigation(settings, number, kind, status=status_, on=day, today=today,
                                 outcome=text)

        return attempt(request, settings, today, token, number, "investigation", act,
                       "investigation_recorded")

    @_route(app, "POST", "/cases/{case_number}/report", dependencies=[Depends(check_csrf)])
    def decide_report_action(
        request: Request,
        case_number: str,
        settings: SettingsDep,
        today: TodayDep,
        token: Annotated[str, Depends(csrf_token)],
        version: Annotated[str, Form()] = "",
        decision: Annotated[str, Form()] = "",
        comments: Annotated[str, Form()] = "",
    ):
        """Approve a case report for the panel, or return it with comments (the same
        service as `cdop report approve` and `cdop report return`)."""
        from cdop.panel.case_reports import decide

        number = _case_number(case_number)

        def act() -> None:
            reader = RowReader({"version": version, "decision": decision})
            number_of_version = reader.integer("version", low=1, high=10_000, required=True)
            choice = reader.choice("decision", {"approve": "approve", "return": "return"})
            if reader.problems:
                raise InputError(reader.problems)
            decide(settings, number, approve=choice == "approve", comments=comments,
                   actor=settings.actor, today=today, version=number_of_version)

        return attempt(request, settings, today, token, number, "report", act, "report_decided")


def _outbox_routes(app: FastAPI) -> None:
    @_route(app, "POST", "/outbox/release", dependencies=[Depends(check_csrf)])
    def release_message_action(
        request: Request,
        settings: SettingsDep,
        token: Annotated[str, Depends(csrf_token)],
        message: Annotated[str, Form()] = "",
    ):
        """Release a held message once its cause is fixed (the same service as
        `cdop outbox release`), audited with the signed-in user as the actor."""
        from cdop.mail.delivery import NotHeld, release

        ref = message.strip()
        if not ref.isdigit() or len(ref) > 12:
            return _outbox_response(request, settings, token, "held", None, None, 1,
                                    problem="message: choose a held message", status_code=422)
        try:
            release(settings, ref, actor=settings.actor)
        except NotHeld:
            return _outbox_response(request, settings, token, "held", None, None, 1,
                                    problem="message: is not held (released already?)", status_code=404)
        return _redirect(request, "outbox", "message_released")


class _uploaded:
    """An uploaded return kept in a private temporary folder under its own (safe) name,
    for the service to encrypt and store; removed afterwards."""

    def __init__(self, upload: UploadFile | None):
        self.upload = upload if upload is not None and upload.filename else None
        self.dir: Path | None = None

    def __enter__(self) -> Path | None:
        from cdop.validation import InputError, Problem

        if self.upload is None:
            return None
        from cdop.store.files import safe_name

        name = safe_name(self.upload.filename, 100)
        self.dir = Path(tempfile.mkdtemp(prefix="cdop-upload-"))
        target = self.dir / name
        with target.open("wb") as out:
            # Copy no more than one byte past the limit: an endless upload cannot fill the disk.
            left = MAX_UPLOAD_BYTES + 1
            while left > 0 and (chunk := self.upload.file.read(min(left, 1024 * 1024))):
                out.write(chunk)
                left -= len(chunk)
        if target.stat().st_size > MAX_UPLOAD_BYTES:
            self.__exit__()
            raise InputError([Problem("file", f"is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")])
        return target

    def __exit__(self, *_exc) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
