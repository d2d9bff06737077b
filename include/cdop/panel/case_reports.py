"""The anonymised case report: built when a case is ready for panel, checked by the
anonymisation gate, then by the coordinator, before it can go to the panel.

- `assemble_reports` (the DAG cdop_assemble_case_reports) builds version 1 for every
  case newly ready for panel (every return in, every process concluded, no report yet).
  A rerun builds nothing new: the case has a report, and (case, version) is unique.
- The report is rendered from Jinja2 templates as HTML and PDF: a summary (age band,
  never the date of birth; sex; place of death; expected or unexpected), the family's
  circumstances, the returns received with their summaries, the investigations'
  outcomes and one chronology merged from all returns in date order. The child is
  named only by the case number; schools and GP practices only by their type.
- The gate checks the HTML, its visible text and the PDF's extracted text against the
  case's identifiers and its family's. A match makes the report `blocked`: it never
  leaves the system, and the coordinator is told which *fields* matched and where
  (chronology entry 17, the RUH return's summary...), never the value. After redacting
  (cdop return amend-entry / amend-summary) the coordinator builds the next version.
- A clean report waits for the coordinator's check (`awaiting_check`). `decide` records
  approval or return-with-comments, who and when; the CDOP database is the source of
  truth whether the decision came from the CLI, the operations pages or the Airflow
  Required Action (which `record_check` relays and which never overrides a decision
  already made).
- Report files are encrypted at rest (like returned files): an anonymised report is
  still confidential case detail, and a blocked one holds an identifier by definition.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import io
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from cdop.confidentiality import crypto
from cdop.confidentiality.gate import Gate, IdentifierFound, pdf_text
from cdop.config import Settings
from cdop.intake.notifications import case_stage, get_case
from cdop.mail import outbox
from cdop.mail.mailer import Email
from cdop.mail.templating import render
from cdop.requests.returns import case_gate, identifier_problem, merged_chronology
from cdop.rules.stages import Stage, age_band, event_timing
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.models import (
    Agency,
    AgencyRequest,
    Case,
    CaseReport,
    OutboxMessage,
    utcnow,
)
from cdop.taxonomy import taxonomy
from cdop.validation import InputError, Problem

log = logging.getLogger(__name__)

KIND_BLOCKED = "panel_report_blocked"
KIND_RETURNED = "panel_report_returned"
KINDS = (KIND_BLOCKED, KIND_RETURNED)
ACTOR = "airflow:cdop_assemble_case_reports"
COMMENTS_MAX = 4000

BLOCKED, AWAITING, APPROVED, RETURNED = "blocked", "awaiting_check", "approved", "returned"


class ReportBuildFailed(RuntimeError):
    """Some reports could not be built; the message names case numbers and error types only."""


@dataclass(frozen=True)
class BuildResult:
    case_number: str
    version: int
    status: str
    findings: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- content


def _agency_labels(requests: list[AgencyRequest], settings: Settings) -> dict[int, str]:
    """How each agency is named in the report: by name, or (for the types the policy
    lists, e.g. schools and GP practices, which narrow down where a family lives) by type
    and a letter: "Education / school A"."""
    types = taxonomy().labels("agency_type")
    masked = set(settings.policy.report_agency_types_by_type)
    labels, counters = {}, {}
    for agency in sorted({r.agency.id: r.agency for r in requests}.values(), key=lambda a: a.code):
        if agency.agency_type in masked:
            counters[agency.agency_type] = counters.get(agency.agency_type, 0) + 1
            letter = chr(ord("A") + counters[agency.agency_type] - 1)
            labels[agency.id] = f"{types.get(agency.agency_type, agency.agency_type)} {letter}"
        else:
            labels[agency.id] = agency.name
    return labels


def report_context(session: Session, case: Case, settings: Settings, *, version: int,
                   today: dt.date) -> dict[str, Any]:
    tax = taxonomy()
    born = dt.date.fromisoformat(case.date_of_birth)
    labels = _agency_labels(case.requests, settings)
    entries = merged_chronology(session, case)
    types = tax.labels("agency_type")
    masked = set(settings.policy.report_agency_types_by_type)
    # An entry may name an agency the child's requests do not (a return citing the
    # ambulance service, say): it is named the same way, by type where the policy says so.
    others = {e.agency_id for e, _, _ in entries if e.agency_id and e.agency_id not in labels}
    for agency in session.scalars(select(Agency).where(Agency.id.in_(others))) if others else ():
        labels[agency.id] = (types.get(agency.agency_type, agency.agency_type)
                             if agency.agency_type in masked else agency.name)

    family = dict(case.family_context or {})
    offers = tax.labels("family_offer")
    return {
        "case_number": case.case_number,
        "version": version,
        "built_on": today,
        "area_name": settings.policy.area_name,
        "summary": {
            "age_band": age_band(born, case.date_of_death),
            "sex": tax.labels("sex").get(case.sex, case.sex),
            "place_of_death": tax.labels("place_of_death").get(case.place_of_death, case.place_of_death),
            "expected": case.death_expected,
            "circumstances": [tax.labels("circumstance").get(c, c) for c in case.circumstances or []],
        },
        "family": {
            "siblings": family.get("siblings"),
            "key_worker_offered": offers.get(family.get("key_worker_offered") or "", None),
            "bereavement_support_offered": offers.get(family.get("bereavement_support_offered") or "", None),
            "support_notes": family.get("support_notes"),
        },
        "returns": [
            {
                "agency": labels[r.agency.id],
                "agency_type": types.get(r.agency.agency_type, r.agency.agency_type),
                "forms": [tax.form_title(f) for f in r.forms],
                "status": r.status,
                "returned_on": r.returned_on,
                "waived_on": r.waived_on,
                "waiver_reason": r.waiver_reason,
                "summary": r.summary,
                "entries": sum(1 for e, _, src in entries if src == r.agency.code),
            }
            for r in sorted(case.requests, key=lambda r: labels[r.agency.id])
        ],
        "investigations": [
            {
                "kind": tax.labels("investigation").get(i.kind, i.kind),
                "status": tax.labels("investigation_status").get(i.status, i.status),
                "concluded_on": i.concluded_on,
                "outcome": i.outcome,
            }
            for i in case.investigations
        ],
        "chronology": [
            {"when": event_timing(born, case.date_of_death, e.event_date),
             "agency": labels.get(e.agency_id, ""), "what_happened": e.description}
            for e, _, _ in entries
        ],
    }


def html_to_pdf(html: str) -> bytes:
    from xhtml2pdf import pisa

    # xhtml2pdf warns about CSS it ignores; nothing else of interest, and never content.
    logging.getLogger("xhtml2pdf").setLevel(logging.ERROR)
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        raise ReportBuildFailed(f"the PDF could not be rendered ({result.err} error(s))")
    return out.getvalue()


def visible_text(html: str) -> str:
    """What a reader sees of an HTML document (entities decoded, tags dropped)."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", text))


