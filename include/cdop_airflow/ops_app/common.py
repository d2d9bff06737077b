"""What every route module of the operations pages shares: the dependencies (settings
with the signed-in user as the actor, today, the CSRF token), `route` (a route with the
roles its module's ACCESS table gives it), `render_page` and small helpers.

How a route module plugs in (app.py's ROUTE_MODULES lists them):

    ACCESS = {"/things": {"GET": COORDINATOR}, "/things/{thing}": {"POST": COORDINATOR}}

    def routes(app):
        @route(app, "GET", "/things", response_class=HTMLResponse)
        def things(request: Request, settings: SettingsDep, today: TodayDep): ...

        @route(app, "POST", "/things/{thing}", dependencies=[CSRF])
        def change(request: Request, settings: SettingsDep, token: TokenDep, ...): ...

app.py merges every module's ACCESS into one table (a path declared twice is an error at
import) and keeps it on the app, where `route` reads it: a route whose path and method no
table names cannot be declared.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse

from cdop.clock import today_in_england
from cdop.config import Settings
from cdop_airflow.ops_app.auth import CSRF_FIELD, CurrentUser, Requires, check_csrf, csrf_token
from cdop_airflow.ops_app.roles import EVERY_ROLE, Role

Access = dict[str, dict[str, frozenset[Role]]]

COORDINATOR = frozenset({Role.COORDINATOR})
PANEL = frozenset({Role.COORDINATOR, Role.PANEL_MEMBER})
FIGURES = frozenset({Role.COORDINATOR, Role.VIEWER})
EVERYONE = EVERY_ROLE

CASE_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}$")
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
# A notification or directory file: the input rules' limit (cdop.validation).
MAX_TABLE_BYTES = 5 * 1024 * 1024

# The header's links: (path, label); each shown to those its GET admits.
NAV = (
    ("", "Pipeline"),
    ("notifications/new", "Register a death"),
    ("overdue", "Overdue returns"),
    ("investigations", "Waiting on investigations"),
    ("meetings", "Panel meetings"),
    ("reports", "Reports to check"),
    ("analyses", "Analyses"),
    ("recommendations", "Recommendations"),
    ("agencies", "Agencies"),
    ("outbox", "Outbox"),
    ("gate/held", "Held by the gate"),
    ("audit", "Audit trail"),
    ("papers", "Panel papers"),
    ("figures", "Figures"),
    ("figures/board", "Board figures"),
)

DONE_MESSAGES = {
    "return_recorded": "Return recorded.",
    "content_recorded": "The return's content is recorded.",
    "investigation_recorded": "Investigation updated.",
    "report_decided": "Decision recorded.",
    "report_rebuilt": "The report is rebuilt.",
    "replacement_decided": "Decision recorded: it applies wherever the same text appears in this case.",
    "message_released": "Message released: it goes with the next send.",
    "registered": "Notification registered.",
    "agencies_imported": "The agency directory is imported.",
    "agency_saved": "Agency saved.",
    "request_waived": "Return waived.",
    "waiver_amended": "The waiver's reason is corrected.",
    "summary_amended": "The return's summary is corrected. Rebuild the report to use it.",
    "entry_amended": "The chronology entry is corrected. Rebuild the report to use it.",
    "text_amended": "Corrected, with the change in the audit trail.",
    "ncmd_recorded": "NCMD notification recorded.",
    "family_recorded": "Family circumstances recorded.",
    "meeting_created": "Meeting created.",
    "meeting_saved": "Meeting saved.",
    "analysis_recorded": "Analysis recorded and finalised; the case is closed and its recommendations go to their organisations.",
    "progress_recorded": "Progress recorded.",
    "completion_confirmed": "Recommendation confirmed complete on its evidence.",
    "portal_reopened": "The portal return is open again: a new link goes to the agency within minutes.",
    "finding_released": "Released, with your reason in the audit trail. Build the output again to publish it "
                        "(an outgoing email with nothing left held is back in the outbox).",
}


def merge_access(tables: Iterable[Access]) -> Access:
    """One ACCESS table from the route modules' own; a (path, method) twice is an error."""
    merged: Access = {}
    for table in tables:
        for path, methods in table.items():
            into = merged.setdefault(path, {})
            for method, roles in methods.items():
                if method in into:
                    raise ValueError(f"{method} {path} is declared by two route modules")
                into[method] = frozenset(roles)
    return merged


