"""One case for the coordinator: where it is, its returns, processes, the NCMD, the
family, its reports and its timeline in words; and every action on it, through the same
services as the `cdop` command (same validation, same audit, the signed-in user as the
actor). A closed case is read-only: no form is offered and every action is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cdop.config import Settings
from cdop.store.statuses import ReportStatus
from cdop_airflow.ops_app.auth import CSRF_FIELD
from cdop_airflow.ops_app.common import (
    COORDINATOR,
    CSRF,
    Access,
    SettingsDep,
    TodayDep,
    TokenDep,
    base_href,
    refused_form,
    render_page,
    route,
    uploaded,
)
from cdop_airflow.ops_app.common import case_number as _case_number
from cdop_airflow.ops_app.common import redirect as _redirect

ACCESS: Access = {
    "/cases": {"GET": COORDINATOR},
    "/cases/{case_number}": {"GET": COORDINATOR},
    "/cases/{case_number}/return": {"POST": COORDINATOR},
    "/cases/{case_number}/content": {"POST": COORDINATOR},
    "/cases/{case_number}/waive": {"POST": COORDINATOR},
    "/cases/{case_number}/waiver": {"POST": COORDINATOR},
    "/cases/{case_number}/return/summary": {"POST": COORDINATOR},
    "/cases/{case_number}/return/entry": {"POST": COORDINATOR},
    "/cases/{case_number}/investigation": {"POST": COORDINATOR},
    "/cases/{case_number}/ncmd": {"POST": COORDINATOR},
    "/cases/{case_number}/family": {"POST": COORDINATOR},
    "/cases/{case_number}/identifiers": {"POST": COORDINATOR},
    "/cases/{case_number}/report": {"POST": COORDINATOR},
}


def routes(app: FastAPI) -> None:
    @route(app, "GET", "/cases", response_class=HTMLResponse)
    def find_case(request: Request, number: str = ""):
        """The case finder in the page header."""
        return RedirectResponse(f"{base_href(request)}cases/{quote(_case_number(number))}",
                                status_code=status.HTTP_303_SEE_OTHER)

    @route(app, "GET", "/cases/{case_number}", response_class=HTMLResponse)
    def case_page(request: Request, case_number: str, settings: SettingsDep, today: TodayDep,
                  token: TokenDep):
        """One case: where it is, its timeline, and the coordinator's actions."""
        return case_response(request, settings, today, token, _case_number(case_number))


    _action_routes(app)


def case_response(request: Request, settings: Settings, today: dt.date, token: str, number: str,
                   *, problems: list | None = None, failed_form: str | None = None,
                   values: dict | None = None, status_code: int = 200) -> HTMLResponse:
    """The case page; after a refusal, the refused form (`failed_form`) comes back with
    what was typed (`values`) and each problem beside its field."""
    from cdop.store.db import unit_of_work
    from cdop.taxonomy import taxonomy
    from cdop.views import cases as case_views

    with unit_of_work(settings) as uow:
        view = case_views.case_view(uow.session, number, settings.policy)
        if view is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no case {number}")
        timeline = case_views.case_timeline(uow.session, number)
        blocked = bool(view.reports) and view.reports[0]["status"] == ReportStatus.BLOCKED  # newest first
        # The gate's findings on the case's content: when a report is blocked, and at once
        # after the return's content is recorded (so the coordinator can redact before a build).
        just_recorded = request.query_params.get("done") == "content_recorded"
        findings = (case_views.gate_findings_in_context(uow.session, number, settings)
                    if blocked or just_recorded or failed_form == "content" else [])
    tax = taxonomy()
    return render_page(
        request,
        "case.html.j2",
        active="",
        case=view,
        # As `cdop ncmd breaches` counts it: past the deadline as of the start of the day.
        ncmd_hours=settings.policy.ncmd_deadline_hours,
        ncmd_overdue=view.ncmd_deadline is not None and view.ncmd_deadline < dt.datetime.combine(today, dt.time.min),
        read_only=view.closed_on is not None,
        stage_label=_stage_label(view.stage),
        timeline=timeline,
        findings=findings,
        findings_reason="blocked" if blocked else "content",
        csrf_field=CSRF_FIELD,
        csrf_token=token,
        investigation_kinds=tax.labels("investigation"),
        investigation_statuses=tax.labels("investigation_status"),
        family_offers=tax.labels("family_offer"),
        family_identifiers=tax.labels("family_identifier"),
        sibling_bands=_sibling_bands(),
        problems=problems or [],
        failed_form=failed_form,
        form=refused_form(failed_form or "", problems or [], values, CASE_FORM_FIELDS.get(failed_form or "")),
        today=today,
        status_code=status_code,
    )