def gate_scan_document(gate: Gate, html: str, pdf: bytes | None = None) -> list[str]:
    texts = [html, visible_text(html)] + ([pdf_text(pdf)] if pdf is not None else [])
    return sorted({f for t in texts for f in gate.scan(t)})


def gate_email(gate: Gate, email: Email, document: str) -> None:
    """Check every part of an outgoing email (subject, text, HTML, attached PDFs and text)."""
    texts = [email.subject, email.text]
    if email.html:
        texts += [email.html, visible_text(email.html)]
    for attachment in email.attachments:
        if attachment.mime_type == "application/pdf":
            texts.append(_cached_pdf_text(attachment.content))
        elif attachment.mime_type.startswith("text/"):
            texts.append(attachment.content.decode("utf-8", "replace"))
    gate.check(document, *texts)


_PDF_TEXT: dict[bytes, str] = {}


def _cached_pdf_text(pdf: bytes) -> str:
    """One extraction per PDF per process: a pack sends the same PDFs to every member."""
    import hashlib

    key = hashlib.sha256(pdf).digest()
    if key not in _PDF_TEXT:
        if len(_PDF_TEXT) > 256:
            _PDF_TEXT.clear()
        _PDF_TEXT[key] = pdf_text(pdf)
    return _PDF_TEXT[key]


