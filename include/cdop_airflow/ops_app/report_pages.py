"""Case reports in the browser: the coordinator reads any version (rendered from the
encrypted store, never cached, each reading audited), checks the pseudonymised draft's
replacements one by one (keep, change, undo: the same service as `cdop report decide`;
a reveal of an original only with a reason, audited), approves or returns it, and
rebuilds it after amending."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import FastAPI, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from cdop.config import Settings
from cdop_airflow.ops_app.auth import CSRF_FIELD
from cdop_airflow.ops_app.common import (
    COORDINATOR,
    CSRF,
    Access,
    SettingsDep,
    TodayDep,
    TokenDep,
    base_href,
    redirect,
    render_page,
    route,
)
from cdop_airflow.ops_app.common import case_number as parse_case_number

ACCESS: Access = {
    "/cases/{case_number}/reports/{version}": {"GET": COORDINATOR},
    "/cases/{case_number}/report/rebuild": {"POST": COORDINATOR},
    "/cases/{case_number}/report/check": {"GET": COORDINATOR},
    "/cases/{case_number}/report/replacements": {"POST": COORDINATOR},
    "/cases/{case_number}/report/reveal": {"POST": COORDINATOR},
}

# Above the report itself: where it is from, and the way back to decide on it.
_BANNER = ('<div style="font-family:Arial,Helvetica,sans-serif;background:#005eb8;color:#fff;'
           'padding:8px 16px;font-size:15px" role="navigation" aria-label="CDOP operations">'
           '<a style="color:#fff" href="{back}">&larr; Back to case {number}</a> &middot; '
           'version {version} &middot; your reading is recorded in the audit trail</div>')


def with_banner(html: str, banner: str) -> str:
    """The report's own document with the banner first in its body."""
    at = html.find("<body")
    if at < 0:
        return banner + html
    end = html.find(">", at) + 1
    return html[:end] + banner + html[end:]


def routes(app: FastAPI) -> None:
    @route(app, "GET", "/cases/{case_number}/reports/{version}", response_class=HTMLResponse)
    def read_report_page(request: Request, case_number: str, version: str, settings: SettingsDep):
        """One version of a case report as the coordinator checks it (reads are audited;
        the response is never cached: Cache-Control no-store on every page)."""
        from cdop.panel.case_reports import read_report

        number = parse_case_number(case_number)
        if not version.isdigit() or not 1 <= int(version) <= 10_000:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such version of this report")
        html = read_report(settings, number, int(version), actor=settings.actor)
        if html is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such version of this report")
        banner = _BANNER.format(back=escape(f"{base_href(request)}cases/{quote(number)}#report"),
                                number=escape(number), version=int(version))
        return HTMLResponse(with_banner(html, banner))

    @route(app, "POST", "/cases/{case_number}/report/rebuild", dependencies=[CSRF])
    def rebuild_action(request: Request, case_number: str, settings: SettingsDep, today: TodayDep,
                       token: TokenDep) -> Response:
        """Build the next version after the comments or the gate's findings were dealt
        with (the same service as `cdop report build`)."""
        from cdop.panel.case_reports import ReportBuildFailed, build_report
        from cdop.store.lookups import NotFound
        from cdop.validation import InputError, Problem
        from cdop_airflow.ops_app.case_pages import case_response

        number = parse_case_number(case_number)
        try:
            build_report(settings, number, today=today, actor=settings.actor)
        except InputError as exc:
            return case_response(request, settings, today, token, number, problems=exc.problems,
                                  failed_form="rebuild", status_code=422)
        except NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no case with this number") from exc
        except ReportBuildFailed:
            return case_response(request, settings, today, token, number,
                                  problems=[Problem("report", "could not be built (see the task logs by case number)")],
                                  failed_form="rebuild", status_code=503)
        return redirect(request, f"cases/{quote(number)}", "report_rebuilt")


    _check_routes(app)


