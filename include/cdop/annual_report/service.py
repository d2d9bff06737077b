"""Build, release and send the annual report for a year ending 31 March.

`build_annual_report` reads the year with pandas, applies disclosure control, draws the
charts, renders HTML, PDF and CSVs into a fresh directory, runs the anonymisation gate
over every output (HTML, PDF text, CSVs, manifest, email), and only then releases: the
year's path `annual_reports/<year>` is a symlink swapped atomically to the new directory,
so a reader sees the old outputs or the new ones, never half of each. The email to
`Policy.annual_report_recipients` goes through the outbox under the business key
('annual_report', year, content hash): identical content is never sent twice, and
different content is released as the next version and sent again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdop.config import ConfigError, Settings
from cdop.mail import outbox
from cdop.mail.mailer import Attachment, Email
from cdop.private_files import private_dir, write_private
from cdop.store.db import unit_of_work
from cdop.store.models import AnnualReport, OutboxMessage
from cdop.store.statuses import AnnualReportStatus, OutboxStatus
from cdop.validation import InputError, Problem

log = logging.getLogger(__name__)

KIND = "annual_report"
PUBLIC, CONFIDENTIAL = "public", "confidential"
FIRST_YEAR = 2010  # the trigger form's lower bound; CDOP data before 2010 is not held


@dataclass
class BuildResult:
    year: int
    version: int
    content_hash: str
    directory: Path
    files: list[str]
    new_version: bool
    message_id: int | None  # the public edition's email
    timings: dict[str, float] = field(default_factory=dict)
    confidential_message_id: int | None = None
    # What happened to each edition's email in this build: queued (now), pending (queued
    # by an earlier build, not sent yet), sent (earlier), cancelled, or no recipients.
    email: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict:
        """Small, non-identifying: fit for XCom and logs."""
        return {"year": self.year, "version": self.version, "new_version": self.new_version,
                "content_hash": self.content_hash[:16], "message_id": self.message_id,
                "confidential_message_id": self.confidential_message_id, "email": self.email}


def reports_root(settings: Settings) -> Path:
    return settings.home / "annual_reports"


def year_directory(settings: Settings, year: int) -> Path:
    return reports_root(settings) / str(year)


# ------------------------------------------------------------------------- scheduling


def release_month_day(settings: Settings) -> tuple[int, int]:
    text = settings.policy.annual_report_month_day
    try:
        month, day = (int(p) for p in text.split("-"))
        dt.date(2001, month, day)  # not a leap year: 02-29 would skip three years in four
    except ValueError:
        raise ConfigError(
            "policy setting 'annual_report_month_day' must be a real date as MM-DD, e.g. 06-01"
        ) from None
    return month, day


def release_date(settings: Settings, year: int) -> dt.date:
    """When the report for `year` is due: the first configured MM-DD after 31 March."""
    month, day = release_month_day(settings)
    due = dt.date(year, month, day)
    return due if due > dt.date(year, 3, 31) else dt.date(year + 1, month, day)


def check_year(year: int, today: dt.date) -> None:
    """A report year must have ended (31 March) before the business date."""
    from cdop.annual_report.data import latest_closed_year

    if year < FIRST_YEAR or year > latest_closed_year(today):
        raise InputError([Problem(
            "year",
            f"must be a year ending 31 March between {FIRST_YEAR} and {latest_closed_year(today)} "
            f"(the latest year that has ended by {today.isoformat()})",
        )])


def due_report_year(settings: Settings, today: dt.date) -> int | None:
    """The report year due as of `today` and not yet released, if any.

    That is the latest year whose release date (Policy.annual_report_month_day after the
    year closes) has come; a run that missed the day (scheduler down, task failed) still
    finds it on the next day, and once released it is not due again."""
    from cdop.annual_report.data import latest_closed_year

    year = latest_closed_year(today)
    if today < release_date(settings, year):
        year -= 1
    with unit_of_work(settings) as uow:
        released = uow.session.scalar(
            select(func.count(AnnualReport.id)).where(
                AnnualReport.year == year, AnnualReport.status == AnnualReportStatus.RELEASED
            )
        )
    return None if released else year


# ------------------------------------------------------------------------------ build


def build_annual_report(
    settings: Settings, year: int, *, today: dt.date, actor: str | None = None
) -> BuildResult:
    """Build, check and release the report for the year ending 31 March `year`."""
    import time

    from cdop.annual_report.charts import all_charts
    from cdop.annual_report.content import build_content
    from cdop.annual_report.data import extract, scope_identifiers_by_case, year_identifiers
    from cdop.annual_report.render import report_html, table_csvs, table_rows
    from cdop.confidentiality.detectors import office_policy
    from cdop.confidentiality.documents import pdf_text
    from cdop.confidentiality.held import headings, output_key, released_fingerprints
    from cdop.confidentiality.year_gate import (
        ReportBlocked,
        YearGate,
        hold_for_flags,
        report_sources,
    )
    from cdop.pdf import html_to_pdf

    check_year(year, today)
    actor = actor or settings.actor
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    policy = settings.policy
    report_policy = policy.annual_report
    children = _children(report_policy)
    with unit_of_work(settings, actor) as uow:
        data = extract(uow.session, year, ncmd_hours=policy.ncmd_deadline_hours)
        lap("extract")
        # Decrypted once: the year gate takes them all, the flags each case's own.
        by_case = scope_identifiers_by_case(uow.session, data.scope_case_ids)
        identifiers = year_identifiers(by_case)
        lap("identifiers")
        editions = {
            edition: build_content(data, area_name=policy.area_name,
                                   threshold=policy.suppression_threshold, edition=edition,
                                   report_policy=report_policy, children=children)
            for edition in (PUBLIC, CONFIDENTIAL)
        }
        content = editions[PUBLIC]
        # One version covers both editions: either changing makes a new one.
        content_hash = hashlib.sha256(
            "/".join(editions[e].content_hash() for e in (PUBLIC, CONFIDENTIAL)).encode()
        ).hexdigest()
        existing = uow.session.scalar(
            select(AnnualReport).where(AnnualReport.year == year,
                                       AnnualReport.content_hash == content_hash)
        )
        if existing is not None and existing.version is not None:
            version, new_version = existing.version, False
        else:
            last = uow.session.scalar(
                select(func.max(AnnualReport.version)).where(AnnualReport.year == year)
            )
            version, new_version = (last or 0) + 1, True
    lap("tables")

    from cdop.annual_report.render import email_bodies, email_subject

    html, pdf = {}, {}
    for edition, edition_content in editions.items():
        html[edition] = report_html(edition_content, all_charts(edition_content), version)
        pdf[edition] = html_to_pdf(html[edition])
    lap("pdf")
    rows = table_rows(content)
    csvs = table_csvs(content)
    summary = {
        "year": year, "label": content.label, "version": version, "content_hash": content_hash,
        "area_name": content.area_name, "threshold": content.threshold,
        "headline": [{"label": f.label, "shown": f.shown} for f in content.headline],
    }
    subject = email_subject(content.area_name, content.label, version)
    email_text, email_html = email_bodies(summary, policy)
    confidential_subject = email_subject(content.area_name, content.label, version, CONFIDENTIAL)
    confidential_text, confidential_html = email_bodies(summary, policy, CONFIDENTIAL)
    names = {"html": f"annual-report-{year}.html", "pdf": f"annual-report-{year}.pdf",
             "confidential": confidential_file(year)}
    manifest = dict(summary, files=[names["html"], names["pdf"], *(f"tables/{n}" for n in csvs),
                                    names["confidential"]])
    manifest_text = json.dumps(manifest, indent=2, sort_keys=True)

    documents = {
        names["html"]: _text_of(html[PUBLIC]), names["pdf"]: pdf_text(pdf[PUBLIC]),
        "confidential edition (HTML)": _text_of(html[CONFIDENTIAL]),
        "confidential edition (PDF)": pdf_text(pdf[CONFIDENTIAL]),
        "manifest.json": manifest_text,
        "email": "\n".join([subject, email_text, email_html]),
        "confidential email": "\n".join([confidential_subject, confidential_text, confidential_html]),
    }
    # The public CSVs cell by cell; the confidential edition's tables are not files of
    # their own: its HTML (every cell, numeric dates included) and PDF text are checked.
    tables = {f"tables/{n}": r for n, r in rows.items()}
    output = output_key(KIND, year)
    with unit_of_work(settings) as uow:
        released = released_fingerprints(uow.session, output)  # false alarms let through
    try:
        # The meetings' dates are the report's own (the meetings table prints them).
        own_dates = [day for day, _, _ in data.meetings]
        titles = tuple(dict.fromkeys(t for e in (PUBLIC, CONFIDENTIAL) for _, t in headings(html[e])))
        YearGate(identifiers, policy=office_policy(settings, "annual_report",
                                                   allowed_dates=own_dates)).check_all(
            year, documents, tables=tables,
            flowing=frozenset({names["pdf"], "confidential edition (PDF)"}),
            html=frozenset({names["html"], "confidential edition (HTML)"}), titles=titles,
            released=released,
        )
        # Names nobody recorded, in the cases' published text.
        hold_for_flags(settings, year, report_sources(data, content), released, by_case)
    except ReportBlocked as blocked:
        _record_blocked(settings, actor, year, content_hash, today, blocked.findings, blocked.located)
        raise
    lap("gate")

    from cdop.crypto import encrypt_bytes

    root = reports_root(settings)
    private_dir(root)
    build_dir = root / f".build-{year}-{secrets.token_hex(6)}"
    private_dir(build_dir / "tables")
    write_private(build_dir / names["html"], html[PUBLIC].encode("utf-8"))
    write_private(build_dir / names["pdf"], pdf[PUBLIC])
    # The confidential edition is kept encrypted at rest (the database's keys).
    write_private(build_dir / names["confidential"], encrypt_bytes(pdf[CONFIDENTIAL]))
    for name, text in csvs.items():
        write_private(build_dir / "tables" / name, text.encode("utf-8"))
    write_private(build_dir / "manifest.json", manifest_text.encode("utf-8"))
    _swap(root, year, build_dir)
    lap("write")

    messages = _record_release(settings, actor, year, version, content_hash, today,
                               {PUBLIC: subject, CONFIDENTIAL: confidential_subject})
    lap("register")
    log.info("annual report %s version %s released (%s)", year, version,
             "new version" if new_version else "same content as before")
    return BuildResult(
        year=year, version=version, content_hash=content_hash,
        directory=year_directory(settings, year), files=manifest["files"],
        new_version=new_version, message_id=messages[PUBLIC][0], timings=timings,
        confidential_message_id=messages[CONFIDENTIAL][0],
        email={edition: state for edition, (_, state) in messages.items()},
    )


def _text_of(html: str) -> str:
    """The HTML as the gate reads it: the embedded charts' image data left out (pictures
    drawn from the published tables' own labels and counts, not text)."""
    import re

    return re.sub(r'src="data:image/png;base64,[A-Za-z0-9+/=]*"', 'src="chart"', html)


