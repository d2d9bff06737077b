"""The portal's services: what one link opens, drafts, attachments, submission, reopening.

Everything here reaches only the one agency request behind a live link. A submission is
recorded through the same service as the office's CLI (cdop.requests.returns): content
validated with the field named, status and chase ladder, audit naming the agency and
"portal". The gate reads every free text of the submission; what it finds goes to the
coordinator (an audit event and an email naming the fields), never back to the agency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from cdop.confidentiality.identifiers import case_gate
from cdop.config import Settings
from cdop.mail import outbox
from cdop.portal import codes, forms, tokens
from cdop.portal.messages import KIND_FLAGGED, KIND_LINK
from cdop.requests import returns
from cdop.store import files
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.lookups import get_case, get_request
from cdop.store.models import (
    AgencyRequest,
    PortalAttachment,
    PortalForm,
    PortalLink,
    utcnow,
)
from cdop.store.statuses import FormStatus, RequestStatus
from cdop.taxonomy import taxonomy
from cdop.validation import InputError, Problem

ACTOR = "portal"

# Sends the portal's pending messages now (cdop.sending.portal.deliver_now): given by the
# caller, as delivery sits a layer above the services.
Deliver = Callable[[Settings], None]

# What each allowed type must start with (a renamed file is refused).
_MAGIC = {".pdf": (b"%PDF-",), ".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",),
          ".docx": (b"PK\x03\x04",)}
_MIME = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".txt": "text/plain",
         ".csv": "text/csv", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


class LinkNotUsable(LookupError):
    """Unknown, expired, ended or locked out: the page says the same for all of them."""


@dataclass
class Upload:
    filename: str
    data: bytes


@dataclass
class FormView:
    case_number: str
    agency_name: str
    agency_code: str
    forms: list[str]
    sections: list[forms.Section]
    content: dict[str, Any]
    attachments: list[dict[str, Any]]
    due_on: dt.date | None
    child: dict[str, Any] | None  # only on a secure route
    problems: list[Problem] = field(default_factory=list)


def _link(uow: UnitOfWork, token: str) -> PortalLink:
    link = tokens.live_link(uow, token)
    if link is None:
        raise LinkNotUsable()
    if link.recommendation_id is not None:
        return link  # a recommendation's link (cdop.portal.recommendations): live_link decided
    request = uow.session.get(AgencyRequest, link.request_id)
    form = _form(uow, request, create=False)
    if request.status == RequestStatus.RETURNED and not (form and form.status == FormStatus.REOPENED):
        raise LinkNotUsable()  # the office recorded the return another way
    return link


def _form(uow: UnitOfWork, request: AgencyRequest, *, create: bool = True) -> PortalForm | None:
    form = uow.session.scalar(select(PortalForm).where(PortalForm.request_id == request.id))
    if form is None and create:
        form = PortalForm(request_id=request.id, content={}, status=FormStatus.DRAFT, submissions=0)
        uow.session.add(form)
        uow.session.flush()
    return form


# ---------------------------------------------------------------- opening a link


def link_state(settings: Settings, token: str, session_value: str | None) -> str:
    """"open" (a valid session, or no code needed), "locked", or "code" (a code is needed)."""
    with unit_of_work(settings, ACTOR) as uow:
        link = _link(uow, token)
        if codes.session_valid(link, session_value):
            return "open"
        if codes.locked(link):
            return "locked"
        return "code" if settings.policy.portal.code_required else "no_code"


def start_without_code(settings: Settings, token: str) -> str:
    """Policy has the code switched off: the link alone opens the form (a new session)."""
    with unit_of_work(settings, ACTOR) as uow:
        link = _link(uow, token)
        value = codes.start_session(uow, settings, link)
        uow.commit()
    return value


def send_code(settings: Settings, token: str, today: dt.date, *, deliver: Deliver, again: bool = False) -> bool:
    """Email a code to the link's address unless one is still current (or `again`).
    False if the hour's allowance of codes is used up. Sent at once by `deliver` (the
    portal delivers its own code messages: nobody waits for the next outbox run)."""
    with unit_of_work(settings, ACTOR) as uow:
        link = _link(uow, token)
        if codes.locked(link):
            return False
        if not again and link.code is not None and link.code_expires_at and link.code_expires_at > utcnow():
            return True
        try:
            codes.issue_code(uow, settings, link, today)
        except codes.TooMany:
            return False
        uow.commit()
    deliver(settings)
    return True


def check_code(settings: Settings, token: str, typed: str) -> str | None:
    with unit_of_work(settings, ACTOR) as uow:
        link = _link(uow, token)
        value = codes.check_code(uow, settings, link, typed)
        uow.commit()
    return value


PORTAL_KINDS = (codes.KIND, KIND_LINK, KIND_FLAGGED)


# ---------------------------------------------------------------- the form


def _session_link(uow: UnitOfWork, token: str, session_value: str | None, *,
                  recommendation: bool = False) -> PortalLink:
    """The live link with this browser's session, of the kind the page serves: a return's
    link opens no recommendation page, and a recommendation's no return form."""
    link = _link(uow, token)
    if not codes.session_valid(link, session_value) or (link.recommendation_id is not None) != recommendation:
        raise LinkNotUsable()
    return link


