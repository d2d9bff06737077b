"""Key rotation: re-encrypt every identifiable field and every encrypted file (returned
forms, attachments, case reports in the file store -- CDOP_HOME, the database or an
object store -- and any `*.enc` under CDOP_HOME, such as the confidential annual report)
under the first key, and re-index.

Everything is read and checked before anything is written: if any field or file cannot
be read with the configured keys, rotation stops with a ConfigError and changes
nothing. Files are re-encrypted one at a time through a temporary file in the same
directory (fsynced, then renamed over the file), inside the database transaction; a
rotation killed part-way leaves every file readable under the old or the new key (keep
both until a rotation has finished), and the next run first removes any temporary file
the killed one left.

The portal's links and sessions are found by a keyed hash of a secret nobody keeps (the
token is in the agency's email, the session value in its browser): rotation re-keys each
from the secret's SHA-256, kept encrypted beside it, so no live link or session ends
when the old key is removed.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from sqlalchemy import Text, bindparam, select, type_coerce, update

from cdop import crypto
from cdop.config import ConfigError, Settings
from cdop.store import files
from cdop.store.db import unit_of_work
from cdop.store.models import ENCRYPTED_COLUMNS, Case, PortalLink, utcnow
from cdop.store.storage import file_store

# The blind-index kinds of the portal's secrets (cdop.portal.tokens).
LINK_INDEX = "portal-link"
SESSION_INDEX = "portal-session"

UNREADABLE = ("{what} cannot be decrypted with the configured CDOP_ENCRYPTION_KEYS; nothing was "
              "changed (put the key the data was encrypted with after the new one)")


def rotate(settings: Settings) -> dict[str, int]:
    files.remove_partial_files(settings)
    rows = 0
    with unit_of_work(settings, settings.actor) as uow:
        # Read and re-encrypt every field in memory first: one that cannot be read stops
        # the rotation before any statement is sent.
        updates = []
        for model, columns in ENCRYPTED_COLUMNS.items():
            table = model.__table__
            raw = [type_coerce(table.c[c], Text).label(c) for c in columns]
            for record in uow.session.execute(select(table.c.id, *raw)).mappings():
                try:
                    values = {c: crypto.rotate_token(record[c]) for c in columns if record[c] is not None}
                except (InvalidToken, UnicodeEncodeError, TypeError):
                    raise ConfigError(UNREADABLE.format(what=f"a stored field of {table.name}")) from None
                if values:
                    updates.append((table, record["id"], values))
        # (store, key) of every encrypted file: the file store's, and those under CDOP_HOME
        # that live there whatever the store (a local store is both: counted once).
        store, local = file_store(settings), files.local_files(settings)
        stored = [(store, k) for folder in files.STORES
                  for k in store.keys(folder + "/", session=uow.session) if k.endswith(".enc")]
        seen = {k for _, k in stored} if store.name == "local" else set()
        stored += [(local, k) for k in local.keys() if k.endswith(".enc") and k not in seen]
        for holder, key in stored:
            try:
                crypto.rotate_bytes(holder.get(key, session=uow.session))
            except InvalidToken:
                raise ConfigError(UNREADABLE.format(what=f"the file {key}")) from None
        for table, row_id, values in updates:
            params = {c: type_coerce(bindparam(f"v_{c}", v), Text) for c, v in values.items()}
            uow.session.execute(update(table).where(table.c.id == row_id).values(params))
            rows += 1
        # Blind indexes follow the first key too.
        for case in uow.session.scalars(select(Case)):
            case.nhs_index = crypto.blind_index(case.nhs_number) if case.nhs_number else None
            case.identity_index = crypto.blind_index(
                case.forenames, case.surname, case.date_of_birth, case.date_of_death.isoformat()
            )
        old_links = []  # live links issued before digests were kept: their key must stay
        for link in uow.session.scalars(select(PortalLink).where(
                PortalLink.ended_at.is_(None) | PortalLink.session_hash.is_not(None))):
            if link.token_digest:
                link.token_hash = crypto.blind_index(LINK_INDEX, link.token_digest)
            elif link.ended_at is None and link.expires_at > utcnow():
                old_links.append(link.expires_at)
            if link.session_digest and link.session_hash:
                link.session_hash = crypto.blind_index(SESSION_INDEX, link.session_digest)
        uow.audit("keys_rotated", "database", rows=rows)
        for holder, key in stored:
            holder.put(key, crypto.rotate_bytes(holder.get(key, session=uow.session)), session=uow.session)
        uow.commit()
    return {"rows": rows, "files": len(stored), "old_links": len(old_links),
            "old_links_until": max(old_links).date().isoformat() if old_links else None}