def confidential_file(year: int) -> str:
    return f"annual-report-{year}-confidential.pdf.enc"


def _children(report_policy) -> dict[int, int]:
    """Children aged 0-17 by mid-year from the configured population file."""
    from cdop.annual_report.population import children_by_mid_year, population_path

    try:
        return children_by_mid_year(population_path(report_policy.population_file),
                                    report_policy.population_area_codes)
    except InputError as exc:
        raise ConfigError(f"policy setting 'annual_report.population_file': {exc}") from None


def _swap(root: Path, year: int, build_dir: Path) -> None:
    """Point annual_reports/<year> at `build_dir` in one atomic rename, then tidy up."""
    target = root / str(year)
    previous = Path(os.readlink(target)).name if target.is_symlink() else None
    if target.exists() and not target.is_symlink():
        # An older layout (a plain directory): move it aside first.
        target.rename(root / f".old-{year}-{secrets.token_hex(6)}")
    link = root / f".link-{year}-{secrets.token_hex(6)}"
    os.symlink(build_dir.name, link)
    os.replace(link, target)
    for leftover in root.glob(f".*-{year}-*"):
        if leftover.name != build_dir.name and (previous is None or leftover.name == previous
                                                or leftover.name.startswith((".old-", ".link-"))
                                                or leftover.name.startswith(".build-")):
            if leftover.is_symlink() or leftover.is_file():
                leftover.unlink(missing_ok=True)
            else:
                shutil.rmtree(leftover, ignore_errors=True)