def page_of(settings: Settings, token: str) -> str:
    """The page a live link opens: "form" (a return) or "recommendation"."""
    with unit_of_work(settings, ACTOR) as uow:
        return "recommendation" if _link(uow, token).recommendation_id is not None else "form"


def form_view(settings: Settings, token: str, session_value: str | None) -> FormView:
    with unit_of_work(settings, ACTOR) as uow:
        link = _session_link(uow, token, session_value)
        view = _view(uow, link)
        if view.child is not None:
            uow.audit_reveal("identifiers_shown", "portal_link", link.id, link.case_id,
                             reason="agency return portal, secure route", agency=view.agency_code)
            uow.commit()
    return view


def _view(uow: UnitOfWork, link: PortalLink) -> FormView:
    request = uow.session.get(AgencyRequest, link.request_id)
    case, agency = request.case, request.agency
    form = _form(uow, request, create=False)
    child = None
    if link.secure_route:
        child = {"forenames": case.forenames, "surname": case.surname,
                 "date_of_birth": dt.date.fromisoformat(case.date_of_birth), "date_of_death": case.date_of_death}
    attachments = [{"id": a.id, "name": a.original_name, "size": a.size_bytes}
                   for a in uow.session.scalars(select(PortalAttachment).where(
                       PortalAttachment.request_id == request.id).order_by(PortalAttachment.id))]
    return FormView(case_number=case.case_number, agency_name=agency.name, agency_code=agency.code,
                    forms=[taxonomy().form_title(c) for c in request.forms],
                    sections=forms.sections_for(agency.agency_type, list(request.forms)),
                    content=(form.content if form else None) or {}, attachments=attachments,
                    due_on=request.due_on, child=child)


def save(settings: Settings, token: str, session_value: str | None, data: dict[str, Any],
         uploads: list[Upload], *, today: dt.date, remove: int | None = None) -> FormView:
    """Keep what was typed as the draft (encrypted), with any new attachments; the view
    carries the problems a submission would meet, for the page to show beside each field."""
    with unit_of_work(settings, ACTOR) as uow:
        link = _session_link(uow, token, session_value)
        request = uow.session.get(AgencyRequest, link.request_id)
        sections = forms.sections_for(request.agency.agency_type, list(request.forms))
        submitted = forms.read_form(data, sections, today=today, final=False)
        problems = _store_uploads(uow, settings, request, uploads) + submitted.problems
        if remove is not None:
            _remove_attachment(uow, settings, request, remove)
        form = _form(uow, request)
        form.content = submitted.as_content()
        form.saved_at = utcnow()
        uow.audit("portal_draft_saved", "agency_request", request.id, case_id=request.case_id,
                  agency=request.agency.code, via="portal")
        uow.commit()
        view = _view(uow, link)
    view.problems = problems
    return view


def _already_submitted(link: PortalLink | None, session_value: str | None) -> bool:
    """This browser's own submit has ended the link (a double click, a second tab)."""
    return link is not None and link.ended_reason == "submitted" and codes.session_valid(link, session_value)


