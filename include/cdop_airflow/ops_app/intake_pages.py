"""Registering a notification (the form, or a CSV/JSON file of many) and the agency
directory (list, import, edit one), through the same services as `cdop notify` and
`cdop agencies`: the same validation (field and row named, nothing half-written) and the
same audit, with the signed-in user as the actor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, File, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, Response

from cdop_airflow.ops_app.common import (
    COORDINATOR,
    CSRF,
    MAX_TABLE_BYTES,
    Access,
    SettingsDep,
    TodayDep,
    TokenDep,
    agency_code,
    form_values,
    redirect,
    refused_form,
    render_page,
    route,
    uploaded,
)

ACCESS: Access = {
    "/notifications/new": {"GET": COORDINATOR},
    "/notifications": {"POST": COORDINATOR},
    "/notifications/file": {"POST": COORDINATOR},
    "/agencies": {"GET": COORDINATOR},
    "/agencies/import": {"POST": COORDINATOR},
    "/agencies/{code}": {"GET": COORDINATOR, "POST": COORDINATOR},
}

# The notification form's fields: the file columns of `cdop notify --file`.
NOTIFICATION_FIELDS = (
    "forenames", "surname", "date_of_birth", "date_of_death", "nhs_number", "sex", "ethnicity",
    "address", "postcode", "deprivation_decile", "place_of_death", "expected",
    "notifier_name", "notifier_role", "notifier_email", "notified_on",
)
AGENCY_FIELDS = ("name", "type", "request_email", "escalation_email", "secure", "phone", "active")
AGENCY_LABELS = {"name": "Name", "type": "Type", "request_email": "Request email",
                 "escalation_email": "Escalation email", "phone": "Phone", "secure": "Secure route",
                 "active": "Active"}


def _notification_choices() -> dict[str, Any]:
    from cdop.taxonomy import taxonomy

    tax = taxonomy()
    return {
        "sexes": tax.labels("sex"),
        "ethnicities": tax.labels("ethnicity"),
        "places": tax.labels("place_of_death"),
        "circumstance_labels": tax.labels("circumstance"),
        "investigation_labels": tax.labels("investigation"),
    }


def _agencies(settings) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from cdop.store.db import unit_of_work
    from cdop.store.models import Agency

    with unit_of_work(settings) as uow:
        return [
            {"code": a.code, "name": a.name, "type": a.agency_type, "request_email": a.request_email,
             "escalation_email": a.escalation_email, "secure": a.secure_email, "phone": a.phone,
             "active": a.active}
            for a in uow.session.scalars(select(Agency).order_by(Agency.code))
        ]


# What a person calls each field of the form, for the summary of problems above it.
NOTIFICATION_LABELS = {
    "forenames": "Forenames", "surname": "Surname", "date_of_birth": "Date of birth",
    "date_of_death": "Date of death", "nhs_number": "NHS number", "sex": "Sex", "ethnicity": "Ethnicity",
    "address": "Address", "postcode": "Postcode", "deprivation_decile": "Deprivation decile",
    "place_of_death": "Place of death", "expected": "Expected death?", "circumstances": "Circumstances",
    "investigations": "Parallel processes", "agencies": "Agencies", "notifier_name": "Notifier's name",
    "notifier_role": "Notifier's role", "notifier_email": "Notifier's email", "notified_on": "Notified on",
    "notification": "The notification",
}
LIST_FIELDS = ("agencies", "circumstances", "investigations")


def _notify_page(request: Request, settings, token: str, today, *, problems=None, failed_form=None,
                 values: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or []
    inline: dict[str, list[str]] = {}
    if failed_form == "form":
        for p in problems:
            inline.setdefault(p.field if p.field in NOTIFICATION_LABELS else "notification", []).append(p.message)
    # What was typed comes back, except in a field that was refused: a refused value is
    # never shown again (the message names the field only).
    kept = {k: v for k, v in (values or {}).items() if k not in inline}
    summary = [(name, NOTIFICATION_LABELS[name], m) for name, messages in inline.items() for m in messages]
    return render_page(request, "notify.html.j2", active="notifications/new", csrf_token=token,
                       agencies=[a for a in _agencies(settings) if a["active"]], today=today,
                       problems=problems, failed_form=failed_form, status_code=status_code,
                       inline=inline, summary=summary, values=kept, **_notification_choices())


def routes(app: FastAPI) -> None:
    from cdop.intake.notifications import DuplicateNotification
    from cdop.validation import InputError, Problem

    @route(app, "GET", "/notifications/new", response_class=HTMLResponse)
    def notify_form(request: Request, settings: SettingsDep, today: TodayDep, token: TokenDep):
        """The form to register a child's death (and the file upload for many)."""
        return _notify_page(request, settings, token, today)

    def register(request: Request, settings, token: str, today, rows, first_row, form_name: str) -> Response:
        from cdop.intake.notifications import register_notifications

        typed = rows[0] if form_name == "form" else None
        try:
            numbers = register_notifications(settings, rows, today=today, first_row=first_row)
        except InputError as exc:
            return _notify_page(request, settings, token, today, problems=exc.problems,
                                failed_form=form_name, values=typed, status_code=422)
        except DuplicateNotification as exc:
            return _notify_page(request, settings, token, today, problems=[Problem("notification", str(exc))],
                                failed_form=form_name, values=typed, status_code=409)
        if len(numbers) == 1:
            return redirect(request, f"cases/{numbers[0]}", "registered")
        return render_page(request, "registered.html.j2", active="notifications/new", numbers=numbers)

    @route(app, "POST", "/notifications", dependencies=[CSRF])
    async def notify_action(request: Request, settings: SettingsDep, today: TodayDep, token: TokenDep):
        """Register one notification from the form (the same service as `cdop notify`)."""
        from starlette.concurrency import run_in_threadpool

        form = await request.form()
        row: dict[str, Any] = form_values(form, NOTIFICATION_FIELDS)
        for name in ("agencies", "circumstances", "investigations"):
            row[name] = [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
        row = {k: v for k, v in row.items() if v not in ("", [])} | {
            k: row[k] for k in ("agencies", "circumstances", "investigations")}
        return await run_in_threadpool(register, request, settings, token, today, [row], None, "form")

    @route(app, "POST", "/notifications/file", dependencies=[CSRF])
    def notify_file_action(request: Request, settings: SettingsDep, today: TodayDep, token: TokenDep,
                           file: Annotated[UploadFile | None, File()] = None):
        """Register many notifications from a CSV or JSON file: all or nothing, each
        problem named by row and field (the same service as `cdop notify --file`)."""
        from cdop.validation import load_table_file

        try:
            with uploaded(file, limit=MAX_TABLE_BYTES) as path:
                if path is None:
                    raise InputError([Problem("file", "is required: choose a CSV or JSON file")])
                _, rows = load_table_file(path)
        except InputError as exc:
            return _notify_page(request, settings, token, today, problems=exc.problems,
                                failed_form="file", status_code=422)
        return register(request, settings, token, today, rows, 1, "file")

    # -------------------------------------------------------------------- agencies

    def directory(request: Request, settings, token: str, *, problems=None, failed_form=None,
                  status_code: int = 200) -> HTMLResponse:
        from cdop.taxonomy import taxonomy

        return render_page(request, "agencies.html.j2", active="agencies", agencies=_agencies(settings),
                           types=taxonomy().labels("agency_type"), csrf_token=token,
                           problems=problems or [], failed_form=failed_form, status_code=status_code,
                           form=refused_form(failed_form or "", problems or [], {}, {"file": "File"}))

    @route(app, "GET", "/agencies", response_class=HTMLResponse)
    def agencies_page(request: Request, settings: SettingsDep, token: TokenDep):
        """The agency directory: who is asked for information, at which address, by which route."""
        return directory(request, settings, token)

    @route(app, "POST", "/agencies/import", dependencies=[CSRF])
    def agencies_import_action(request: Request, settings: SettingsDep, token: TokenDep,
                               file: Annotated[UploadFile | None, File()] = None):
        """Create or update agencies from a CSV or JSON file, all or nothing (as `cdop agencies import`)."""
        from cdop.intake.agencies import import_agencies
        from cdop.validation import load_table_file

        try:
            with uploaded(file, limit=MAX_TABLE_BYTES) as path:
                if path is None:
                    raise InputError([Problem("file", "is required: choose a CSV or JSON file")])
                _, rows = load_table_file(path)
            import_agencies(settings, rows)
        except InputError as exc:
            return directory(request, settings, token, problems=exc.problems, failed_form="import",
                             status_code=422)
        return redirect(request, "agencies", "agencies_imported")

    def one_agency(request: Request, settings, token: str, code: str, *, values=None, problems=None,
                   status_code: int = 200) -> HTMLResponse:
        from cdop.taxonomy import taxonomy

        found = next((a for a in _agencies(settings) if a["code"] == code), None)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no agency with this code")
        return render_page(request, "agency.html.j2", active="agencies", agency=found,
                           types=taxonomy().labels("agency_type"), csrf_token=token,
                           form=refused_form("agency", problems or [], values, AGENCY_LABELS),
                           status_code=status_code)

    @route(app, "GET", "/agencies/{code}", response_class=HTMLResponse)
    def agency_page(request: Request, code: str, settings: SettingsDep, token: TokenDep):
        """One agency, to edit."""
        return one_agency(request, settings, token, agency_code(code))

    @route(app, "POST", "/agencies/{code}", dependencies=[CSRF])
    async def agency_action(request: Request, code: str, settings: SettingsDep, token: TokenDep):
        """Save one agency's details (the directory import's service, for one row)."""
        from starlette.concurrency import run_in_threadpool

        from cdop.intake.agencies import import_agencies

        number = agency_code(code)
        form = await request.form()
        values = form_values(form, AGENCY_FIELDS)
        values["secure"] = "yes" if values["secure"] == "yes" else "no"
        values["active"] = "yes" if values["active"] == "yes" else "no"

        def save() -> Response:
            one_agency(request, settings, token, number)  # a 404 for an unknown code
            try:
                import_agencies(settings, [{"code": number, **values}])
            except InputError as exc:
                # One row: say the field, not "row 1".
                problems = [Problem(p.field, p.message) for p in exc.problems]
                return one_agency(request, settings, token, number, values=values, problems=problems,
                                  status_code=422)
            return redirect(request, f"agencies/{number}", "agency_saved")

        return await run_in_threadpool(save)
