"""The agencies' return portal: a small FastAPI service of its own (not part of Airflow).

Every route is under /r/<token> and needs a live token; the form needs, as well, the
session the emailed code starts. An unknown, expired or used token, an unknown route and
a wrong method all get the same plain page. Every response carries `Cache-Control:
no-store`, a strict Content-Security-Policy (no script at all; the one stylesheet by its
hash), `Referrer-Policy: no-referrer` (the token is in the URL), frame denial, and HSTS
when the request came over HTTPS (directly, or from the trusted proxy: `cdop portal serve
--proxy`). Forms carry a CSRF field bound to the link, to a random cookie and to the
browser's session: a keyed hash of the three, so a cookie and field an attacker chose
never match. Request bodies are bounded while they arrive (cdop.body_limit). A request
that FastAPI cannot read gets a page naming the field, never the value. Opening a link
sends nothing: a code is emailed only when the page's "Send me a code" is pressed (mail
scanners open links by themselves). Requests are rate-limited per link and per client
address (`limits`): in memory for one portal process, or in Redis when more than one runs
(`cdop portal serve --limits redis://...`), so every process counts against the same
limit. If that store cannot be reached the portal refuses requests (503) rather than
serve them unlimited. The log names the route's template, never the token.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from cdop.body_limit import BodyLimit, too_large
from cdop.clock import today_in_england
from cdop.config import ConfigError, Settings
from cdop.mail.templating import render, template_path
from cdop.portal import forms, tokens
from cdop.portal import recommendations as recs
from cdop.portal import service as portal
from cdop.portal.tokens import token_hash
from cdop.portal.warnings import REQUEST

log = logging.getLogger("cdop.portal")

SESSION_COOKIE = "cdop_portal_session"
CSRF_COOKIE = "cdop_portal_csrf"
HSTS = "max-age=31536000"


def _css() -> tuple[Markup, str]:
    """The one stylesheet, inlined (no route to serve it from, so nothing answers without a
    token) and allowed by its hash in the CSP. Marked safe: escaping would change its hash."""
    css = template_path("portal/portal.css").read_text(encoding="utf-8").strip()
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return Markup(css), digest


def security_headers(style_hash: str) -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Content-Security-Policy": (f"default-src 'none'; style-src 'sha256-{style_hash}'; img-src 'self'; "
                                    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def create_app(settings: Settings, *, deliver: portal.Deliver, limits: str = "memory://",
               limits_prefix: str = "cdop-portal") -> FastAPI:
    """The portal app; `deliver` sends the portal's pending messages at once (codes, and
    the coordinator's notice of a flagged return): cdop.sending.portal.deliver_now.
    `limits`: where the rate limits are counted, under keys prefixed `limits_prefix`
    (`limits_storage`)."""
    policy = settings.policy.portal
    css, style_hash = _css()
    headers = security_headers(style_hash)
    limiter = MovingWindowRateLimiter(limits_storage(limits, limits_prefix))
    per_link = RateLimitItemPerMinute(policy.requests_per_minute_per_link)
    per_address = RateLimitItemPerMinute(policy.requests_per_minute_per_address)
    secure_cookies = policy.base_url.startswith("https://")
    upload_limit = policy.attachment_max_mb * 1024 * 1024
    # What every page with an upload says of it (the return form, a recommendation's evidence).
    attachments = {"attachment_types": ", ".join(policy.attachment_types),
                   "attachment_accept": ",".join(policy.attachment_types),
                   "attachment_max_mb": policy.attachment_max_mb, "max_attachments": policy.max_attachments}
    body_limit = request_body_limit(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Warm before the first request is taken, not during it (the server starts
        # answering once this returns).
        await run_in_threadpool(portal.warm, settings)
        yield

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    def page(template: str, title: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = render(f"portal/{template}.html.j2", title=title, css=css, office=settings.policy.office,
                      area_name=settings.policy.area_name, **context)
        return HTMLResponse(html, status_code=status)

    def unusable() -> HTMLResponse:
        return page("unusable", "This link cannot be used", 404)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        route = "unmatched"
        try:
            address = request.client.host if request.client else "unknown"
            token = request.path_params.get("token") or _token_of(request.url.path)
            try:
                limited = not await limiter.hit(per_address, "address", address)
                if token and not limited:
                    limited = not await limiter.hit(per_link, "link", token_hash(token)[:32])
            except StorageError as exc:  # the shared count is unreachable: refuse, do not guess
                log.error("portal rate-limit store unreachable (%s)", type(exc.storage_error).__name__)
                response = page("message", "The portal is busy", 503,
                                text="The portal cannot take requests just now. Please try again in a few minutes.")
                response.headers.update(headers)
                response.headers["Retry-After"] = "60"
                return response
            if limited:
                response = page("message", "Too many requests", 429,
                                text="Too many requests came from here. Please wait a minute and try again.")
                response.headers["Retry-After"] = "60"
            else:
                response = await call_next(request)
                route = getattr(request.scope.get("route"), "path", "unmatched")
        except Exception as exc:  # never a traceback (nor a value) to the agency or the log
            if too_large(exc):
                raise  # BodyLimit answers it
            log.error("portal %s %s failed (%s)", request.method, route, type(exc).__name__)
            response = page("message", "Sorry, something went wrong", 500,
                            text="The page could not be shown. Please try again later, or contact the CDOP office.")
        response.headers.update(headers)
        if request.url.scheme == "https":
            response.headers["Strict-Transport-Security"] = HSTS
        log.info("portal %s %s %d", request.method, route, response.status_code)
        return response

    def refusal(scope, status: int) -> Response:
        """Bodies refused by BodyLimit (outside `guard`): the same page and headers."""
        if status == 413:
            response = page("message", "Too large", 413,
                            text=f"What was sent is too large: each file may be up to {policy.attachment_max_mb} MB.")
        else:
            response = page("message", "The request could not be read", 400,
                            text="The request could not be read. Please go back to the link in the email and try again.")
        response.headers.update(headers)
        if scope.get("scheme") == "https":
            response.headers["Strict-Transport-Security"] = HSTS
        response.headers["Connection"] = "close"
        log.info("portal %s body refused %d", scope.get("method"), status)
        return response

    # Outermost: a body is bounded before any other part of the app reads it.
    app.add_middleware(BodyLimit, limit=body_limit, refuse=refusal)

    @app.exception_handler(RequestValidationError)
    async def unreadable(request: Request, exc: RequestValidationError):
        # Named by the field, never the value (FastAPI's own answer repeats it).
        names = sorted({str(e.get("loc", ("", "?"))[-1]) for e in exc.errors()})
        return page("message", "The request could not be read", 400,
                    text=f"These could not be read: {', '.join(names)}. Please go back to the link in the email.")

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException):
        return unusable()

    @app.exception_handler(portal.LinkNotUsable)
    async def link_not_usable(request: Request, exc: portal.LinkNotUsable):
        return unusable()

    def csrf_of(request: Request) -> str:
        """The browser's CSRF cookie (a random value), or a new one."""
        return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)

    def csrf_field(request: Request, token: str, nonce: str) -> str:
        """The form's CSRF field: bound to the link, the cookie and the browser's session."""
        return tokens.csrf_value(token, nonce, request.cookies.get(SESSION_COOKIE))

    def with_cookies(response: Response, token: str, csrf: str, session_value: str | None = None) -> Response:
        path = f"/r/{token}"
        response.set_cookie(CSRF_COOKIE, csrf, path=path, httponly=True, samesite="strict", secure=secure_cookies)
        if session_value is not None:
            response.set_cookie(SESSION_COOKIE, session_value, path=path, httponly=True, samesite="strict",
                                secure=secure_cookies, max_age=policy.session_minutes * 60)
        return response

    async def posted(request: Request) -> tuple[dict[str, Any], list[portal.Upload]]:
        """The form's fields and files; refused (as a stale form) unless the CSRF field is
        the one made for this link, cookie and session."""
        data = await request.form(max_files=policy.max_attachments + 1, max_fields=2000,
                                  max_part_size=upload_limit)
        fields: dict[str, Any] = {}
        uploads: list[portal.Upload] = []
        for key, value in data.multi_items():
            if hasattr(value, "read"):
                content = await value.read(upload_limit + 1)
                if value.filename or content:
                    uploads.append(portal.Upload(value.filename or "", content))
            else:
                fields[key] = value
        cookie = request.cookies.get(CSRF_COOKIE) or ""
        token = request.path_params.get("token") or ""
        if not cookie or not tokens.csrf_valid(token, cookie, request.cookies.get(SESSION_COOKIE),
                                               str(fields.get("csrf") or "")):
            raise _StaleForm()
        return fields, uploads

    class _StaleForm(Exception):
        pass

    @app.exception_handler(_StaleForm)
    async def stale_form(request: Request, exc: _StaleForm):
        return page("message", "The form has expired", 400,
                    text="The page was out of date. Please go back to the link in the email and try again.")

    def code_page(request: Request, token: str, csrf: str, *, error: str | None = None, locked: bool = False,
                  sent: bool = True, status: int = 200) -> Response:
        if locked:
            title = "This link is locked for now"
        else:
            title = "Enter the code we emailed you" if sent else "Get a code to open the form"
        response = page("code", title, status, base=f"/r/{token}", csrf=csrf_field(request, token, csrf),
                        error=error, locked=locked, sent=sent, code_minutes=policy.code_valid_minutes,
                        lockout_minutes=policy.lockout_minutes)
        return with_cookies(response, token, csrf)

    @app.get("/r/{token}")
    def open_link(token: str, request: Request) -> Response:
        csrf = csrf_of(request)
        state = portal.link_state(settings, token, request.cookies.get(SESSION_COOKIE))
        if state == "open":
            return RedirectResponse(f"/r/{token}/{portal.page_of(settings, token)}", status_code=303)
        if state == "no_code":
            value = portal.start_without_code(settings, token)
            return with_cookies(RedirectResponse(f"/r/{token}/{portal.page_of(settings, token)}", status_code=303),
                                token, csrf, value)
        if state == "locked":
            return code_page(request, token, csrf, locked=True, status=429)
        # Nothing is sent on opening: mail scanners open links by themselves.
        return code_page(request, token, csrf, sent=False)

    @app.post("/r/{token}/code/send")
    async def send_code(token: str, request: Request) -> Response:
        """The deliberate "Send me a code": a code still current is not sent again."""
        await posted(request)
        csrf = csrf_of(request)
        sent = await run_in_threadpool(portal.send_code, settings, token, today_in_england(),
                                      deliver=deliver)
        if not sent:
            state = await run_in_threadpool(portal.link_state, settings, token, None)
            return code_page(request, token, csrf, locked=state == "locked", sent=False,
                             error=None if state == "locked" else "No more codes can be sent just now: try again in an hour")
        return code_page(request, token, csrf)

    @app.post("/r/{token}/code")
    async def enter_code(token: str, request: Request) -> Response:
        fields, _ = await posted(request)
        csrf = csrf_of(request)
        value = await run_in_threadpool(portal.check_code, settings, token, str(fields.get("code") or "")[:20])
        if value is None:
            state = await run_in_threadpool(portal.link_state, settings, token, None)
            if state == "locked":
                return code_page(request, token, csrf, locked=True, status=429)
            return code_page(request, token, csrf, error="The code is not right, or has expired: check the latest email",
                             status=400)
        target = await run_in_threadpool(portal.page_of, settings, token)
        return with_cookies(RedirectResponse(f"/r/{token}/{target}", status_code=303), token, csrf, value)

    @app.post("/r/{token}/code/new")
    async def new_code(token: str, request: Request) -> Response:
        await posted(request)
        csrf = csrf_of(request)
        sent = await run_in_threadpool(portal.send_code, settings, token, today_in_england(),
                                      deliver=deliver, again=True)
        if not sent:
            state = await run_in_threadpool(portal.link_state, settings, token, None)
            return code_page(request, token, csrf, locked=state == "locked",
                             error=None if state == "locked" else "No more codes can be sent just now: try again in an hour")
        return code_page(request, token, csrf)

    def form_page(request: Request, token: str, csrf: str, view: portal.FormView, *, saved: bool = False,
                  extra_row: bool = False, status: int = 200, warnings=()) -> Response:
        content = view.content or {}
        chronology = list(content.get("chronology") or [])
        blank = {"date": "", "what_happened": ""}
        chronology += [dict(blank) for _ in range(max(3 - len(chronology), 1 if extra_row else 0))]
        errors, summary_errors = _errors(view)
        response = page("form", "Return for the child death review", status, base=f"/r/{token}",
                        csrf=csrf_field(request, token, csrf),
                        view=view, answers=content.get("answers") or {}, summary=content.get("summary"),
                        warnings=list(warnings), role_request=REQUEST,
                        chronology=chronology, errors=errors, summary_errors=summary_errors, saved=saved,
                        summary_max=forms.SUMMARY_MAX, entry_max=forms.ENTRY_MAX,
                        **attachments)
        return with_cookies(response, token, csrf)

    @app.get("/r/{token}/form")
    def show_form(token: str, request: Request) -> Response:
        csrf = csrf_of(request)
        try:
            view = portal.form_view(settings, token, request.cookies.get(SESSION_COOKIE))
        except portal.LinkNotUsable:
            # A live link without a session goes back to the code page; any other token
            # gets the plain page (link_state raises for it); a recommendation's link
            # goes to its own page.
            portal.link_state(settings, token, None)
            return RedirectResponse(f"/r/{token}", status_code=303)
        return form_page(request, token, csrf, view)

    @app.post("/r/{token}/form")
    async def post_form(token: str, request: Request) -> Response:
        fields, uploads = await posted(request)
        csrf = csrf_of(request)
        session_value = request.cookies.get(SESSION_COOKIE)
        action = str(fields.get("action") or "save")
        today = today_in_england()
        if action == "submit":
            # Check my text first: what appears to name or locate someone is shown back,
            # highlighted, to this session only; the draft is kept; the agency may then
            # submit anyway (the office decides).
            warnings = await run_in_threadpool(portal.text_warnings, settings, token, session_value, fields,
                                               today=today)
            if warnings:
                view = await run_in_threadpool(portal.save, settings, token, session_value, fields, uploads,
                                               today=today)
                view.problems = [p for p in view.problems if p.field == "attachment"]
                return form_page(request, token, csrf, view, warnings=warnings)
        if action in ("submit", "submit_anyway"):
            result = await run_in_threadpool(portal.submit, settings, token, session_value, fields, uploads,
                                             today=today, deliver=deliver)
            if isinstance(result, portal.FormView):
                return form_page(request, token, csrf, result, status=400)
            return page("receipt", "Return submitted", receipt=result)
        remove = None
        if action.startswith("remove-") and action[7:].isdigit():
            remove = int(action[7:])
        view = await run_in_threadpool(portal.save, settings, token, session_value, fields, uploads,
                                       today=today, remove=remove)
        # A draft keeps what is wrong; only problems with files (not kept) are shown now.
        view.problems = [p for p in view.problems if p.field == "attachment"]
        return form_page(request, token, csrf, view, saved=not view.problems, extra_row=action == "add_row")

    def recommendation_page(request: Request, token: str, csrf: str, view: recs.RecommendationView, *,
                            status: int = 200, warnings=()) -> Response:
        summary = [(p.field, recs.problem_text(p)) for p in view.problems]
        errors: dict[str, str] = {}
        for anchor, text in summary:
            errors[anchor] = f"{errors[anchor]}; {text}" if anchor in errors else text
        title = f"Recommendation {view.reference}: {recs.STEP_TITLES[view.step]}"
        response = page("recommendation", title, status, header="a recommendation for your organisation",
                        base=f"/r/{token}", csrf=csrf_field(request, token, csrf),
                        view=view, errors=errors, summary_errors=summary, warnings=list(warnings),
                        role_request=REQUEST,
                        labels=recs.RESPONSE_LABELS, reasons_max=recs.REASONS_MAX, outcome_max=recs.OUTCOME_MAX,
                        **attachments)
        return with_cookies(response, token, csrf)

    @app.get("/r/{token}/recommendation")
    def show_recommendation(token: str, request: Request) -> Response:
        csrf = csrf_of(request)
        try:
            view = recs.recommendation_view(settings, token, request.cookies.get(SESSION_COOKIE))
        except portal.LinkNotUsable:
            portal.link_state(settings, token, None)  # raises for a link that is not live
            return RedirectResponse(f"/r/{token}", status_code=303)
        return recommendation_page(request, token, csrf, view)

    @app.post("/r/{token}/recommendation")
    async def post_recommendation(token: str, request: Request) -> Response:
        fields, uploads = await posted(request)
        csrf = csrf_of(request)
        session_value = request.cookies.get(SESSION_COOKIE)
        today = today_in_england()
        if str(fields.get("action") or "") not in ("send_anyway", "upload"):
            # Check my text first, as a return's: shown back to this session only.
            warnings = await run_in_threadpool(recs.text_warnings, settings, token, session_value, fields,
                                               today=today)
            if warnings:
                view = await run_in_threadpool(recs.shown_back, settings, token, session_value, fields,
                                               today=today, uploads=uploads)
                return recommendation_page(request, token, csrf, view, warnings=warnings)
        view = await run_in_threadpool(recs.submit, settings, token, session_value, fields, today=today,
                                       uploads=uploads)
        return recommendation_page(request, token, csrf, view, status=400 if view.problems else 200)

    return app