def submit(settings: Settings, token: str, session_value: str | None, data: dict[str, Any],
           uploads: list[Upload], *, today: dt.date, deliver: Deliver) -> dict[str, str] | FormView:
    """Record the return, lock the form and end the request's links; returns the receipt
    ({"reference", "case_number", "agency_name"}), or the form view with its problems
    (nothing recorded; the draft and any new attachments are kept).

    Submissions for one request are taken one at a time (its row is locked: SELECT ...
    FOR UPDATE on PostgreSQL; SQLite serialises writers). A repeat from the browser that
    submitted (a double click, a second tab) finds its link ended by the first and gets
    the same receipt; nothing is recorded twice."""
    with unit_of_work(settings, ACTOR) as uow:
        link = tokens.any_link(uow, token)
        if link is None:
            raise LinkNotUsable()
        request = uow.session.scalars(select(AgencyRequest).where(AgencyRequest.id == link.request_id)
                                      .with_for_update().execution_options(populate_existing=True)).one()
        uow.session.refresh(link)
        if _already_submitted(link, session_value):
            form = _form(uow, request, create=False)
            if form is not None and form.status == FormStatus.SUBMITTED:
                return _receipt(request, form)
        link = _session_link(uow, token, session_value)
        case = request.case
        sections = forms.sections_for(request.agency.agency_type, list(request.forms))
        submitted = forms.read_form(data, sections, today=today, final=True)
        problems = _store_uploads(uow, settings, request, uploads) + submitted.problems
        form = _form(uow, request)
        if not problems:
            attached = uow.session.scalar(select(func.count(PortalAttachment.id)).where(
                PortalAttachment.request_id == request.id))
            try:
                with uow.session.begin_nested():
                    returns.record_submitted_return(
                        uow, case, request, received_on=today, today=today, summary=submitted.summary,
                        entries=[{"date": e["date"], "what_happened": e["what_happened"]}
                                 for e in submitted.chronology],
                        via="portal", attachments=attached)
            except InputError as exc:
                problems = [_portal_problem(p) for p in exc.problems]
        if problems:
            form.content = forms.read_form(data, sections, today=today, final=False).as_content()
            form.saved_at = utcnow()
            uow.commit()
            view = _view(uow, link)
            view.problems = problems
            return view
        form.content = submitted.as_content()
        form.status = FormStatus.SUBMITTED
        form.submissions += 1
        form.submitted_at = utcnow()
        form.reference = f"{case.case_number}-{request.agency.code}-{form.submissions}"
        tokens.end_links(uow, request.id, "submitted")
        flagged = _gate_submission(uow, settings, request, sections, submitted, today)
        uow.audit("portal_return_submitted", "agency_request", request.id, case_id=case.id,
                  agency=request.agency.code, via="portal", reference=form.reference)
        receipt = _receipt(request, form)
        uow.commit()
    if flagged:
        deliver(settings)  # the coordinator hears of it now
    return receipt


def _receipt(request: AgencyRequest, form: PortalForm) -> dict[str, str]:
    chronology = (form.content or {}).get("chronology") or []
    return {"reference": form.reference, "case_number": request.case.case_number,
            "agency_name": request.agency.name, "entries": str(len(chronology))}

def text_warnings(settings: Settings, token: str, session_value: str | None, data: dict[str, Any], *,
                  today: dt.date) -> list:
    """What the agency typed that appears to name or locate someone, for its own session
    only, before it submits (cdop.portal.warnings: spans of its own text, kinds only).
    Nothing is written but the audit's count."""
    from cdop.confidentiality.detectors import office_policy
    from cdop.portal.warnings import text_warnings as warn
    from cdop.portal.warnings import warning_gate

    with unit_of_work(settings, ACTOR) as uow:
        link = tokens.any_link(uow, token)
        if _already_submitted(link, session_value):
            return []  # a double click: `submit` answers with the receipt
        link = _session_link(uow, token, session_value)
        request = uow.session.get(AgencyRequest, link.request_id)
        sections = forms.sections_for(request.agency.agency_type, list(request.forms))
        submitted = forms.read_form(data, sections, today=today, final=False)
        labels = {f.key: f.label for s in sections for f in s.fields}
        texts = []
        for key, text in forms.free_texts(sections, submitted):
            if key == "summary":
                texts.append(("summary", "Summary", text))
            elif key.startswith("chronology row "):
                n = key.rsplit(" ", 1)[1]
                texts.append((f"chronology-{n}-what_happened", f"Chronology entry {n}, what happened", text))
            else:
                texts.append((key, labels.get(key, key), text))
        found = warn(warning_gate(request.case, link.secure_route, office_policy(settings, "text")), texts)
        if found:
            uow.audit("portal_text_warned", "agency_request", request.id, case_id=request.case_id,
                      agency=request.agency.code, fields=len(found))
            uow.commit()
    return found


# Words that set the gate's detectors to work (a name, a place, a date): made up.
_WARM_TEXT = "Seen by Dr Grace O'Brien-Łukasz at 1 Hope Street, Bath BA1 1AA on 3 March 2025."