def locate_findings(session: Session, case: Case, gate: Gate, settings: Settings) -> list[dict[str, str]]:
    """Where in the case's content each matched field is, for the coordinator to redact:
    e.g. {"field": "child.surname", "where": "chronology entry 17 (RUH)"}."""
    places: list[tuple[str, str | None]] = []
    for r in case.requests:
        places.append((f"summary of the {r.agency.code} return", r.summary))
        places.append((f"waiver reason for {r.agency.code}", r.waiver_reason))
    for entry, code, _ in merged_chronology(session, case):
        places.append((f"chronology entry {entry.id} ({code or 'no agency'})", entry.description))
    for i in case.investigations:
        places.append((f"{i.kind} outcome", i.outcome))
    family = case.family_context or {}
    places.append(("family support notes", family.get("support_notes")))
    labels = _agency_labels(case.requests, settings)
    for r in case.requests:
        places.append((f"how agency {r.agency.code} is named", labels[r.agency.id]))
    found = []
    for where, text in places:
        for field in gate.scan(text or ""):
            found.append({"field": field, "where": where})
    return found


# ------------------------------------------------------------------------------ storage


def report_dir(settings: Settings, case_number: str, version: int) -> Path:
    return settings.home / "reports" / case_number / f"v{version}"


def _store(settings: Settings, case_number: str, version: int, html: str, pdf: bytes) -> tuple[str, str]:
    folder = report_dir(settings, case_number, version)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, content in (("html", html.encode("utf-8")), ("pdf", pdf)):
        target = folder / f"{case_number}-report-v{version}.{suffix}.enc"
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(crypto.encrypt_bytes(content))
        shutil.move(tmp, target)
        paths.append(str(target.relative_to(settings.home)))
    return paths[0], paths[1]


def read_file(settings: Settings, relative: str) -> bytes:
    return crypto.decrypt_bytes((settings.home / relative).read_bytes())


def report_pdf(settings: Settings, report: CaseReport) -> bytes:
    return read_file(settings, report.pdf_path)


def pdf_filename(case_number: str, version: int) -> str:
    return f"{case_number}-report-v{version}.pdf"


# ------------------------------------------------------------------------------ building


def latest_report(session: Session, case_id: int) -> CaseReport | None:
    return session.scalar(
        select(CaseReport).where(CaseReport.case_id == case_id).order_by(CaseReport.version.desc()).limit(1)
    )


def _load_case(uow: UnitOfWork, case_number: str) -> Case:
    case = get_case(uow, case_number)
    # Relationships are loaded lazily; touching them here keeps one place that needs them.
    _ = [r.agency for r in case.requests], case.investigations
    return case


def _build(uow: UnitOfWork, settings: Settings, case: Case, version: int, today: dt.date) -> BuildResult:
    html = render("report/case_report.html.j2",
                  **report_context(uow.session, case, settings, version=version, today=today))
    pdf = html_to_pdf(html)
    gate = case_gate(uow.session, case)
    findings = gate_scan_document(gate, html, pdf)
    report = CaseReport(case_id=case.id, version=version, status=BLOCKED if findings else AWAITING,
                        gate_findings=findings, built_on=today)
    uow.session.add(report)
    uow.session.flush()  # claims (case, version): a concurrent build of the same one fails here
    report.html_path, report.pdf_path = _store(settings, case.case_number, version, html, pdf)
    if findings:
        located = locate_findings(uow.session, case, gate, settings)
        outbox.enqueue(
            uow, settings,
            key=outbox.business_key(case.case_number, "coordinator", KIND_BLOCKED, version),
            kind=KIND_BLOCKED,
            to=[settings.policy.coordinator_email],
            subject=f"Case report {case.case_number} v{version} blocked: identifier found",
            business_date=today, sequence=version, case_id=case.id,
            secure_route=settings.policy.is_secure_address(settings.policy.coordinator_email),
            params={"version": version, "fields": findings, "located": located},
        )
        uow.audit("report_blocked", "case_report", report.id, case_id=case.id, version=version,
                  fields=findings, where=sorted({f["where"] for f in located}))
        log.warning("case report %s v%d blocked by the anonymisation gate; field(s): %s",
                    case.case_number, version, ", ".join(findings))
    else:
        uow.audit("report_built", "case_report", report.id, case_id=case.id, version=version)
    return BuildResult(case.case_number, version, report.status, tuple(findings))


