"""Routes of the CDOP operations pages (see the package docstring).

The routes live in route modules, each with its own ACCESS table (path -> method -> the
CDOP roles admitted) and a `routes(app)`; common.py says how one plugs in. This module
holds the pipeline, the worklists, the outbox, the papers, the figures and the audit
trail, and `create_app` registers the route modules of ROUTE_MODULES.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import MutableHeaders

from cdop.body_limit import BodyLimit
from cdop.config import Settings
from cdop_airflow.ops_app import (
    analysis_pages,
    board_pages,
    case_pages,
    gate_pages,
    intake_pages,
    meeting_pages,
    portal_pages,
    report_pages,
)
from cdop_airflow.ops_app.auth import (
    CSRF_FIELD,
    check_csrf,
    csrf_token,
    has_role,
    login_url,
    require_user,
)
from cdop_airflow.ops_app.common import (
    COORDINATOR,
    EVERYONE,
    FIGURES,
    MAX_UPLOAD_BYTES,
    PANEL,
    Access,
    PageNo,
    SettingsDep,
    TodayDep,
    base_href,
    base_settings,
    business_today,
    merge_access,
    page_link,
    render_page,
    route,
    uploaded,
    user_settings,
)
from cdop_airflow.ops_app.common import case_number as _case_number
from cdop_airflow.ops_app.common import redirect as _redirect
from cdop_airflow.ops_app.roles import Role

# The route modules create_app registers, each bringing its ACCESS table and routes(app).
ROUTE_MODULES = (case_pages, intake_pages, report_pages, meeting_pages, analysis_pages, portal_pages,
                 gate_pages, board_pages)

# Who may use each route of this module (roles.py says what each role is). Every route is
# declared through `route`, which takes its roles from the merged table and fails at
# start-up for a route missing from it; a test holds the table and the app's routes equal
# and checks the whole matrix against a real server.
CORE_ACCESS: Access = {
    # Each role's home: the pipeline for a coordinator; the others are sent to theirs.
    "/": {"GET": EVERYONE},
    "/overdue": {"GET": COORDINATOR},
    "/investigations": {"GET": COORDINATOR},
    "/reports": {"GET": COORDINATOR},
    "/outbox": {"GET": COORDINATOR},
    "/outbox/release": {"POST": COORDINATOR},
    "/audit": {"GET": COORDINATOR},
    # Approved, anonymised case reports and the meetings' agendas.
    "/papers": {"GET": PANEL},
    "/papers/{case_number}": {"GET": PANEL},
    # Counts only: no case number, no case detail.
    "/figures": {"GET": FIGURES},
}

ACCESS: Access = merge_access([CORE_ACCESS, *(m.ACCESS for m in ROUTE_MODULES)])

# The names route modules written against this module use.
_route = route
_base_href = base_href
_page_link = page_link
_uploaded = uploaded
__all__ = ["ACCESS", "SettingsDep", "TodayDep", "base_settings", "business_today", "check_csrf",
           "create_app", "render_page", "route", "user_settings"]

HSTS = "max-age=31536000"
# The largest body any route takes: the largest upload and room for the form's fields.
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 1024 * 1024

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


# ------------------------------------------------------------------------------- app


class SecurityHeaders:
    """SECURITY_HEADERS on every response that has not set its own, as plain ASGI:
    Starlette's `@app.middleware("http")` runs each request through a task group and a
    memory stream, a fixed cost larger than a small page's own SQL."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if scope.get("scheme") == "https":  # as uvicorn saw it, or its trusted proxy
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        return await self.app(scope, receive, send_with_headers)