def warm(settings: Settings) -> None:
    """Do before the first request what the first request would otherwise pay for (most
    of a 641 ms first submit, then 15 ms): the ORM's mappers configured, a database
    connection opened, the portal's templates compiled, and the gate's detectors and
    lists loaded by a scan of a made-up text, as a submit and its text check scan."""
    from sqlalchemy import literal
    from sqlalchemy.orm import configure_mappers

    from cdop.confidentiality.detectors import office_policy
    from cdop.confidentiality.gate import Gate
    from cdop.mail.templating import environment, template_path
    from cdop.portal.warnings import warning_gate

    configure_mappers()
    with unit_of_work(settings, ACTOR) as uow:
        uow.session.execute(select(literal(1)))
    for template in sorted(template_path("portal").glob("*.html.j2")):
        environment().get_template(f"portal/{template.name}")
    Gate((), policy=None).findings(_WARM_TEXT)
    warning_gate(None, False, office_policy(settings, "text")).findings(_WARM_TEXT)


def _portal_problem(problem: Problem) -> Problem:
    # The return service names its own columns; the page's fields are named otherwise.
    if problem.row is not None and problem.field in ("date", "what_happened"):
        return Problem(f"chronology {problem.field}", problem.message, problem.row)
    return problem


def _gate_submission(uow: UnitOfWork, settings: Settings, request: AgencyRequest,
                     sections: list[forms.Section], submitted: forms.Submitted, today: dt.date) -> bool:
    """The gate over every free text; to the coordinator, each finding's field, what it
    is and the replacement a pseudonymised draft proposes -- never the text."""
    from cdop.portal.warnings import proposed_replacement

    gate = case_gate(uow.session, request.case)
    letters: dict[str, str] = {}  # the same words, the same placeholder, within the return
    found = []
    for where, text in forms.free_texts(sections, submitted):
        for f in gate.findings(text):
            flag = " (flag)" if f.severity == "flag" else ""
            found.append(f'{where}: {f.field}{flag}, to be replaced by "{proposed_replacement(f, letters, text)}"')
    found = sorted(set(found))
    if not found:
        return False
    uow.audit("portal_return_gate_findings", "agency_request", request.id, case_id=request.case_id,
              agency=request.agency.code, findings=found)
    case = request.case
    form = _form(uow, request)
    outbox.enqueue(uow, settings,
                   key=outbox.business_key(case.case_number, request.agency.code, KIND_FLAGGED, form.submissions),
                   kind=KIND_FLAGGED, sequence=form.submissions, to=[settings.policy.coordinator_email],
                   subject=f"Child death review {case.case_number}: a portal return needs checking",
                   business_date=today, case_id=case.id, agency_id=request.agency_id, request_id=request.id,
                   secure_route=False, params={"findings": found})
    return True


def _store_uploads(uow: UnitOfWork, settings: Settings, request: AgencyRequest,
                   uploads: list[Upload]) -> list[Problem]:
    policy = settings.policy.portal
    problems: list[Problem] = []
    have = uow.session.scalar(select(func.count(PortalAttachment.id)).where(
        PortalAttachment.request_id == request.id))
    for number, upload in enumerate(u for u in uploads if u.filename or u.data):
        where = f"attachment {number + 1}"
        suffix = upload_suffix(upload)
        if (wrong := upload_problem(settings, upload)) is not None:
            problems.append(Problem("attachment", f"{where}: {wrong}"))
        elif have >= policy.max_attachments:
            problems.append(Problem("attachment", f"at most {policy.max_attachments} files may be attached"))
        else:
            have += 1
            case = request.case
            stored = files.store_encrypted(uow, settings, Path("files") / case.case_number / request.agency.code,
                                           f"{case.case_number}-{request.agency.code}-portal{suffix}", upload.data)
            uow.session.add(PortalAttachment(request_id=request.id, stored_path=stored,
                                             original_name=Path(upload.filename).name[:200],
                                             content_type=_MIME.get(suffix, "application/octet-stream"),
                                             size_bytes=len(upload.data)))
            uow.audit("portal_attachment_added", "agency_request", request.id, case_id=case.id,
                      agency=request.agency.code, size_bytes=len(upload.data))
    uow.session.flush()
    return problems


def upload_suffix(upload: Upload) -> str:
    return Path(upload.filename).suffix.lower().replace(".jpeg", ".jpg")


def upload_content_type(suffix: str) -> str:
    return _MIME.get(suffix, "application/octet-stream")


def upload_problem(settings: Settings, upload: Upload) -> str | None:
    """What is wrong with an uploaded file (its type, size, emptiness, content), or None:
    the same checks for a return's attachments and a recommendation's evidence."""
    policy = settings.policy.portal
    suffix = upload_suffix(upload)
    if suffix not in policy.attachment_types:
        return "must be one of " + ", ".join(policy.attachment_types)
    if len(upload.data) > policy.attachment_max_mb * 1024 * 1024:
        return f"is larger than {policy.attachment_max_mb} MB"
    if not upload.data:
        return "is empty"
    if not _looks_like(suffix, upload.data):
        return "its content is not what its type says"
    return None


