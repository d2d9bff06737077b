"""The agency directory: every agency a request can go to, with its request and
escalation addresses and whether its route is secure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from cdop.config import Settings
from cdop.store.db import unit_of_work
from cdop.store.models import Agency
from cdop.taxonomy import taxonomy
from cdop.validation import (
    CODE_MAX,
    InputError,
    Problem,
    RowReader,
    read_rows,
)

NAME_MAX = 200  # the agencies.name column's length


def _parse_agency(r: RowReader, settings: Settings) -> dict[str, Any]:
    code = r.text("code", max_len=CODE_MAX)
    if code is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", code):
        r.problem("code", "may hold only letters, digits, '-' and '_'")
        code = None
    request_email = r.email("request_email")
    secure = r.boolean("secure", required=False)
    if secure is None and request_email:
        secure = settings.policy.is_secure_address(request_email)
    return {
        "code": code.upper() if code else None,
        # One line: the name goes into email subjects (a line break there breaks the headers).
        "name": r.text("name", max_len=NAME_MAX),
        "agency_type": r.choice("type", taxonomy().labels("agency_type")),
        "request_email": request_email,
        "escalation_email": r.email("escalation_email", required=False),
        "secure_email": bool(secure),
        "phone": r.text("phone", required=False, max_len=40),
        "active": r.boolean("active", required=False) is not False,
    }


def import_agencies(settings: Settings, rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Create or update the directory from rows (CSV columns); all-or-nothing."""
    parsed = read_rows(rows, lambda r: _parse_agency(r, settings), first_row=1)
    codes = [p["code"] for p in parsed]
    dupes = {c for c in codes if codes.count(c) > 1}
    if dupes:
        rows_at = [i for i, c in enumerate(codes, start=1) if c in dupes]
        raise InputError(Problem("code", "appears more than once in the file", r) for r in rows_at)
    created = updated = 0
    with unit_of_work(settings) as uow:
        existing = {a.code: a for a in uow.session.scalars(select(Agency))}
        for values in parsed:
            agency = existing.get(values["code"])
            if agency is None:
                uow.session.add(Agency(**values))
                created += 1
            else:
                for key, value in values.items():
                    setattr(agency, key, value)
                updated += 1
        uow.session.flush()
        uow.audit("agencies_imported", "agency", created=created, updated=updated)
        uow.commit()
    return {"created": created, "updated": updated}