LIMITS_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+sentinel")


def limits_storage(uri: str, prefix: str = "cdop-portal"):
    """The store the rate limits are counted in: `memory://` (this process only) or a Redis
    URL (`redis://host:6379/N`, `rediss://` for TLS, `redis+sentinel://`), shared by every
    portal process that names it, its keys prefixed `prefix`."""
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme not in LIMITS_SCHEMES:
        raise ConfigError(f"portal rate-limit store must be memory:// or a Redis URL ({', '.join(s + '://' for s in LIMITS_SCHEMES[1:])})")
    if scheme == "memory":
        return storage_from_string("async+memory://")
    return storage_from_string(f"async+{uri}", implementation="redispy", key_prefix=prefix,
                               wrap_exceptions=True, socket_timeout=2, socket_connect_timeout=2)


def request_body_limit(settings: Settings) -> int:
    """The largest body any portal request may have: every file at its largest, and room
    for the form's fields."""
    policy = settings.policy.portal
    return policy.attachment_max_mb * 1024 * 1024 * policy.max_attachments + 2 * 1024 * 1024


def _token_of(path: str) -> str | None:
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "r" and parts[2] else None


def _errors(view: portal.FormView) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Problems by the id of the field they belong to, and the summary's (anchor, text)."""
    labels = {f.key: f.label for s in view.sections for f in s.fields}
    labels.update(summary="Summary", attachments="Attachments")
    by_id: dict[str, str] = {}
    summary: list[tuple[str, str]] = []
    for problem in view.problems:
        if problem.field.startswith("chronology"):
            column = problem.field.removeprefix("chronology").strip() or "date"
            anchor = f"chronology-{problem.row or 1}-{column}"
            label = f"Chronology entry {problem.row or 1}, {'date' if column == 'date' else 'what happened'}"
        elif problem.field == "attachment":
            anchor, label = "attachments", "Attachments"
        else:
            anchor, label = problem.field, labels.get(problem.field, problem.field)
        text = f"{label}: {problem.message}"
        by_id.setdefault(anchor, text)
        summary.append((anchor, text))
    return by_id, summary
