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
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cdop.confidentiality.gate import IdentifierFound
from cdop.confidentiality.identifiers import case_gate, identifier_problem
from cdop.config import Settings
from cdop.mail import outbox
from cdop.mail.templating import render
from cdop.panel.check_signal import signal_check_offer
from cdop.panel.drafts import draft, report_policy
from cdop.panel.report_content import locate_findings, report_context
from cdop.panel.report_files import _store, read_file, report_dir
from cdop.pdf import PdfRenderFailed, html_to_pdf
from cdop.private_files import private_dir, write_private
from cdop.rules.stages import Stage, case_stage, needs_report_predicate
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.lookups import get_case
from cdop.store.models import (
    Case,
    CaseReport,
    utcnow,
)
from cdop.store.statuses import ReportStatus
from cdop.validation import InputError, Problem, RowReader, reveal_reason

log = logging.getLogger(__name__)

KIND_BLOCKED = "panel_report_blocked"
KIND_RETURNED = "panel_report_returned"
KIND_CHECK_REQUESTED = "panel_report_check_requested"
KINDS = (KIND_BLOCKED, KIND_RETURNED, KIND_CHECK_REQUESTED)
ACTOR = "airflow:cdop_assemble_case_reports"
COMMENTS_MAX = 4000

BLOCKED, AWAITING, APPROVED, RETURNED = (ReportStatus.BLOCKED, ReportStatus.AWAITING_CHECK, ReportStatus.APPROVED,
                                         ReportStatus.RETURNED)


class ReportBuildFailed(RuntimeError):
    """Some reports could not be built; the message names case numbers and error types only."""


@dataclass(frozen=True)
class BuildResult:
    case_number: str
    version: int
    status: str
    findings: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- content


# ------------------------------------------------------------------------------ storage


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


def _render(uow: UnitOfWork, settings: Settings, case: Case, version: int, today: dt.date):
    """The report drafted from the case's pseudonymised texts: (draft, HTML, PDF)."""
    d = draft(uow.session, case, settings, today)
    html = render("report/case_report.html.j2",
                  **report_context(uow.session, case, settings, version=version, today=today, draft=d))
    try:
        pdf = html_to_pdf(html)
    except PdfRenderFailed as exc:
        raise ReportBuildFailed(str(exc)) from None
    return d, html, pdf


def scan_report(gate, html: str, pdf: bytes | None, undone: frozenset[tuple[str, str]]) -> list[str]:
    """What stops the built report (as gate_scan_document): fields found, and each kind of
    flag not decided; a replacement the coordinator undid (a false alarm, with a reason)
    is not a finding any more."""
    from cdop.confidentiality.decisions import fingerprints
    from cdop.confidentiality.documents import FLAG_SUFFIX, pdf_text, visible_text

    def kept(f, text: str) -> bool:
        return not undone or not any((f.kind, fp) in undone for fp in fingerprints(f.kind, text[f.start:f.end]))

    texts = [visible_text(html)] + ([pdf_text(pdf)] if pdf is not None else [])
    found: set[str] = set()
    for i, t in enumerate([html, *texts]):
        for f in gate.findings(t):
            if f.severity == "stop" and kept(f, t):
                found.add(f.field)
            elif f.severity == "flag" and i > 0 and kept(f, t):  # flags in what a reader sees
                found.add(f.field + FLAG_SUFFIX)
    return sorted(found)