# What a person calls each field of the case page's forms, for the summary above a refused one.
CASE_FORM_FIELDS: dict[str, dict[str, str]] = {
    "return": {"agency": "Agency", "received": "Received", "file": "File"},
    "waive": {"agency": "Agency", "reason": "Reason"},
    "waiver": {"agency": "Agency", "reason": "New reason"},
    "content": {"agency": "Agency", "summary": "Summary", "entries": "Chronology entries",
                "file": "Return template", "replace": "Replace the entries"},
    "investigation": {"kind": "Process", "status": "Status", "date": "Date", "outcome": "Outcome"},
    "ncmd": {"date": "Date", "time": "Time"},
    "family": {"sibling": "Siblings' age bands", "key_worker_offered": "Key worker",
               "bereavement_support_offered": "Bereavement support", "support_notes": "Notes on support",
               "office_notes": "Office notes", "identifiers": "Identifiers"},
    "reveal": {"reason": "Reason"},
    "report": {"comments": "Comments"},
    "summary": {"agency": "Agency", "summary": "Summary"},
    "entry": {"entry": "Entry number", "what_happened": "What happened"},
}


def _is_closed(settings: Settings, number: str) -> bool:
    from sqlalchemy import select

    from cdop.store.db import unit_of_work
    from cdop.store.models import Case

    with unit_of_work(settings) as uow:
        return uow.session.scalar(select(Case.closed_on).where(Case.case_number == number)) is not None


def _stage_label(stage: str) -> str:
    from cdop.rules.stages import Stage
    from cdop.views.pipeline import STAGE_LABELS

    try:
        return STAGE_LABELS[Stage(stage)]
    except (KeyError, ValueError):
        return stage.replace("_", " ")


def _sibling_bands() -> tuple[str, ...]:
    from cdop.intake.family import SIBLING_AGE_BANDS

    return SIBLING_AGE_BANDS


def _agency_code(agency: str) -> str:
    """The agency code a case form names (required, at most CODE_MAX), or a refusal
    naming the field."""
    from cdop.validation import CODE_MAX, InputError, RowReader

    reader = RowReader({"agency": agency})
    code = reader.text("agency", max_len=CODE_MAX)
    if reader.problems:
        raise InputError(reader.problems)
    return code


