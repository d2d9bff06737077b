"""Case reports in the browser: the coordinator reads any version (rendered from the
encrypted store, never cached, each reading audited), approves or returns it on the case
page, and rebuilds it after amending."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from cdop_airflow.ops_app.common import (
    COORDINATOR,
    CSRF,
    Access,
    SettingsDep,
    TodayDep,
    TokenDep,
    base_href,
    redirect,
    route,
)
from cdop_airflow.ops_app.common import case_number as parse_case_number

ACCESS: Access = {
    "/cases/{case_number}/reports/{version}": {"GET": COORDINATOR},
    "/cases/{case_number}/report/rebuild": {"POST": COORDINATOR},
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
