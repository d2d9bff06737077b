"""Key rotation: re-encrypt every identifiable field and every encrypted file (returned
forms, case reports: `*.enc` under CDOP_HOME) under the first key, and re-index."""

from __future__ import annotations

from sqlalchemy import Text, bindparam, select, type_coerce, update

from cdop.confidentiality import crypto
from cdop.config import Settings
from cdop.private_files import write_private
from cdop.store.db import unit_of_work
from cdop.store.models import ENCRYPTED_COLUMNS, Case


def rotate(settings: Settings) -> dict[str, int]:
    rows = 0
    with unit_of_work(settings, settings.actor) as uow:
        for model, columns in ENCRYPTED_COLUMNS.items():
            table = model.__table__
            raw = [type_coerce(table.c[c], Text).label(c) for c in columns]
            for record in uow.session.execute(select(table.c.id, *raw)).mappings():
                values = {
                    c: type_coerce(bindparam(f"v_{c}", crypto.rotate_token(record[c])), Text)
                    for c in columns
                    if record[c] is not None
                }
                if values:
                    uow.session.execute(update(table).where(table.c.id == record["id"]).values(values))
                    rows += 1
        # Blind indexes follow the first key too.
        for case in uow.session.scalars(select(Case)):
            case.nhs_index = crypto.blind_index(case.nhs_number) if case.nhs_number else None
            case.identity_index = crypto.blind_index(
                case.forenames, case.surname, case.date_of_birth, case.date_of_death.isoformat()
            )
        uow.audit("keys_rotated", "database", rows=rows)
        files = _rotate_files(settings)
        uow.commit()
    return {"rows": rows, "files": files}


def _rotate_files(settings: Settings) -> int:
    """Re-encrypt each stored file in place (write a temporary file, then rename), so a
    crash leaves every file readable under the old or the new key."""
    count = 0
    for path in sorted(settings.home.rglob("*.enc")):
        tmp = path.with_name(path.name + ".rotating")
        write_private(tmp, crypto.rotate_bytes(path.read_bytes()))
        tmp.replace(path)
        count += 1
    return count