def cases_newly_ready(session: Session) -> list[str]:
    """Case numbers of open cases that are ready for panel and have no report yet."""
    candidates = session.scalars(
        select(Case)
        .where(Case.closed_on.is_(None), ~exists().where(CaseReport.case_id == Case.id))
        .options(selectinload(Case.requests), selectinload(Case.investigations))
        .order_by(Case.date_of_death, Case.case_number)
    )
    return [c.case_number for c in candidates if case_stage(c) == Stage.READY]


def assemble_reports(settings: Settings, today: dt.date, *, actor: str = ACTOR) -> dict[str, Any]:
    """Build the first report of every case newly ready for panel. Safe to rerun: a case
    with a report is not built again. One case failing does not stop the others; the
    failures are raised at the end naming case numbers and error types only."""
    with unit_of_work(settings, actor) as uow:
        numbers = cases_newly_ready(uow.session)
    results: list[BuildResult] = []
    failures: dict[str, str] = {}
    for number in numbers:
        try:
            with unit_of_work(settings, actor) as uow:
                case = _load_case(uow, number)
                if latest_report(uow.session, case.id) is not None:
                    continue  # built by a concurrent run since we looked
                results.append(_build(uow, settings, case, 1, today))
                uow.commit()
        except IntegrityError:
            continue  # a concurrent run claimed (case, 1) first
        except Exception as exc:  # noqa: BLE001 - reported below, by type only
            failures[number] = type(exc).__name__
            log.error("case report %s could not be built (%s)", number, type(exc).__name__)
    if failures:
        raise ReportBuildFailed(
            f"{len(failures)} case report(s) not built: "
            + ", ".join(f"{n} ({e})" for n, e in sorted(failures.items()))
        )
    return {
        "built": [r.case_number for r in results if r.status == AWAITING],
        "blocked": [r.case_number for r in results if r.status == BLOCKED],
    }


def build_report(settings: Settings, case_number: str, *, today: dt.date,
                 actor: str | None = None) -> BuildResult:
    """Build the next version of a case's report (after a block or a return was dealt with)."""
    with unit_of_work(settings, actor) as uow:
        case = _load_case(uow, case_number)
        if case.closed_on is not None:
            raise InputError([Problem("case", "is closed")])
        stage = case_stage(case)
        if stage != Stage.READY:
            raise InputError([Problem("case", f"is at stage '{stage.value}', not ready for panel")])
        latest = latest_report(uow.session, case.id)
        if latest is not None and latest.status == AWAITING:
            raise InputError([Problem("report", f"v{latest.version} is awaiting the coordinator's "
                                                "check: return it with comments first")])
        if latest is not None and latest.status == APPROVED:
            raise InputError([Problem("report", f"v{latest.version} is approved: an approved report is final")])
        result = _build(uow, settings, case, (latest.version + 1) if latest else 1, today)
        uow.commit()
    return result


# ----------------------------------------------------------------------- the coordinator