def create_app() -> FastAPI:
    app = FastAPI(
        title="CDOP operations",
        description="Child Death Overview Panel operations pages (signed-in Airflow users only).",
        dependencies=[Depends(require_user)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    # Bodies are bounded as they arrive, before any route reads one (cdop.body_limit);
    # SecurityHeaders, added last, is outermost and so heads the refusal too.
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, refuse=_body_refused)
    app.add_middleware(SecurityHeaders)

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, exc: StarletteHTTPException) -> Response:
        wants_page = "text/html" in request.headers.get("accept", "")
        signed_in = getattr(request.state, "cdop_signed_in", False)
        if exc.status_code in (401, 403) and request.method == "GET" and wants_page and not signed_in:
            # Not signed in, or the session expired: to the sign-in page, then back here.
            return RedirectResponse(login_url(request), status_code=status.HTTP_303_SEE_OTHER)
        if wants_page:
            return _styled_refusal(request, exc.status_code, str(exc.detail), exc.headers)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    from cdop.config import ConfigError

    @app.exception_handler(ConfigError)
    async def misconfigured(request: Request, exc: ConfigError) -> Response:
        # The message names the setting, never a secret's value.
        return _styled_refusal(request, 503, f"The CDOP is not configured on this server: {exc}")

    @app.exception_handler(RequestValidationError)
    async def unreadable(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own answer repeats the value: this one names the field only.
        names = sorted({str(e.get("loc", ("?",))[-1]) for e in exc.errors()})
        message = f"Not valid: {', '.join(names)}."
        if "text/html" in request.headers.get("accept", ""):
            return _styled_refusal(request, 422, message)
        return JSONResponse({"detail": [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                                        for e in exc.errors()]}, status_code=422)

    app.state.cdop_access = ACCESS
    _read_routes(app)
    _panel_and_figure_routes(app)
    _outbox_routes(app)
    for module in ROUTE_MODULES:
        module.routes(app)
    return app


REFUSAL_TITLES = {
    400: "The request could not be read",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    413: "Too large",
    422: "Not valid",
    503: "The service is unavailable",
}


def _body_refused(scope, status_code: int) -> Response:
    """A body refused before it was read (cdop.body_limit): a plain page, the user unknown yet."""
    text = ("What was sent is too large." if status_code == 413 else "The request could not be read.")
    response = HTMLResponse(f"<!doctype html><title>{REFUSAL_TITLES.get(status_code, 'Refused')}</title>"
                            f"<h1>{REFUSAL_TITLES.get(status_code, 'Refused')}</h1><p>{text}</p>",
                            status_code=status_code)
    response.headers["Connection"] = "close"
    return response


def _styled_refusal(request: Request, code: int, message: str,
                    headers: dict[str, str] | None = None) -> HTMLResponse:
    """A refusal as a page of the site: its header and navigation for the user's role, the
    reason in words and a way back; never a case's detail."""
    if code == 404 and message == "Not Found":
        message = "There is no page at this address."
    response = render_page(request, "refused.html.j2", status_code=code,
                           title=REFUSAL_TITLES.get(code, "Something went wrong"), message=message, code=code)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _read_routes(app: FastAPI) -> None:
    from cdop.rules.review_meeting import FLAG_LABEL as REVIEW_MEETING_FLAG
    from cdop.rules.stages import STAGE_ORDER
    from cdop.rules.workdays import working_calendar
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
            cases = pipeline_view.cases_at_stage(uow.session, chosen, today, page=page,
                                                 total=counts[chosen])
        return render_page(request, "pipeline.html.j2", active="", counts=counts, chosen=chosen,
                           stages=[(s.value, pipeline_view.STAGE_LABELS.get(s, s.value.replace("_", " ").capitalize())) for s in STAGE_ORDER],
                           cases=cases, page_link=_page_link(request), today=today,
                           review_meeting_flag=REVIEW_MEETING_FLAG)

    @_route(app, "GET", "/overdue", response_class=HTMLResponse)
    def overdue(request: Request, settings: SettingsDep, today: TodayDep, agency: str | None = None,
                page: PageNo = 1):
        """Overdue returns by agency: working days overdue and the chase ladder step."""
        calendar = working_calendar(settings.policy)
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
            rows = investigations_view.waiting_on_investigations(uow.session, today, kind=kind, page=page,
                                                                 by_process=by_process)
        return render_page(request, "investigations.html.j2", active="investigations",
                           by_process=by_process, rows=rows, kind=kind or "",
                           page_link=_page_link(request), today=today)

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
        from cdop.rules.workdays import working_calendar
        from cdop.views import overdue as overdue_view

        calendar = working_calendar(settings.policy)
        with unit_of_work(settings) as uow:
            counts = pipeline_view.stage_counts(uow.session)
            agencies = overdue_view.overdue_by_agency(uow.session, today, calendar)
            by_process = investigations_view.waiting_by_process(uow.session)
            messages = outbox_view.outbox_counts(uow.session)
        return render_page(request, "figures.html.j2", active="figures", counts=counts,
                           stages=[(s.value, pipeline_view.STAGE_LABELS.get(s, s.value.replace("_", " ").capitalize())) for s in STAGE_ORDER],
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
    from cdop.validation import Problem
    from cdop_airflow.ops_app.common import refused_form

    return render_page(request, "outbox.html.j2", active="outbox", counts=counts, kinds=kinds,
                       held=held, rows=rows, status=status_ or "", kind=kind or "",
                       case=(case or "").upper(), page_link=_page_link(request),
                       csrf_field=CSRF_FIELD, csrf_token=token,
                       form=refused_form("release", [Problem("message", problem)] if problem else []),
                       status_code=status_code)


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
        from cdop.sending.delivery import NotHeld, release

        ref = message.strip()
        if not ref.isdigit() or len(ref) > 12:
            return _outbox_response(request, settings, token, "held", None, None, 1,
                                    problem="choose a held message", status_code=422)
        try:
            release(settings, ref, actor=settings.actor)
        except NotHeld:
            return _outbox_response(request, settings, token, "held", None, None, 1,
                                    problem="is not held (released already?)", status_code=404)
        return _redirect(request, "outbox", "message_released")
