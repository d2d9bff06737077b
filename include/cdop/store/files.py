"""Files kept for rows of the database: returned forms and attachments (`files/`) and case
reports (`reports/`), encrypted before they reach a store (cdop.store.storage: files under
CDOP_HOME, rows of the database, or an S3-compatible object store).

A file belongs to the unit of work that wrote it: it is written under a name no other
file has, and is gone again if the transaction rolls back (in the same transaction, in
the database; removed after, elsewhere); a file it replaces is removed only once the
transaction has committed. A local write goes to a temporary name in the same directory,
is flushed to disk and then renamed over the target, so a crash leaves either the old
file or the new one, never half of one; `cdop files check` finds what a crash or a
hand-made change left behind, in whichever store.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop import crypto
from cdop.config import ConfigError, Settings
from cdop.store.db import UnitOfWork
from cdop.store.models import (
    Agency,
    AgencyRequest,
    Case,
    CaseReport,
    PortalAttachment,
    Recommendation,
    RecommendationEvidence,
)
from cdop.store.storage import PARTIAL, LocalStore, file_store, write_atomically

__all__ = ["PARTIAL", "STORES", "check_files", "read_encrypted", "remove_partial_files",
           "remove_when_committed", "safe_name", "store_encrypted", "write_atomically"]

STORES = ("files", "reports")


def safe_name(name: str, limit: int = 80) -> str:
    """A file name reduced to letters, digits, '.', '_' and '-' (no path, no hidden file)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-limit:].lstrip(".")
    return cleaned or "file"


def store_encrypted(uow: UnitOfWork, settings: Settings, folder: str | Path, name: str, data: bytes,
                    *, unique: bool = True) -> str:
    """Encrypt and keep `data` as folder/name for the unit of work; returns its key (the
    path relative to CDOP_HOME, for a local store). `unique` puts a random prefix on the
    name, so a new file never overwrites one a committed row still points at."""
    store = file_store(settings)
    key = (Path(folder) / ((f"{secrets.token_hex(4)}-" if unique else "") + name + ".enc")).as_posix()
    store.put(key, crypto.encrypt_bytes(data), session=uow.session)
    if not store.transactional:
        uow.after_rollback(lambda: store.delete(key))
    return key


def read_encrypted(settings: Settings, key: str) -> bytes:
    """The decrypted bytes of a stored file (FileNotFoundError if the store lacks it)."""
    return crypto.decrypt_bytes(file_store(settings).get(key))


def remove_when_committed(uow: UnitOfWork, settings: Settings, key: str | None) -> None:
    """The file a row pointed at before this unit of work replaced it: removed once the
    replacement is committed (kept if it rolls back)."""
    if not key:
        return
    store = file_store(settings)
    if store.transactional:
        store.delete(key, session=uow.session)
    else:
        uow.after_commit(lambda: store.delete(key))


def remove_partial_files(settings: Settings) -> int:
    """Remove temporary files left by a local write that was killed (the file it was
    replacing is intact). Returns how many. (Other stores replace whole or not at all.)"""
    count = 0
    for pattern in (f"*{PARTIAL}", "*.enc.rotating"):
        for path in settings.home.rglob(pattern):
            if path.is_file():
                path.unlink(missing_ok=True)
                count += 1
    return count


@dataclass(frozen=True)
class FileCheck:
    files_without_row: list[str]  # keys (paths relative to CDOP_HOME, locally)
    rows_without_file: list[str]  # "what: key"

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
    for number, code, path in session.execute(
        select(Case.case_number, Agency.code, PortalAttachment.stored_path)
        .join(AgencyRequest, AgencyRequest.id == PortalAttachment.request_id)
        .join(Case, Case.id == AgencyRequest.case_id).join(Agency, Agency.id == AgencyRequest.agency_id)
    ):
        referenced[path] = f"attachment of {number} from {code}"
    for number, rec_id, path in session.execute(
        select(Case.case_number, Recommendation.id, RecommendationEvidence.stored_path)
        .join(Recommendation, Recommendation.id == RecommendationEvidence.recommendation_id)
        .join(Case, Case.id == Recommendation.case_id)
    ):
        referenced[path] = f"evidence for R{rec_id} of {number}"
    for number, version, html, pdf in session.execute(
        select(Case.case_number, CaseReport.version, CaseReport.html_path, CaseReport.pdf_path)
        .join(Case, Case.id == CaseReport.case_id)
    ):
        for kind, path in (("HTML", html), ("PDF", pdf)):
            if path:
                referenced[path] = f"case report {number} v{version} ({kind})"
    store = file_store(settings)
    stored = {key for folder in STORES for key in store.keys(folder + "/", session=session)}
    return FileCheck(
        files_without_row=sorted(stored - set(referenced)),
        rows_without_file=sorted(f"{what}: {path}" for path, what in referenced.items()
                                 if path not in stored),
    )


def import_local(settings: Settings) -> tuple[int, int]:
    """Move the case files under CDOP_HOME (`files/`, `reports/`) into the configured
    store: each copied, read back and compared, then the local copy removed. Returns
    (moved, already there). A local store has nothing to move."""
    store, local = file_store(settings), local_files(settings)
    if store.name == "local":
        return 0, 0
    moved = already = 0
    for folder in STORES:
        for key in list(local.keys(folder + "/")):
            data = local.get(key)
            if store.exists(key):
                if store.get(key) != data:
                    raise ConfigError(f"stored file {key}: the store holds different content; "
                                      "nothing was removed")
                already += 1
            else:
                store.put(key, data)
                if store.get(key) != data:
                    raise ConfigError(f"stored file {key}: read back differently; the local copy is kept")
                moved += 1
            local.delete(key)
    return moved, already


def local_files(settings: Settings) -> LocalStore:
    """The files under CDOP_HOME whatever the store (annual reports, exports, leftovers)."""
    return LocalStore(settings.home)
