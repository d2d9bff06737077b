"""Files kept under CDOP_HOME for rows of the database: returned forms (`files/`) and
case reports (`reports/`), encrypted at rest.

A file belongs to the unit of work that wrote it: it is written under a name no other
file has, removed again if the transaction rolls back, and a file it replaces is removed
only once the transaction has committed. Every write goes to a temporary name in the same
directory, is flushed to disk and then renamed over the target, so a crash leaves either
the old file or the new one, never half of one; `cdop files check` finds what a crash
or a hand-made change left behind.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop import crypto
from cdop.config import Settings
from cdop.private_files import private_dir
from cdop.store.db import UnitOfWork
from cdop.store.models import Agency, AgencyRequest, Case, CaseReport

STORES = ("files", "reports")
PARTIAL = ".partial"  # the suffix of a file being written (a leftover one is removed)


def safe_name(name: str, limit: int = 80) -> str:
    """A file name reduced to letters, digits, '.', '_' and '-' (no path, no hidden file)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-limit:].lstrip(".")
    return cleaned or "file"


def write_atomically(target: Path, data: bytes) -> None:
    """Write `data` to `target` through a temporary file in the same directory, fsynced
    and renamed over it; owner-only."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{PARTIAL}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def store_encrypted(uow: UnitOfWork, settings: Settings, folder: str | Path, name: str, data: bytes,
                    *, unique: bool = True) -> str:
    """Encrypt and keep `data` as CDOP_HOME/folder/name for the unit of work; returns the
    path relative to CDOP_HOME. `unique` puts a random prefix on the name, so a new file
    never overwrites one a committed row still points at."""
    directory = settings.home / folder
    private_dir(directory)  # every missing folder 0700, not only the last
    target = directory / ((f"{secrets.token_hex(4)}-" if unique else "") + name + ".enc")
    write_atomically(target, crypto.encrypt_bytes(data))
    uow.after_rollback(lambda: target.unlink(missing_ok=True))
    return str(target.relative_to(settings.home))


def remove_when_committed(uow: UnitOfWork, settings: Settings, relative: str | None) -> None:
    """The file a row pointed at before this unit of work replaced it: removed once the
    replacement is committed (kept if it rolls back)."""
    if relative:
        path = settings.home / relative
        uow.after_commit(lambda: path.unlink(missing_ok=True))


def remove_partial_files(settings: Settings) -> int:
    """Remove temporary files left by a write that was killed (the file it was replacing
    is intact). Returns how many."""
    count = 0
    for pattern in (f"*{PARTIAL}", "*.enc.rotating"):
        for path in settings.home.rglob(pattern):
            if path.is_file():
                path.unlink(missing_ok=True)
                count += 1
    return count


@dataclass(frozen=True)
class FileCheck:
    files_without_row: list[str]  # paths relative to CDOP_HOME
    rows_without_file: list[str]  # "what: path"

    @property
    def clean(self) -> bool:
        return not self.files_without_row and not self.rows_without_file


def check_files(session: Session, settings: Settings) -> FileCheck:
    """Stored files no row points at, and rows whose file is missing."""
    referenced: dict[str, str] = {}
    for number, code, path in session.execute(
        select(Case.case_number, Agency.code, AgencyRequest.return_file)
        .join(Case, Case.id == AgencyRequest.case_id).join(Agency, Agency.id == AgencyRequest.agency_id)
        .where(AgencyRequest.return_file.is_not(None))
    ):
        if path is not None:  # (the query's filter, said again for the type checker)
            referenced[path] = f"return file of {number} from {code}"
    for number, version, html, pdf in session.execute(
        select(Case.case_number, CaseReport.version, CaseReport.html_path, CaseReport.pdf_path)
        .join(Case, Case.id == CaseReport.case_id)
    ):
        for kind, path in (("HTML", html), ("PDF", pdf)):
            if path:
                referenced[path] = f"case report {number} v{version} ({kind})"
    on_disk = set()
    for store in STORES:
        root = settings.home / store
        if root.is_dir():
            on_disk |= {str(p.relative_to(settings.home)) for p in root.rglob("*") if p.is_file()}
    return FileCheck(
        files_without_row=sorted(on_disk - set(referenced)),
        rows_without_file=sorted(f"{what}: {path}" for path, what in referenced.items()
                                 if not (settings.home / path).is_file()),
    )
