"""Where case reports are kept: HTML and PDF, encrypted at rest under the CDOP home."""

from __future__ import annotations

from pathlib import Path

from cdop.config import Settings
from cdop.store import files
from cdop.store.db import UnitOfWork
from cdop.store.models import (
    CaseReport,
)


def report_dir(settings: Settings, case_number: str, version: int) -> Path:
    return settings.home / "reports" / case_number / f"v{version}"


def _store(uow: UnitOfWork, settings: Settings, case_number: str, version: int, html: str,
           pdf: bytes) -> tuple[str, str]:
    """Keep the report's files for the unit of work (removed again if it rolls back). The
    (case, version) row is claimed first, so no committed report's files are overwritten."""
    folder = report_dir(settings, case_number, version).relative_to(settings.home)
    html_path = files.store_encrypted(uow, settings, folder, f"{case_number}-report-v{version}.html",
                                      html.encode("utf-8"), unique=False)
    pdf_path = files.store_encrypted(uow, settings, folder, f"{case_number}-report-v{version}.pdf", pdf,
                                     unique=False)
    return html_path, pdf_path


def read_file(settings: Settings, relative: str) -> bytes:
    return files.read_encrypted(settings, relative)


def report_pdf(settings: Settings, report: CaseReport) -> bytes:
    return read_file(settings, report.pdf_path)


def pdf_filename(case_number: str, version: int) -> str:
    return f"{case_number}-report-v{version}.pdf"