def route(router: Any, method: str, path: str, **kwargs: Any):
    """Declare a route with the roles the app's ACCESS table gives it (a KeyError here is a
    route that nobody decided who may use)."""
    roles = router.state.cdop_access[path][method]
    dependencies = [Depends(Requires(roles)), *kwargs.pop("dependencies", [])]
    return router.api_route(path, methods=[method], dependencies=dependencies, **kwargs)


# ---------------------------------------------------------------------- dependencies


@lru_cache(maxsize=8)
def _settings_for_environment(_env: tuple[tuple[str, str], ...]) -> Settings:
    from cdop_airflow.runtime import settings

    return settings("airflow-ui")


async def base_settings() -> Settings:
    """Settings from the environment (or the cdop_* Connections), built once per
    environment: Connections are read at the first request, not at every one.
    The request dependencies that do no I/O are async, so that none costs a hop to the
    thread pool."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("CDOP_")))
    return _settings_for_environment(env)


async def business_today() -> dt.date:
    """A person acting on the page acts today, in England."""
    return today_in_england()


def person_name(user: Any) -> str:
    """How the audit trail, the pages and the Required Action name an Airflow user: the
    plain user name, the one they sign in with ("admin"). A person is one name wherever
    they act; "airflow:<dag>" names a scheduled task, never a person."""
    return str(user.get_name())


async def user_settings(user: CurrentUser, base: Annotated[Settings, Depends(base_settings)]) -> Settings:
    """The signed-in Airflow user is the actor in the audit trail."""
    return dataclasses.replace(base, actor=person_name(user))


SettingsDep = Annotated[Settings, Depends(user_settings)]
TodayDep = Annotated[dt.date, Depends(business_today)]
TokenDep = Annotated[str, Depends(csrf_token)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]
CSRF = Depends(check_csrf)


# ------------------------------------------------------------------------- rendering


def base_href(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/") + "/"


def render_page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    from cdop.mail.templating import render

    user = getattr(request.state, "cdop_user", None)
    held = getattr(request.state, "cdop_roles", frozenset())
    access: Access = getattr(request.app.state, "cdop_access", {})
    nav = [(path, label) for path, label in NAV
           if held & access.get("/" + path, {}).get("GET", frozenset())
           and (path or Role.COORDINATOR in held)]
    context.setdefault("csrf_field", CSRF_FIELD)
    if isinstance(context.get("form"), FormState):
        context["form"] = dataclasses.replace(context["form"], page=own_address(request))
    page = render(
        f"ops/{template}",
        base=base_href(request),
        nav=nav,
        coordinator=Role.COORDINATOR in held,
        active=context.pop("active", ""),
        user=person_name(user) if user else "",
        done=DONE_MESSAGES.get(request.query_params.get("done") or "",
                               "Done." if request.query_params.get("done") else None),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def own_address(request: Request) -> str:
    """The request's address relative to the base href (path and query), so that a link
    to `<own address>#id` stays on this very document."""
    root = request.scope.get("root_path", "").rstrip("/")
    path = request.url.path
    path = path[len(root):] if root and path.startswith(root) else path
    query = request.url.query
    return path.lstrip("/") + (f"?{query}" if query else "")


def page_link(request: Request) -> Callable[[int], str]:
    def link(number: int) -> str:
        params = dict(request.query_params)
        params["page"] = str(number)
        params.pop("done", None)
        return "?" + urlencode(params)

    return link


def case_number(value: str) -> str:
    number = value.strip().upper()
    if not CASE_NUMBER.match(number):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no case with this number")
    return number


def agency_code(value: str) -> str:
    """An agency code from a path, or a 404 that does not repeat it."""
    from cdop.validation import InputError
    from cdop.validation import agency_code as parse

    try:
        return parse(value)
    except InputError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no agency with this code") from exc


def redirect(request: Request, path: str, done: str) -> RedirectResponse:
    return RedirectResponse(
        f"{base_href(request)}{path}?{urlencode({'done': done})}", status_code=status.HTTP_303_SEE_OTHER
    )


@dataclasses.dataclass(frozen=True)
class FormState:
    """A page form as it is shown again after a refusal: which form it was, what was
    typed, and each problem under its field, so that the person corrects only what was
    wrong. A refused field comes back empty: its value is never shown again (it may be
    the identifier that was refused). A problem about something the form has no field
    for (the case, the notification) is named above the form only.

    One state serves every form of a page: `of(name)` is this state for the form that was
    refused, and an empty one for any other. The templates read it through the macros of
    ops/_forms.html.j2."""

    name: str = ""
    fields: Mapping[str, str] = dataclasses.field(default_factory=dict)  # name -> what a person calls it
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    errors: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # This document's own address under the base href, for the summary's links to its
    # fields: a refused form is the answer to its POST, so a link to the page's GET
    # address would load a fresh form and lose what was typed. render_page sets it.
    page: str = ""

    def of(self, name: str) -> FormState:
        return self if name == self.name else FormState(name, page=self.page)

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    def value(self, name: str, default: Any = "") -> Any:
        """What was typed in this field, or the default when the form is fresh (a refused
        field stays empty)."""
        if not self.failed:
            return default
        return self.values.get(name, "")

    def has(self, name: str, code: str, default: bool = False) -> bool:
        """Whether a checkbox or option `code` of field `name` was chosen."""
        if not self.failed:
            return default
        chosen = self.values.get(name)
        return code in chosen if isinstance(chosen, list | tuple) else chosen == code

    @property
    def summary(self) -> list[tuple[str, str, str]]:
        """(field, what a person calls it, message) for the summary above the form; the
        field is '' for a problem the form has no field for."""
        out = []
        for name, messages in self.errors.items():
            label = self.fields.get(name) or name.replace("_", " ").capitalize()
            out += [(name if name in self.fields else "", label, m) for m in messages]
        return out


def refused_form(name: str, problems: Iterable[Any], values: Mapping[str, Any] | None = None,
                 fields: Mapping[str, str] | None = None) -> FormState:
    """The state of form `name` refused with these problems (cdop.validation.Problem):
    what was typed comes back except in a refused field; a problem in a row of many (a
    chronology line, a file's row) says its row."""
    errors: dict[str, list[str]] = {}
    for p in problems:
        message = f"row {p.row}: {p.message}" if p.row is not None else p.message
        errors.setdefault(p.field, []).append(message)
    kept = {k: v for k, v in (values or {}).items() if k not in errors}
    return FormState(name, dict(fields or {}), kept, {k: tuple(v) for k, v in errors.items()})


def form_values(form: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """The named text fields of a form ('' when absent); a file where text is expected
    is read as ''."""
    return {name: (v if isinstance(v := form.get(name), str) else "") for name in names}


class uploaded:
    """An uploaded file kept in a private temporary folder under its own (safe) name,
    for the service to read (or encrypt and store); removed afterwards."""

    def __init__(self, upload: UploadFile | None, *, limit: int = MAX_UPLOAD_BYTES, field: str = "file"):
        self.upload = upload if upload is not None and upload.filename else None
        self.limit, self.field = limit, field
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
            left = self.limit + 1
            while left > 0 and (chunk := self.upload.file.read(min(left, 1024 * 1024))):
                out.write(chunk)
                left -= len(chunk)
        if target.stat().st_size > self.limit:
            self.__exit__()
            size = f"{self.limit // (1024 * 1024)} MB"
            raise InputError([Problem(self.field, f"is larger than {size}")])
        return target

    def __exit__(self, *_exc) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
