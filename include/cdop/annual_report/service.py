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
from cdop.validation import InputError, Problem

log = logging.getLogger(__name__)

KIND = "annual_report"
FIRST_YEAR = 2010  # the trigger form's lower bound; CDOP data before 2010 is not held


@dataclass
class BuildResult:
    year: int
    version: int
    content_hash: str
    directory: Path
    files: list[str]
    new_version: bool
    message_id: int | None
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        """Small, non-identifying: fit for XCom and logs."""
        return {"year": self.year, "version": self.version, "new_version": self.new_version,
                "content_hash": self.content_hash[:16], "message_id": self.message_id}


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
                AnnualReport.year == year, AnnualReport.status == "released"
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
    from cdop.annual_report.data import extract, scope_identifiers
    from cdop.annual_report.render import report_html, table_csvs, table_rows
    from cdop.confidentiality.detectors import office_policy
    from cdop.confidentiality.documents import pdf_text
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
    with unit_of_work(settings, actor) as uow:
        data = extract(uow.session, year)
        lap("extract")
        identifiers = scope_identifiers(uow.session, data.scope_case_ids)
        lap("identifiers")
        content = build_content(data, area_name=policy.area_name,
                                 threshold=policy.suppression_threshold)
        content_hash = content.content_hash()
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

    charts = all_charts(content)
    lap("charts")
    html = report_html(content, charts, version)
    pdf = html_to_pdf(html)
    lap("pdf")
    rows = table_rows(content)
    csvs = table_csvs(content)
    summary = {
        "year": year, "label": content.label, "version": version, "content_hash": content_hash,
        "area_name": content.area_name, "threshold": content.threshold,
        "headline": [{"label": f.label, "shown": f.shown} for f in content.headline],
    }
    from cdop.annual_report.render import email_bodies, email_subject

    subject = email_subject(content.area_name, content.label, version)
    email_text, email_html = email_bodies(summary, policy)
    names = {"html": f"annual-report-{year}.html", "pdf": f"annual-report-{year}.pdf"}
    manifest = dict(summary, files=[names["html"], names["pdf"], *(f"tables/{n}" for n in csvs)])
    manifest_text = json.dumps(manifest, indent=2, sort_keys=True)

    documents = {names["html"]: html, names["pdf"]: pdf_text(pdf), "manifest.json": manifest_text,
                 "email": "\n".join([subject, email_text, email_html])}
    try:
        YearGate(identifiers, policy=office_policy(settings, "annual_report")).check_all(
            year, documents, tables={f"tables/{n}": r for n, r in rows.items()},
            flowing=frozenset({names["pdf"]}),
        )
        hold_for_flags(settings, year, report_sources(data, content))  # names nobody recorded
    except ReportBlocked as blocked:
        _record_blocked(settings, actor, year, content_hash, today, blocked.findings)
        raise
    lap("gate")

    root = reports_root(settings)
    private_dir(root)
    build_dir = root / f".build-{year}-{secrets.token_hex(6)}"
    private_dir(build_dir / "tables")
    write_private(build_dir / names["html"], html.encode("utf-8"))
    write_private(build_dir / names["pdf"], pdf)
    for name, text in csvs.items():
        write_private(build_dir / "tables" / name, text.encode("utf-8"))
    write_private(build_dir / "manifest.json", manifest_text.encode("utf-8"))
    _swap(root, year, build_dir)
    lap("write")

    message_id = _record_release(settings, actor, year, version, content_hash, today, subject)
    lap("register")
    log.info("annual report %s version %s released (%s)", year, version,
             "new version" if new_version else "same content as before")
    return BuildResult(
        year=year, version=version, content_hash=content_hash,
        directory=year_directory(settings, year), files=manifest["files"],
        new_version=new_version, message_id=message_id, timings=timings,
    )


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


def _record_blocked(settings, actor, year, content_hash, today, findings) -> None:
    flat = [f"{doc}: {f}" for doc, fields in sorted(findings.items()) for f in fields]
    with unit_of_work(settings, actor) as uow:
        row = uow.session.scalar(
            select(AnnualReport).where(AnnualReport.year == year,
                                       AnnualReport.content_hash == content_hash)
        )
        if row is None:
            row = AnnualReport(year=year, content_hash=content_hash, status="blocked",
                               built_on=today, gate_findings=flat)
            uow.session.add(row)
        else:
            row.status, row.gate_findings, row.built_on = "blocked", flat, today
        uow.session.flush()
        uow.audit("annual_report_blocked", "annual_report", row.id, year=year, findings=flat)
        uow.commit()


def _record_release(settings, actor, year, version, content_hash, today, subject) -> int | None:
    policy = settings.policy
    with unit_of_work(settings, actor) as uow:
        row = uow.session.scalar(
            select(AnnualReport).where(AnnualReport.year == year,
                                       AnnualReport.content_hash == content_hash)
        )
        if row is None:
            row = AnnualReport(year=year, content_hash=content_hash, built_on=today)
            uow.session.add(row)
        row.status, row.version, row.gate_findings, row.built_on = "released", version, [], today
        row.built_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        row.directory = str(year_directory(settings, year))
        message_id = None
        if policy.annual_report_recipients:
            message, created = outbox.enqueue(
                uow, settings,
                key=outbox.business_key(KIND, year, content_hash[:16]),
                kind=KIND,
                to=list(policy.annual_report_recipients),
                subject=subject,
                business_date=today,
                params={"year": year, "version": version, "content_hash": content_hash},
            )
            message_id = message.id
            row.outbox_message_id = message.id
        uow.session.flush()
        uow.audit("annual_report_released", "annual_report", row.id, year=year, version=version,
                  content_hash=content_hash[:16])
        uow.commit()
    return message_id


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
    pdf = (directory / f"annual-report-{year}.pdf").read_bytes()
    version = manifest["version"]
    return outbox.templated_email(
        message, settings, "annual_report", email_context(manifest, settings.policy),
        attachments=(Attachment(f"cdop-annual-report-{year}-v{version}.pdf", pdf, "application/pdf"),),
        headers=(("X-CDOP-Report-Year", str(year)), ("X-CDOP-Report-Version", str(version))),
    )