def _looks_like(suffix: str, data: bytes) -> bool:
    if suffix in _MAGIC:
        return data.startswith(_MAGIC[suffix])
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data


def _remove_attachment(uow: UnitOfWork, settings: Settings, request: AgencyRequest, attachment_id: int) -> None:
    attachment = uow.session.get(PortalAttachment, attachment_id)
    if attachment is None or attachment.request_id != request.id:
        return  # another request's file is not this link's to remove (nor to confirm)
    files.remove_when_committed(uow, settings, attachment.stored_path)
    uow.session.delete(attachment)
    uow.audit("portal_attachment_removed", "agency_request", request.id, case_id=request.case_id,
              agency=request.agency.code)


# ---------------------------------------------------------------- the office


def reopen(settings: Settings, case_number: str, agency_code: str, *, today: dt.date,
           actor: str | None = None) -> int:
    """The office reopens a submitted portal return: the form is a draft again (the
    recorded return stands until the agency submits again) and a fresh link is emailed
    to the agency. Returns the outbox id of that email."""
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        form = _form(uow, request, create=False)
        if form is None or form.status != FormStatus.SUBMITTED:
            raise InputError([Problem("agency", "this agency has no submitted portal return to reopen")])
        form.status = FormStatus.REOPENED
        tokens.end_links(uow, request.id, "reopened")
        message, _ = outbox.enqueue(
            uow, settings,
            key=outbox.business_key(case.case_number, request.agency.code, KIND_LINK, form.submissions),
            kind=KIND_LINK, sequence=form.submissions, to=[request.agency.request_email],
            subject=f"Child death review {case.case_number}: your return is open again",
            business_date=today, case_id=case.id, agency_id=request.agency_id, request_id=request.id,
            secure_route=request.agency.secure_email)
        uow.audit("portal_return_reopened", "agency_request", request.id, case_id=case.id,
                  agency=request.agency.code)
        uow.commit()
        return message.id


def submitted_return(settings: Settings, case_number: str, agency_code: str, *,
                     actor: str | None = None) -> dict[str, Any]:
    """What an agency entered in the portal, for the coordinator: each section's answers
    with their questions, the state of the form and its attachments (numbered). The
    answers are confidential text: reading them is audited (the summary and chronology
    are the recorded return: `cdop return chronology`)."""
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        form = _form(uow, request, create=False)
        if form is None:
            raise InputError([Problem("agency", "this agency has not used the portal for this case")])
        content = form.content or {}
        answers = content.get("answers") or {}
        sections = []
        for section in forms.sections_for(request.agency.agency_type, list(request.forms)):
            rows = []
            for f in section.fields:
                value = answers.get(f.key)
                rows.append({"question": f.label,
                             "answer": f.options.get(value, value) if f.type in ("yesno", "choice") else value})
            sections.append({"title": section.title, "answers": rows})
        attachments = [{"number": n, "type": a.content_type, "size_bytes": a.size_bytes}
                       for n, a in enumerate(_attachments(uow, request), start=1)]
        uow.audit("portal_return_viewed", "agency_request", request.id, case_id=case.id,
                  agency=request.agency.code)
        uow.commit()
    return {"status": form.status, "reference": form.reference, "sections": sections,
            "attachments": attachments}


def _attachments(uow: UnitOfWork, request: AgencyRequest) -> list[PortalAttachment]:
    return list(uow.session.scalars(select(PortalAttachment).where(
        PortalAttachment.request_id == request.id).order_by(PortalAttachment.id)))


def attachment_content(settings: Settings, case_number: str, agency_code: str, number: int, *,
                       actor: str | None = None) -> tuple[bytes, str]:
    """The decrypted bytes of attachment `number` (from 1) and its type; audited."""
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        attached = _attachments(uow, request)
        if not 1 <= number <= len(attached):
            raise InputError([Problem("number", f"the return has {len(attached)} attachment(s)")])
        attachment = attached[number - 1]
        data = files.read_encrypted(settings, attachment.stored_path)
        uow.audit("portal_attachment_read", "agency_request", request.id, case_id=case.id,
                  agency=request.agency.code, number=number)
        uow.commit()
    suffix = next((s for s, mime in _MIME.items() if mime == attachment.content_type), ".bin")
    return data, suffix