def _action_routes(app: FastAPI) -> None:
    from cdop.store.lookups import NotFound
    from cdop.validation import CODE_MAX, InputError, Problem, RowReader

    def attempt(request: Request, settings: Settings, today: dt.date, token: str, number: str,
                form_name: str, action: Callable[[], None], done: str,
                values: dict | None = None) -> Response:
        """Run a case form's action; a refusal shows the page again with the form as
        typed (`values`) and each problem beside its field."""
        try:
            if _is_closed(settings, number):
                raise InputError([Problem("case", "is closed: its record is read-only")])
            action()
        except InputError as exc:
            return case_response(request, settings, today, token, number, problems=exc.problems,
                                  failed_form=form_name, values=values, status_code=422)
        except NotFound as exc:
            return case_response(request, settings, today, token, number,
                                  problems=[Problem("case", str(exc))], failed_form=form_name,
                                  values=values, status_code=404)
        return _redirect(request, f"cases/{quote(number)}", done)

    @route(app, "POST", "/cases/{case_number}/return", dependencies=[CSRF])
    def record_return_action(
        request: Request,
        case_number: str,
        settings: SettingsDep,
        today: TodayDep,
        token: TokenDep,
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
            with uploaded(file) as path:
                record_return(settings, number, code, received_on=day, today=today, file=path)

        return attempt(request, settings, today, token, number, "return", act, "return_recorded",
                       {"agency": agency, "received": received})

    @route(app, "POST", "/cases/{case_number}/investigation", dependencies=[CSRF])
    def record_investigation_action(
        request: Request,
        case_number: str,
        settings: SettingsDep,
        today: TodayDep,
        token: TokenDep,
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
                       "investigation_recorded",
                       {"kind": kind, "status": status_, "date": date, "outcome": outcome})

    @route(app, "POST", "/cases/{case_number}/report", dependencies=[CSRF])
    def decide_report_action(
        request: Request,
        case_number: str,
        settings: SettingsDep,
        today: TodayDep,
        token: TokenDep,
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

        return attempt(request, settings, today, token, number, "report", act, "report_decided",
                       {"comments": comments})

    _more_case_actions(app, attempt)


def _more_case_actions(app: FastAPI, attempt) -> None:
    """The return's content, waivers, the NCMD, the family, and the audited reveal."""
    from cdop.store.lookups import NotFound
    from cdop.validation import CODE_MAX, InputError, Problem, RowReader

    @route(app, "POST", "/cases/{case_number}/content", dependencies=[CSRF])
    def record_content_action(
        request: Request, case_number: str, settings: SettingsDep, today: TodayDep, token: TokenDep,
        agency: Annotated[str, Form()] = "",
        summary: Annotated[str, Form()] = "",
        entries: Annotated[str, Form()] = "",
        replace: Annotated[str, Form()] = "",
        file: Annotated[UploadFile | None, File()] = None,
    ):
        """Record what an agency returned: its summary and chronology, typed or as the
        return template (the same service as `cdop return content`; all-or-nothing)."""
        from cdop.requests.returns import load_return_file, record_return_content
        from cdop_airflow.ops_app.common import MAX_TABLE_BYTES

        number = _case_number(case_number)

        def act() -> None:
            code = _agency_code(agency)
            text = summary if summary.strip() else None
            problems: list = []
            with uploaded(file, limit=MAX_TABLE_BYTES) as path:
                if path is not None:
                    if entries.strip():
                        raise InputError([Problem("entries", "give either the file or typed entries, not both")])
                    file_summary, rows, first_row, problems = load_return_file(
                        path, case_number=number, agency_code=code)
                    if text and file_summary:
                        raise InputError([Problem("summary", "the file already holds a summary: leave it empty")])
                    text = text or file_summary
                else:
                    rows, first_row = _typed_entries(entries), 1
            if text is None and not rows:
                raise InputError([Problem("summary", "is required, or chronology entries or a file")])
            try:
                record_return_content(settings, number, code, summary=text, entries=rows, today=today,
                                      first_row=first_row, replace=replace == "yes", problems=problems)
            except InputError as exc:  # the command's option is the form's checkbox here
                raise InputError([Problem(p.field, p.message.replace("use --replace", "tick \"Replace the entries\""),
                                          p.row) for p in exc.problems]) from None

        return attempt(request, settings, today, token, number, "content", act, "content_recorded",
                       {"agency": agency, "summary": summary, "entries": entries, "replace": replace})

    @route(app, "POST", "/cases/{case_number}/waive", dependencies=[CSRF])
    def waive_action(
        request: Request, case_number: str, settings: SettingsDep, today: TodayDep, token: TokenDep,
        agency: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
    ):
        """Waive a return that is not needed, with the reason (as `cdop request waive`)."""
        from cdop.requests.agency_requests import waive_request

        number = _case_number(case_number)

        def act() -> None:
            code = _agency_code(agency)
            waive_request(settings, number, code, reason=reason, today=today)

        return attempt(request, settings, today, token, number, "waive", act, "request_waived",
                       {"agency": agency, "reason": reason})

    @route(app, "POST", "/cases/{case_number}/waiver", dependencies=[CSRF])
    def amend_waiver_action(
        request: Request, case_number: str, settings: SettingsDep, today: TodayDep, token: TokenDep,
        agency: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
    ):
        """Correct why a return was waived (as `cdop request amend-waiver`)."""
        from cdop.requests.agency_requests import amend_waiver_reason

        number = _case_number(case_number)

        def act() -> None:
            code = _agency_code(agency)
            amend_waiver_reason(settings, number, code, reason=reason, actor=settings.actor)

        return attempt(request, settings, today, token, number, "waiver", act, "waiver_amended",
                       values={"agency": agency[:CODE_MAX], "reason": reason})

    @route(app, "POST", "/cases/{case_number}/return/summary", dependencies=[CSRF])
    def amend_summary_action(
        request: Request, case_number: str, settings: SettingsDep, today: TodayDep, token: TokenDep,
        agency: Annotated[str, Form()] = "",
        summary: Annotated[str, Form()] = "",
    ):
        """Correct a return's summary (as `cdop return amend-summary`: gated, audited)."""
        from cdop.requests.returns import amend_summary

        number = _case_number(case_number)

        def act() -> None:
            amend_summary(settings, number, _agency_code(agency), summary=summary, actor=settings.actor)

        return attempt(request, settings, today, token, number, "summary", act, "summary_amended",
                       values={"agency": agency[:CODE_MAX], "summary": summary})

    @route(app, "POST", "/cases/{case_number}/return/entry", dependencies=[CSRF])
    def amend_entry_action(
        request: Request, case_number: str, settings: SettingsDep, today: TodayDep, token: TokenDep,
        entry: Annotated[str, Form()] = "",
        what_happened: Annotated[str, Form()] = "",
    ):
        """Correct a chronology entry's text, by its number in the case (as `cdop return
        amend-entry`: gated, audited)."""
        from cdop.requests.returns import amend_entry

        number = _case_number(case_number)

        def act() -> None:
            if not (entry.isascii() and entry.isdigit() and 0 < int(entry) <= 100_000):
                raise InputError([Problem("entry", "give the entry's number, as the chronology numbers it")])
            try:
                amend_entry(settings, number, int(entry), what_happened=what_happened or None, today=today,
                            actor=settings.actor)
            except NotFound:
                raise InputError([Problem("entry", "the case has no chronology entry with that number")]) from None

        return attempt(request, settings, today, token, number, "entry", act, "entry_amended",
                       values={"entry": entry[:12], "what_happened": what_happened})

    @route(app, "POST", "/cases/{case_number}/ncmd", dependencies=[CSRF])
    def ncmd_action(
        request: Request, case_number: str, settings: SettingsDep, today: TodayDep, token: TokenDep,
        date: Annotated[str, Form()] = "",
        time: Annotated[str, Form()] = "",
    ):
        """Record when the NCMD was told of the death (as `cdop ncmd record`)."""
        from cdop.intake.ncmd import record_ncmd_notification

        number = _case_number(case_number)

        def act() -> None:
            reader = RowReader({"date": date})
            day = reader.date("date")
            problems = list(reader.problems)
            clock = None
            try:
                clock = dt.time.fromisoformat(time.strip()) if time.strip() else None
            except ValueError:
                problems.append(Problem("time", "is not a time in the form HH:MM"))
            if clock is None and not problems:
                problems.append(Problem("time", "is required"))
            if problems:
                raise InputError(problems)
            try:
                record_ncmd_notification(settings, number,
                                         at=dt.datetime.combine(day, clock.replace(tzinfo=None)), today=today)
            except InputError as exc:  # the service's moment is the form's date and time
                raise InputError([Problem("date" if p.field == "at" else p.field, p.message, p.row)
                                  for p in exc.problems]) from None

        return attempt(request, settings, today, token, number, "ncmd", act, "ncmd_recorded",
                       {"date": date, "time": time})

    @route(app, "POST", "/cases/{case_number}/family", dependencies=[CSRF])
    async def family_action(request: Request, case_number: str, settings: SettingsDep, today: TodayDep,
                            token: TokenDep):
        """Record the family's circumstances and identifiers (as `cdop case family`); the
        identifiers are kept encrypted for the gate and never shown back on this page."""
        from starlette.concurrency import run_in_threadpool

        from cdop.intake.family import record_family
        from cdop_airflow.ops_app.common import form_values

        number = _case_number(case_number)
        form = await request.form()
        values = form_values(form, ("no_siblings", "key_worker_offered", "bereavement_support_offered",
                                    "support_notes", "office_notes", "replace_identifiers"))
        siblings = [v for v in form.getlist("sibling") if isinstance(v, str) and v.strip()]
        fields = [v if isinstance(v, str) else "" for v in form.getlist("identifier_field")]
        idvalues = [v if isinstance(v, str) else "" for v in form.getlist("identifier_value")]

        def act() -> None:
            context: dict = {}
            if siblings or values["no_siblings"] == "yes":
                context["siblings"] = siblings
            for key in ("key_worker_offered", "bereavement_support_offered", "support_notes", "office_notes"):
                if values[key].strip():
                    context[key] = values[key]
            idents = [{"field": f, "value": v} for f, v in zip(fields, idvalues, strict=False)
                      if f.strip() or v.strip()]
            if not context and not idents:
                raise InputError([Problem("family", "nothing to record: fill in at least one field")])
            record_family(settings, number, context=context or None, identifiers=idents,
                          replace_identifiers=values["replace_identifiers"] == "yes")

        # The identifiers typed are not shown again: they are never shown on this page.
        typed = {**values, "sibling": siblings}
        return await run_in_threadpool(attempt, request, settings, today, token, number, "family", act,
                                       "family_recorded", typed)

    @route(app, "POST", "/cases/{case_number}/identifiers", response_class=HTMLResponse,
            dependencies=[CSRF])
    def reveal_action(
        request: Request, case_number: str, settings: SettingsDep, today: TodayDep, token: TokenDep,
        reason: Annotated[str, Form()] = "",
    ):
        """Show the child's identifiers to a coordinator who states why (need to know):
        audited with who, when and the reason; the page is never cached."""
        from cdop.intake.cases import describe_case

        number = _case_number(case_number)
        try:
            view = describe_case(settings, number, reveal=True, reason=reason)
        except InputError as exc:
            return case_response(request, settings, today, token, number, problems=exc.problems,
                                  failed_form="reveal", values={"reason": reason}, status_code=422)
        except NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no case with this number") from exc
        return render_page(request, "identifiers.html.j2", case_number=number,
                           identifiable=view["identifiable"])


def _typed_entries(text: str) -> list[dict]:
    """The box's lines, as `cdop return content --entry` reads each (blank lines skipped)."""
    from cdop.requests.returns import typed_entries

    return typed_entries([line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
                          if line.strip()])


