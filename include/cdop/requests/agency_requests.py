"""Information requests: ask every agency that knew the child for its reporting form.

`plan_agency_requests` puts one outbox message per pending request (business key
case/agency/agency_request/1); delivery composes it at send time. Identifiable details
go only to agencies whose address is on a secure route; every other agency gets the
case number and how to reach the CDOP office.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from cdop.confidentiality.identifiers import case_gate, identifier_problem
from cdop.config import Settings
from cdop.mail import outbox
from cdop.mail.mailer import Attachment, Email
from cdop.mail.templating import render, template_path
from cdop.portal import tokens
from cdop.rules.workdays import working_calendar
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.models import Agency, AgencyRequest, Case, OutboxMessage
from cdop.store.statuses import RequestStatus
from cdop.taxonomy import taxonomy
from cdop.validation import InputError, Problem, RowReader, check_date

KIND = "agency_request"


SECURE_ROUTE_REASON = "agency request, secure route"


def plan_agency_requests(settings: Settings, today: dt.date) -> list[int]:
    """Queue a request for every agency not yet asked on an open case; return outbox ids."""
    planned = []
    with unit_of_work(settings, "airflow:cdop_send_agency_requests") as uow:
        pending = uow.session.scalars(
            select(AgencyRequest)
            .join(Case)
            .where(AgencyRequest.status == RequestStatus.PENDING, Case.closed_on.is_(None))
            .options(joinedload(AgencyRequest.case), joinedload(AgencyRequest.agency))
            .order_by(AgencyRequest.id)
        ).all()
        for request in pending:
            message, created = _enqueue(uow, settings, request, today)
            if created:
                planned.append(message.id)
        uow.commit()
    return planned


def _enqueue(uow: UnitOfWork, settings: Settings, request: AgencyRequest, today: dt.date):
    case, agency = request.case, request.agency
    return outbox.enqueue(
        uow,
        settings,
        key=outbox.business_key(case.case_number, agency.code, KIND, 1),
        kind=KIND,
        to=[agency.request_email],
        subject=f"Child death review {case.case_number}: request for information from {agency.name}",
        business_date=today,
        case_id=case.id,
        agency_id=agency.id,
        request_id=request.id,
        secure_route=agency.secure_email,
    )


_OFFICE_FORM_TYPES = (
    (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (".pdf", "application/pdf"),
)


def form_attachments(settings: Settings, case_number: str, forms: list[str], *,
                     agency_type: str) -> tuple[Attachment, ...]:
    """The fallback route's documents, for an agency that cannot use the portal: the
    reporting form and each supplementary form as a printable PDF with the questions the
    portal would ask this agency (data/reporting_form.toml), then the return template
    (summary and chronology, include/templates/returns/). An office's own copy of a form
    (CDOP_HOME/forms/<code>.docx or .pdf) is sent in preference to the generated one."""
    template = template_path("returns/return_template.csv").read_bytes()
    office = settings.policy.office
    return (*(_form_file(settings.home / "forms", code, agency_type, case_number, first=i == 0,
                         area_name=settings.policy.area_name, office_email=office.secure_email)
              for i, code in enumerate(forms)),
            Attachment(f"{case_number}-return-template.csv", template, "text/csv"))


def _form_file(office_dir: Path, code: str, agency_type: str, case_number: str, *, first: bool,
               area_name: str, office_email: str) -> Attachment:
    for suffix, mime in _OFFICE_FORM_TYPES:
        candidate = office_dir / f"{code}{suffix}"
        if candidate.is_file():
            return Attachment(f"{case_number}-{code}{suffix}", candidate.read_bytes(), mime)
    return Attachment(f"{case_number}-{code}-form.pdf",
                      form_pdf(code, agency_type, with_return=first, area_name=area_name, office_email=office_email),
                      "application/pdf")


@lru_cache(maxsize=128)
def form_pdf(code: str, agency_type: str, *, with_return: bool, area_name: str, office_email: str) -> bytes:
    """One form as a printable PDF: its sections that apply to this agency type, each
    question with a box to write in; with the summary and chronology pages when
    `with_return` (the reporting form carries them once). Blank like a national form (the
    case number is written in, from the email): the same for every case, so it is made
    once per form and agency type, not once per email -- a PDF costs a second or more."""
    from cdop.pdf import html_to_pdf
    from cdop.portal.forms import sections_for

    html = render("forms/reporting_form.html.j2", title=taxonomy().form_title(code),
                  sections=sections_for(agency_type, [code]), with_return=with_return,
                  area_name=area_name, office_email=office_email)
    return html_to_pdf(html)


def request_context(case: Case, agency: Agency, request: AgencyRequest, settings: Settings, due: dt.date) -> dict:
    """The template context. Identifiers are added only for a secure route, so a template
    that reached for one on an insecure route fails (StrictUndefined) instead of leaking."""
    context = {
        "case_number": case.case_number,
        "agency_name": agency.name,
        "forms": [{"code": c, "title": taxonomy().form_title(c)} for c in request.forms],
        "due_on": due,
        "office": settings.policy.office,
        "area_name": settings.policy.area_name,
        "secure": agency.secure_email,
    }
    if agency.secure_email:
        context["child"] = {
            "forenames": case.forenames,
            "surname": case.surname,
            "date_of_birth": dt.date.fromisoformat(case.date_of_birth),
            "nhs_number": case.nhs_number,
            "date_of_death": case.date_of_death,
        }
    return context


def due_date(settings: Settings, sent_on: dt.date) -> dt.date:
    return working_calendar(settings.policy).add(
        sent_on, settings.policy.return_due_working_days
    )


def compose(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    request = session.get(AgencyRequest, message.request_id)
    case, agency = request.case, request.agency
    context = request_context(case, agency, request, settings, due_date(settings, message.business_date))
    # The portal link (a new token for this email; stored, as a hash, once it is sent).
    context["portal_link"] = tokens.link_url(settings, tokens.token_for_message(message))
    context["link_valid_days"] = settings.policy.portal.link_valid_days
    return outbox.templated_email(message, settings, "agency_request", context,
                                  form_attachments(settings, case.case_number, request.forms,
                                                   agency_type=agency.agency_type))


def on_sent_batch(uow: UnitOfWork, messages: Sequence[OutboxMessage], settings: Settings) -> None:
    """The request counts as made on the message's business date; the due date and the
    first chase date follow from policy in working days; the portal link the email carried
    starts to work (the batch's links in one go). A request on a secure route carried the
    child's identifiers: that is recorded as a reveal (to which agency, why)."""
    tokens.record_sent_links(uow, messages, settings)
    for message in messages:
        _request_made(uow, message, settings)


def _request_made(uow: UnitOfWork, message: OutboxMessage, settings: Settings) -> None:
    request = uow.session.get(AgencyRequest, message.request_id)
    if request.agency.secure_email:  # as compose() decided, in this same delivery
        uow.audit_reveal("identifiers_sent", "outbox_message", message.id, request.case_id,
                         reason=SECURE_ROUTE_REASON, agency=request.agency.code)
    if request.status != RequestStatus.PENDING:
        return
    calendar = working_calendar(settings.policy)
    request.status = RequestStatus.SENT
    request.requested_on = message.business_date
    request.due_on = due_date(settings, message.business_date)
    ladder = settings.policy.chase_ladder
    request.next_chase_on = calendar.add(request.due_on, ladder[0].after_working_days) if ladder else None
    uow.audit(
        "request_sent",
        "agency_request",
        request.id,
        case_id=request.case_id,
        due_on=request.due_on.isoformat(),
    )


def waive_request(settings: Settings, case_number: str, agency_code: str, *, reason: str,
                  today: dt.date) -> None:
    """The coordinator decides a return is not needed: it counts as done for readiness
    and its chasing stops. The reason is kept on the request; the audit notes the waiver."""
    from cdop.store.lookups import get_case, get_request

    reader = RowReader({"reason": reason})
    reason = reader.text("reason", required=False, max_len=1000, multiline=True)
    if reader.problems:
        raise InputError(reader.problems)
    if not reason:
        raise InputError([Problem("reason", "is required: say why the return is not needed")])
    check_date("today", today)
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        problem = {
            RequestStatus.PENDING: "no request has been sent to this agency yet",
            RequestStatus.RETURNED: "the agency has already returned its form",
            RequestStatus.WAIVED: "this return has already been waived",
        }.get(request.status)
        if problem:
            raise InputError([Problem("agency", problem)])
        if request.requested_on and today < request.requested_on:
            raise InputError([Problem("today", "is before the request was sent")])
        # The reason is printed in the case report the panel reads: checked as typed.
        if found := identifier_problem(case_gate(uow.session, case, document="text"), "reason", reason):
            raise InputError([found])
        request.status = RequestStatus.WAIVED
        request.waived_on = today
        request.waiver_reason = reason
        request.next_chase_on = None
        uow.audit("request_waived", "agency_request", request.id, case_id=case.id,
                  agency=request.agency.code, waived_on=today.isoformat(),
                  ladder_step=request.ladder_step)
        uow.commit()


def amend_waiver_reason(settings: Settings, case_number: str, agency_code: str, *, reason: str,
                        actor: str | None = None) -> None:
    """Correct the reason a waived return was waived for (it is printed in the case
    report): checked by the gate as typed, audited, the waiver itself unchanged."""
    from cdop.store.lookups import get_case, get_request

    reader = RowReader({"reason": reason})
    reason = reader.text("reason", required=True, max_len=1000, multiline=True)
    if reader.problems:
        raise InputError(reader.problems)
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        if request.status != RequestStatus.WAIVED:
            raise InputError([Problem("agency", "this return was not waived")])
        if found := identifier_problem(case_gate(uow.session, case, document="text"), "reason", reason):
            raise InputError([found])
        request.waiver_reason = reason
        uow.audit("waiver_reason_amended", "agency_request", request.id, case_id=case.id,
                  agency=request.agency.code)
        uow.commit()