def decide(
    settings: Settings,
    case_number: str,
    *,
    approve: bool,
    comments: str | None,
    actor: str,
    today: dt.date,
    version: int | None = None,
) -> dict[str, Any]:
    """Record the coordinator's check of the current report: approve it for the panel, or
    return it with comments (required). `version`, when given, must be the current one (a
    decision about an older version is refused). Comments must not hold an identifier.
    Raises InputError (naming the field) when the report is not awaiting a check."""
    comments = (comments or "").strip() or None
    problems = []
    if not approve and not comments:
        problems.append(Problem("comments", "are required when returning a report"))
    if comments and len(comments) > COMMENTS_MAX:
        problems.append(Problem("comments", f"are longer than {COMMENTS_MAX} characters"))
    if problems:
        raise InputError(problems)
    with unit_of_work(settings, actor) as uow:
        case = _load_case(uow, case_number)
        report = latest_report(uow.session, case.id)
        if report is None:
            raise InputError([Problem("report", f"case {case.case_number} has no case report yet")])
        if version is not None and version != report.version:
            raise InputError([Problem("version", f"v{version} is not the current report (v{report.version})")])
        if report.status != AWAITING:
            by = f" by {report.decided_by}" if report.decided_by else ""
            raise InputError([Problem("report", f"v{report.version} is {report.status}{by}, not awaiting a check")])
        found = identifier_problem(case_gate(uow.session, case), "comments", comments)
        if found:
            raise InputError([found])
        report.status = APPROVED if approve else RETURNED
        report.decided_by = actor
        report.decided_at = utcnow()
        report.comments = comments
        if not approve:
            outbox.enqueue(
                uow, settings,
                key=outbox.business_key(case.case_number, "coordinator", KIND_RETURNED, report.version),
                kind=KIND_RETURNED,
                to=[settings.policy.coordinator_email],
                subject=f"Case report {case.case_number} v{report.version} returned with comments",
                business_date=today, sequence=report.version, case_id=case.id,
                secure_route=settings.policy.is_secure_address(settings.policy.coordinator_email),
                params={"version": report.version},
            )
        uow.audit("report_" + report.status, "case_report", report.id, case_id=case.id,
                  version=report.version, comments=bool(comments))
        uow.commit()
        return {"case_number": case.case_number, "version": report.version, "status": report.status,
                "decided_by": report.decided_by, "decided_at": report.decided_at.isoformat()}


def awaiting_check(settings: Settings, case_number: str, version: int) -> bool:
    """Whether this version is the current report and still waits for the check."""
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        report = latest_report(uow.session, case.id)
        return report is not None and report.version == version and report.status == AWAITING


def check_run_id(case_number: str, version: int, offer: str) -> str:
    return f"check__{case_number}__v{version}__{offer}"


def reports_to_check(settings: Settings, today: dt.date, *, offer: str | None = None) -> list[dict[str, Any]]:
    """Reports awaiting the check whose Airflow Required Action has not been offered, or
    whose offer has run out (after Policy.report_check_wait_days) with no decision.
    `offer` names this offering in the run id (the assembly run's logical hour): a rerun
    of that run offers nothing twice, a later run may offer again."""
    offer = offer or today.isoformat()
    renew_before = today - dt.timedelta(days=settings.policy.report_check_wait_days + 1)
    with unit_of_work(settings) as uow:
        rows = uow.session.execute(
            select(Case.case_number, CaseReport.version)
            .join(Case, Case.id == CaseReport.case_id)
            .where(
                CaseReport.status == AWAITING,
                (CaseReport.check_requested_on.is_(None)) | (CaseReport.check_requested_on <= renew_before),
            )
            .order_by(CaseReport.id)
        ).all()
    return [
        {"case_number": n, "version": v, "run_id": check_run_id(n, v, offer)} for n, v in rows
    ]


def mark_check_requested(settings: Settings, reports: list[dict[str, Any]], today: dt.date,
                         actor: str = ACTOR) -> int:
    marked = 0
    with unit_of_work(settings, actor) as uow:
        for item in reports:
            case = get_case(uow, item["case_number"])
            report = latest_report(uow.session, case.id)
            if report is not None and report.version == item["version"] and report.status == AWAITING:
                report.check_requested_on = today
                uow.audit("report_check_requested", "case_report", report.id, case_id=case.id,
                          version=report.version, run_id=item["run_id"])
                marked += 1
        uow.commit()
    return marked


def record_check(settings: Settings, case_number: str, version: int, *, decision: str,
                 comments: str | None, actor: str, today: dt.date) -> str:
    """Relay the answer given to the Airflow Required Action. The CDOP database decides:
    a report already decided (from the CLI or the operations pages) keeps that decision.
    An answer that cannot be recorded (a return without comments, comments naming someone)
    is not recorded and the check is offered again on the next assembly run. Returns
    what happened, in words that carry no identifier."""
    if decision == "later":
        return "left undecided"
    try:
        outcome = decide(settings, case_number, approve=decision == "approve", comments=comments,
                         actor=actor, today=today, version=version)
    except InputError as exc:
        fields = {p.field for p in exc.problems}
        if fields & {"report", "version"}:
            return "not recorded: " + "; ".join(str(p) for p in exc.problems)
        with unit_of_work(settings, actor) as uow:
            case = get_case(uow, case_number)
            report = latest_report(uow.session, case.id)
            if report is not None and report.version == version:
                report.check_requested_on = None  # offer the check again
                uow.commit()
        return "not recorded, offered again: " + "; ".join(str(p) for p in exc.problems)
    return outcome["status"]