def _build(uow: UnitOfWork, settings: Settings, case: Case, version: int, today: dt.date,
           report: CaseReport | None = None) -> BuildResult:
    """Build a version (or, with `report`, draft that version again in place: a decision
    on a replacement changed its text before anyone approved it)."""
    d, html, pdf = _render(uow, settings, case, version, today)
    gate = case_gate(uow.session, case, document=CASE_REPORT,
                     policy=report_policy(settings, case, today))
    findings = scan_report(gate, html, pdf, d.undone())
    status = BLOCKED if findings else AWAITING
    if report is None:
        report = CaseReport(case_id=case.id, version=version, status=status, gate_findings=findings,
                            built_on=today, replacements=d.summary())
        uow.session.add(report)
        uow.session.flush()  # claims (case, version): a concurrent build of the same one fails here
        report.html_path, report.pdf_path = _store(uow, settings, case.case_number, version, html, pdf)
        redrafted = False
    else:
        from cdop.store import files

        was = report.status
        folder = report_dir(settings, case.case_number, version).relative_to(settings.home)
        old = (report.html_path, report.pdf_path)
        report.html_path = files.store_encrypted(uow, settings, folder, f"{case.case_number}-report-v{version}.html",
                                                 html.encode("utf-8"))
        report.pdf_path = files.store_encrypted(uow, settings, folder, f"{case.case_number}-report-v{version}.pdf", pdf)
        for path in old:
            files.remove_when_committed(uow, settings, path)
        report.status, report.gate_findings, report.replacements = status, findings, d.summary()
        if status == AWAITING and was != AWAITING:
            report.check_requested_on = None  # offer the check now it can be made
        redrafted = True
    if findings and not (redrafted and report.status == BLOCKED and was == BLOCKED):
        located = locate_findings(uow.session, case, gate, settings, d)
        outbox.enqueue(
            uow, settings,
            key=outbox.business_key(case.case_number, "coordinator", KIND_BLOCKED, version,
                                    *(["redraft", len(d.summary()), len(findings)] if redrafted else [])),
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
    elif redrafted:
        uow.audit("report_redrafted", "case_report", report.id, case_id=case.id, version=version,
                  status=report.status)
    else:
        uow.audit("report_built", "case_report", report.id, case_id=case.id, version=version,
                  replacements=len(d.summary()))
    return BuildResult(case.case_number, version, report.status, tuple(findings))


CASE_REPORT = "case_report"


def cases_newly_ready(session: Session) -> list[str]:
    """Case numbers of open cases that are ready for panel and have no report yet."""
    # Oldest death first: the date of death is encrypted, so the (few) ready cases are
    # ordered after decryption.
    rows = session.execute(select(Case.case_number, Case.date_of_death).where(needs_report_predicate()))
    return [number for number, _ in sorted(rows, key=lambda r: (r[1], r[0]))]


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
        if result.status == AWAITING:
            # Offer its check now (an Airflow asset watcher starts the assembly run), not
            # at the next hourly run: raised with the build, so seen once it commits.
            signal_check_offer(uow.session)
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
    reader = RowReader({"comments": comments})
    comments = reader.text("comments", required=False, max_len=COMMENTS_MAX, multiline=True)
    problems = list(reader.problems)
    if not approve and not comments and not problems:
        problems.append(Problem("comments", "are required when returning a report"))
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
        if approve:
            pending = undecided(uow.session, case.id, report)
            if pending:
                numbers = ", ".join(str(n) for n in pending[:20]) + (", ..." if len(pending) > 20 else "")
                raise InputError([Problem("replacements", f"{len(pending)} replacement(s) wait for your decision "
                                          f"(number(s) {numbers}): keep, change or undo each first")])
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


def undecided(session: Session, case_id: int, report: CaseReport) -> list[int]:
    """The numbers of the flags replaced in this version that the coordinator has not
    decided (a stop is replaced and counts as decided unless undone)."""
    from cdop.panel.drafts import decisions_of

    decisions = decisions_of(session, case_id)
    pending: dict[tuple, int] = {}
    for i, r in enumerate(report.replacements or [], start=1):
        key = (r.get("kind"), r.get("fingerprint"))
        if r.get("severity") == "flag" and key not in decisions:
            pending.setdefault(key, r.get("number", i))  # the same words again: one decision
    return list(pending.values())


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
            today = reports[-1].built_on
            located = locate_findings(uow.session, case, case_gate(uow.session, case, policy=report_policy(
                settings, case, today)), settings, draft(uow.session, case, settings, today))
        return {
            "case_number": case.case_number,
            "stage": case_stage(case).value,
            "reports": [
                {"version": r.version, "status": r.status, "built_on": r.built_on.isoformat(),
                 "gate_findings": list(r.gate_findings or []), "decided_by": r.decided_by,
                 "decided_at": r.decided_at.isoformat() if r.decided_at else None,
                 "comments": r.comments, "html_path": r.html_path, "pdf_path": r.pdf_path,
                 "check_requested_on": r.check_requested_on.isoformat() if r.check_requested_on else None,
                 "replacements": len(r.replacements or [])}
                for r in reports
            ],
            "blocked_at": located,
            "to_decide": undecided(uow.session, case.id, reports[-1]) if reports else [],
        }


def export_report(settings: Settings, case_number: str, target: Path, *, reason: str,
                  version: int | None = None, actor: str | None = None) -> list[Path]:
    """Decrypt a report's HTML and PDF into `target` for reading: audited with who, when
    and the stated `reason` (required, bounded)."""
    reason = reveal_reason(reason)
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        query = select(CaseReport).where(CaseReport.case_id == case.id)
        if version is not None:
            query = query.where(CaseReport.version == version)
        report = uow.session.scalar(query.order_by(CaseReport.version.desc()).limit(1))
        if report is None:
            raise InputError([Problem("version" if version else "report", "no such case report")])
        private_dir(target)
        written = []
        for relative in (report.html_path, report.pdf_path):
            out = target / Path(relative).name.removesuffix(".enc")
            write_private(out, read_file(settings, relative))
            written.append(out)
        uow.audit_reveal("report_exported", "case_report", report.id, case.id, reason=reason,
                         version=report.version, status=report.status)
        uow.commit()
    return written


def read_approved_report(settings: Settings, case_number: str, *, actor: str) -> str | None:
    """The HTML of a case's latest approved report, for the panel's pages; None when the
    case has none approved (or no such case). Each reading is audited."""
    return _read_report(settings, case_number, actor,
                        lambda q: q.where(CaseReport.status == APPROVED).order_by(CaseReport.version.desc()))


def read_report(settings: Settings, case_number: str, version: int, *, actor: str) -> str | None:
    """The HTML of one version of a case's report, for the coordinator's check on the
    pages (any status with a stored HTML); None when there is no such version. Each
    reading is audited, as the panel's are."""
    return _read_report(settings, case_number, actor, lambda q: q.where(CaseReport.version == version))


def _read_report(settings: Settings, case_number: str, actor: str, narrow) -> str | None:
    """The stored HTML of the first of a case's reports that `narrow` picks, the reading
    audited; None when there is no such case or report."""
    from cdop.store.lookups import NotFound

    with unit_of_work(settings, actor) as uow:
        try:
            case = get_case(uow, case_number)
        except NotFound:
            return None
        report = uow.session.scalar(narrow(select(CaseReport).where(CaseReport.case_id == case.id)).limit(1))
        if report is None or not report.html_path:
            return None
        html = read_file(settings, report.html_path).decode("utf-8")
        uow.audit("report_read", "case_report", report.id, case_id=case.id, version=report.version)
        uow.commit()
    return html


# ------------------------------------------------------------------- coordinator notices


__all__ = [
    "APPROVED", "AWAITING", "BLOCKED", "RETURNED", "BuildResult", "IdentifierFound",
    "assemble_reports", "build_report", "decide", "export_report", "read_approved_report", "read_report",
    "report_view",
]
