"""Where case reports are kept: HTML and PDF, encrypted at rest under the CDOP home."""

from __future__ import annotations

import shutil
from pathlib import Path

from cdop.confidentiality import crypto
from cdop.config import Settings
from cdop.private_files import private_dir, write_private
from cdop.store.models import (
    CaseReport,
)


def report_dir(settings: Settings, case_number: str, version: int) -> Path:
    return settings.home / "reports" / case_number / f"v{version}"


def _store(settings: Settings, case_number: str, version: int, html: str, pdf: bytes) -> tuple[str, str]:
    folder = report_dir(settings, case_number, version)
    private_dir(folder)
    paths = []
    for suffix, content in (("html", html.encode("utf-8")), ("pdf", pdf)):
        target = folder / f"{case_number}-report-v{version}.{suffix}.enc"
        tmp = target.with_suffix(".tmp")
        write_private(tmp, crypto.encrypt_bytes(content))
        shutil.move(tmp, target)
        paths.append(str(target.relative_to(settings.home)))
    return paths[0], paths[1]


def read_file(settings: Settings, relative: str) -> bytes:
    return crypto.decrypt_bytes((settings.home / relative).read_bytes())


def report_pdf(settings: Settings, report: CaseReport) -> bytes:
    return read_file(settings, report.pdf_path)


def pdf_filename(case_number: str, version: int) -> str:
    return f"{case_number}-report-v{version}.pdf"