# ---------------------------------------------------------------------------- views


def report_view(settings: Settings, case_number: str) -> dict[str, Any]:
    """Every version of a case's report with its status and decision (no identifier: the
    comments were gate-checked when recorded; findings are field names and places)."""
    with unit_of_work(settings) as uow:
        case = _load_case(uow, case_number)
        reports = uow.session.scalars(
            select(CaseReport).where(CaseReport.case_id == case.id).order_by(CaseReport.version)
        ).all()
        located = []
        if reports and reports[-1].status == BLOCKED:
            located = locate_findings(uow.session, case, case_gate(uow.session, case), settings)
        return {
            "case_number": case.case_number,
            "stage": case_stage(case).value,
            "reports": [
                {"version": r.version, "status": r.status, "built_on": r.built_on.isoformat(),
                 "gate_findings": list(r.gate_findings or []), "decided_by": r.decided_by,
                 "decided_at": r.decided_at.isoformat() if r.decided_at else None,
                 "comments": r.comments, "html_path": r.html_path, "pdf_path": r.pdf_path,
                 "check_requested_on": r.check_requested_on.isoformat() if r.check_requested_on else None}
                for r in reports
            ],
            "blocked_at": located,
        }


def export_report(settings: Settings, case_number: str, target: Path, *, version: int | None = None,
                  actor: str | None = None) -> list[Path]:
    """Decrypt a report's HTML and PDF into `target` for reading (audited)."""
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        query = select(CaseReport).where(CaseReport.case_id == case.id)
        if version is not None:
            query = query.where(CaseReport.version == version)
        report = uow.session.scalar(query.order_by(CaseReport.version.desc()).limit(1))
        if report is None:
            raise InputError([Problem("version" if version else "report", "no such case report")])
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for relative in (report.html_path, report.pdf_path):
            out = target / Path(relative).name.removesuffix(".enc")
            out.write_bytes(read_file(settings, relative))
            written.append(out)
        uow.audit("report_exported", "case_report", report.id, case_id=case.id, version=report.version,
                  status=report.status)
        uow.commit()
    return written


# ------------------------------------------------------------------- coordinator notices


def _notice_context(settings: Settings, case: Case, message: OutboxMessage) -> dict[str, Any]:
    return {"area_name": settings.policy.area_name, "office": settings.policy.office,
            "case_number": case.case_number, "version": message.params.get("version")}


def compose_blocked(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    case = session.get(Case, message.case_id)
    context = _notice_context(settings, case, message) | {
        "fields": message.params.get("fields", []), "located": message.params.get("located", [])}
    return _notice(session, message, settings, case, "panel_report_blocked", context)


def compose_returned(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    case = session.get(Case, message.case_id)
    report = session.scalar(select(CaseReport).where(
        CaseReport.case_id == case.id, CaseReport.version == message.params.get("version")))
    context = _notice_context(settings, case, message) | {
        "decided_by": report.decided_by, "decided_at": report.decided_at, "comments": report.comments or ""}
    return _notice(session, message, settings, case, "panel_report_returned", context)


def _notice(session: Session, message: OutboxMessage, settings: Settings, case: Case, template: str,
            context: dict[str, Any]) -> Email:
    email = outbox.templated_email(message, settings, template, context)
    gate_email(case_gate(session, case), email, f"{message.kind} {case.case_number}")
    return email



__all__ = [
    "APPROVED", "AWAITING", "BLOCKED", "RETURNED", "BuildResult", "IdentifierFound",
    "assemble_reports", "build_report", "decide", "export_report", "record_check",
    "report_view", "reports_to_check",
]