def check_response(request: Request, settings: Settings, today: dt.date, token: str, number: str, *,
                   problems: list | None = None, failed: int | None = None,
                   revealed: dict | None = None, status_code: int = 200) -> HTMLResponse:
    """The check page: the draft, every replacement marked, a small form for each."""
    from cdop.panel.replacements import replacements
    from cdop.store.lookups import NotFound

    try:
        view = replacements(settings, number, today=today)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no case with this number") from exc
    items = {r["number"]: r for r in view["replacements"]}
    # Counted by the words decided (the first of the same words stands for the rest).
    firsts = [r for r in items.values() if r["same_as"] == r["number"]]
    counts = {"all": len(items), "undecided": len(view["undecided"]),
              "repeats": len(items) - len(firsts),
              "auto": sum(1 for r in firsts if r["severity"] == "stop" and not r["decision"]),
              "decided": sum(1 for r in firsts if r["decision"])}
    return render_page(request, "report_check.html.j2", active="reports", case_number=number, view=view,
                       items=items, counts=counts, problems=problems or [], failed=failed, revealed=revealed,
                       csrf_field=CSRF_FIELD, csrf_token=token, status_code=status_code)


def _check_routes(app: FastAPI) -> None:
    from cdop.store.lookups import NotFound
    from cdop.validation import InputError, RowReader

    @route(app, "GET", "/cases/{case_number}/report/check", response_class=HTMLResponse)
    def check_page(request: Request, case_number: str, settings: SettingsDep, today: TodayDep, token: TokenDep):
        """The pseudonymised draft with every replacement marked: the coordinator checks
        the replacements, not the sentences (no original is shown)."""
        return check_response(request, settings, today, token, parse_case_number(case_number))

    def _number(value: str):
        reader = RowReader({"replacement": value})
        n = reader.integer("replacement", low=1, high=100_000, required=True)
        if reader.problems:
            raise InputError(reader.problems)
        return n

    @route(app, "POST", "/cases/{case_number}/report/replacements", dependencies=[CSRF])
    def decide_replacement(
        request: Request, case_number: str, settings: SettingsDep, today: TodayDep, token: TokenDep,
        replacement: Annotated[str, Form()] = "",
        fingerprint: Annotated[str, Form(max_length=64)] = "",
        decision: Annotated[str, Form()] = "",
        label: Annotated[str, Form()] = "",
        other_label: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
    ) -> Response:
        """Keep, change or undo one replacement (the same service as `cdop report decide`);
        the same text everywhere in the case follows. POST, then back to the page."""
        from cdop.panel.replacements import decide

        number = parse_case_number(case_number)
        n = None
        try:
            n = _number(replacement)
            decide(settings, number, n, decision=decision, label=(other_label.strip() or label) or None,
                   reason=reason or None, actor=settings.actor, today=today, fingerprint=fingerprint or None)
        except InputError as exc:
            return check_response(request, settings, today, token, number, problems=exc.problems, failed=n,
                                  status_code=422)
        except NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no case with this number") from exc
        response = redirect(request, f"cases/{quote(number)}/report/check", "replacement_decided")
        response.headers["location"] += f"#r{n}"
        return response

    @route(app, "POST", "/cases/{case_number}/report/reveal", response_class=HTMLResponse,
           dependencies=[CSRF])
    def reveal_replacement(
        request: Request, case_number: str, settings: SettingsDep, today: TodayDep, token: TokenDep,
        replacement: Annotated[str, Form()] = "",
        fingerprint: Annotated[str, Form(max_length=64)] = "",
        reason: Annotated[str, Form()] = "",
    ):
        """Show one replacement's original to a coordinator who states why: audited like
        every reveal; the page is never cached and the value never goes in a URL."""
        from cdop.panel.replacements import reveal

        number = parse_case_number(case_number)
        n = None
        try:
            n = _number(replacement)
            shown = reveal(settings, number, n, reason=reason, actor=settings.actor, today=today,
                           fingerprint=fingerprint or None)
        except InputError as exc:
            return check_response(request, settings, today, token, number, problems=exc.problems, failed=n,
                                  status_code=422)
        except NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no case with this number") from exc
        return check_response(request, settings, today, token, number, revealed=shown)
