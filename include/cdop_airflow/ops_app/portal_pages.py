"""An agency's portal return, on the coordinator's pages: the answers it gave section by
section and its attachments (confidential: each reading is audited, nothing is cached),
and reopening a submitted return so the agency can correct it (the same services as
`cdop portal show|attachment|reopen`)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from cdop_airflow.ops_app.common import (
    COORDINATOR,
    CSRF,
    Access,
    SettingsDep,
    TodayDep,
    TokenDep,
    agency_code,
    redirect,
    render_page,
    route,
)
from cdop_airflow.ops_app.common import case_number as parse_case_number

ACCESS: Access = {
    "/cases/{case_number}/portal/{agency}": {"GET": COORDINATOR},
    "/cases/{case_number}/portal/{agency}/attachments/{number}": {"GET": COORDINATOR},
    "/cases/{case_number}/portal/{agency}/reopen": {"POST": COORDINATOR},
}


def routes(app: FastAPI) -> None:
    from cdop.store.lookups import NotFound
    from cdop.validation import InputError

    @route(app, "GET", "/cases/{case_number}/portal/{agency}", response_class=HTMLResponse)
    def portal_return_page(request: Request, case_number: str, agency: str, settings: SettingsDep,
                           token: TokenDep):
        """What the agency answered in the portal (audited as a reading)."""
        from cdop.portal.service import submitted_return

        number, code = parse_case_number(case_number), agency_code(agency)
        try:
            answers = submitted_return(settings, number, code, actor=settings.actor)
        except (NotFound, InputError) as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                "This agency has not used the portal for this case") from exc
        return render_page(request, "portal_return.html.j2", active="", case_number=number,
                           agency=code, answers=answers, csrf_token=token)

    @route(app, "GET", "/cases/{case_number}/portal/{agency}/attachments/{number}")
    def portal_attachment(case_number: str, agency: str, number: str, settings: SettingsDep) -> Response:
        """One attachment, decrypted, as a download named by case, agency and number
        (never by the name the agency gave it); audited."""
        from cdop.portal.service import attachment_content

        case, code = parse_case_number(case_number), agency_code(agency)
        if not number.isdigit() or not 1 <= int(number) <= 100:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such attachment")
        try:
            data, suffix = attachment_content(settings, case, code, int(number), actor=settings.actor)
        except (NotFound, InputError) as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such attachment") from exc
        name = f"{case}-{code}-attachment-{int(number)}{suffix}"
        # Always a download, never shown inline: the file is the agency's, not the page's.
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @route(app, "POST", "/cases/{case_number}/portal/{agency}/reopen", dependencies=[CSRF])
    def reopen_action(request: Request, case_number: str, agency: str, settings: SettingsDep,
                      today: TodayDep, token: TokenDep) -> Response:
        """Open a submitted portal return again: its links end, and a fresh one is queued
        for the agency (sent by the next run of cdop_send_agency_requests, within
        minutes). The recorded return stands until the agency submits again."""
        from cdop.portal.service import reopen
        from cdop.validation import Problem
        from cdop_airflow.ops_app.case_pages import _is_closed, case_response

        number, code = parse_case_number(case_number), agency_code(agency)
        try:
            if _is_closed(settings, number):
                raise InputError([Problem("case", "is closed: its record is read-only")])
            reopen(settings, number, code, today=today, actor=settings.actor)
        except InputError as exc:
            return case_response(request, settings, today, token, number, problems=exc.problems,
                                 failed_form="portal", status_code=422)
        except NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such agency on this case") from exc
        return redirect(request, f"cases/{quote(number)}", "portal_reopened")