def _record_blocked(settings, actor, year, content_hash, today, findings, located=()) -> None:
    """Record the blocked build, and each finding where it is (for `cdop gate held` and
    the held-findings page: places and kinds, never values)."""
    from cdop.confidentiality.held import output_key, record_held

    flat = [f"{doc}: {f}" for doc, fields in sorted(findings.items()) for f in fields]
    with unit_of_work(settings, actor) as uow:
        record_held(uow, output_key(KIND, year), located, today)
        row = uow.session.scalar(
            select(AnnualReport).where(AnnualReport.year == year,
                                       AnnualReport.content_hash == content_hash)
        )
        if row is None:
            row = AnnualReport(year=year, content_hash=content_hash, status=AnnualReportStatus.BLOCKED,
                               built_on=today, gate_findings=flat)
            uow.session.add(row)
        else:
            row.status, row.gate_findings, row.built_on = AnnualReportStatus.BLOCKED, flat, today
        uow.session.flush()
        uow.audit("annual_report_blocked", "annual_report", row.id, year=year, findings=flat)
        uow.commit()


def _email_state(message: OutboxMessage, created: bool) -> str:
    if created:
        return "queued"
    return {OutboxStatus.PENDING: "pending", OutboxStatus.SENT: "sent"}.get(message.status, message.status)


def _record_release(settings, actor, year, version, content_hash, today,
                    subjects: dict[str, str]) -> dict[str, tuple[int | None, str]]:
    """Register the release and queue each edition's email (once per content): the
    public one to the distribution list, the confidential one by secure email only.
    Returns, per edition, the message id and what happened to it in this build."""
    from cdop.confidentiality.held import output_key, record_held

    policy = settings.policy
    recipients = {PUBLIC: tuple(policy.annual_report_recipients),
                  CONFIDENTIAL: tuple(policy.annual_report.confidential_recipients)}
    out: dict[str, tuple[int | None, str]] = {}
    with unit_of_work(settings, actor) as uow:
        row = uow.session.scalar(
            select(AnnualReport).where(AnnualReport.year == year,
                                       AnnualReport.content_hash == content_hash)
        )
        if row is None:
            row = AnnualReport(year=year, content_hash=content_hash, built_on=today)
            uow.session.add(row)
        row.status, row.version, row.gate_findings, row.built_on = AnnualReportStatus.RELEASED, version, [], today
        record_held(uow, output_key(KIND, year), (), today)  # nothing holds the year now
        row.built_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        row.directory = str(year_directory(settings, year))
        for edition in (PUBLIC, CONFIDENTIAL):
            to = recipients[edition]
            if not to:
                out[edition] = (None, "no recipients")
                continue
            confidential = edition == CONFIDENTIAL
            # The policy refuses a confidential recipient off the secure domains; checked
            # again here, where the message is made.
            if confidential and not all(policy.is_secure_address(a) for a in to):
                raise ConfigError("policy setting 'annual_report.confidential_recipients': "
                                  "every address must be on a secure domain")
            key_parts = (KIND, year, CONFIDENTIAL) if confidential else (KIND, year)
            message, created = outbox.enqueue(
                uow, settings,
                key=outbox.business_key(*key_parts, content_hash[:16]),
                kind=KIND, to=list(to), subject=subjects[edition], business_date=today,
                secure_route=confidential,
                params={"year": year, "version": version, "content_hash": content_hash,
                        "edition": edition},
            )
            out[edition] = (message.id, _email_state(message, created))
            if not confidential:
                row.outbox_message_id = message.id
        uow.session.flush()
        uow.audit("annual_report_released", "annual_report", row.id, year=year, version=version,
                  content_hash=content_hash[:16])
        uow.commit()
    return out


# ------------------------------------------------------------------------------- send


def compose(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    """The covering email with the PDF attached, composed from the released files."""
    from cdop.annual_report.render import email_context

    year = message.params["year"]
    directory = year_directory(settings, year)
    manifest_file = directory / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.is_file() else {}
    if manifest.get("content_hash") != message.params["content_hash"]:
        raise outbox.NoLongerWanted(
            f"annual report {year}: superseded by a later version before it was sent"
        )
    version = manifest["version"]
    headers = (("X-CDOP-Report-Year", str(year)), ("X-CDOP-Report-Version", str(version)))
    if message.params.get("edition") == CONFIDENTIAL:
        from cdop.crypto import decrypt_bytes

        pdf = decrypt_bytes((directory / confidential_file(year)).read_bytes())
        return outbox.templated_email(
            message, settings, "annual_report_confidential",
            email_context(manifest, settings.policy),
            attachments=(Attachment(f"cdop-annual-report-{year}-v{version}-CONFIDENTIAL.pdf", pdf,
                                    "application/pdf"),),
            headers=headers,
        )
    pdf = (directory / f"annual-report-{year}.pdf").read_bytes()
    return outbox.templated_email(
        message, settings, "annual_report", email_context(manifest, settings.policy),
        attachments=(Attachment(f"cdop-annual-report-{year}-v{version}.pdf", pdf, "application/pdf"),),
        headers=headers,
    )
