"""What the gate looks for in one case: the child's identifiers and those recorded for the
family and contacts, each as the kind of identifier it is (name, date, NHS number,
postcode, address, text), and the gate built from them."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.confidentiality.gate import Gate, Identifier
from cdop.store.models import Case, CaseIdentifier
from cdop.validation import Problem


def case_identifiers(case, extra: Iterable[tuple[str, str]] = ()) -> tuple[Identifier, ...]:
    """The identifiers of a case (a models.Case) and of its family and contacts.

    `extra` holds (field, value) pairs from CaseIdentifier rows: the field name says
    the kind (…_name, …date_of_birth, …postcode, …address, anything else as text).
    """
    found: list[Identifier] = [
        Identifier("child.name", f"{case.forenames} {case.surname}", "name"),
        Identifier("child.surname", case.surname, "name"),
        Identifier("child.date_of_birth", case.date_of_birth, "date"),
    ]
    for forename in case.forenames.split():
        if len(forename) >= 3:
            found.append(Identifier("child.forenames", forename, "name"))
    if case.nhs_number:
        found.append(Identifier("child.nhs_number", case.nhs_number, "nhs_number"))
    if case.postcode:
        found.append(Identifier("child.postcode", case.postcode, "postcode"))
    if case.address:
        found.extend(_address_identifiers("child.address", case.address))
    if getattr(case, "notifier_name", None):
        found.append(Identifier("notifier_name", case.notifier_name, "name"))
    for field, value in extra:
        found.extend(_classify(field, value))
    return tuple(found)


def _address_identifiers(field: str, address: str) -> list[Identifier]:
    parts = [p.strip() for p in re.split(r"[,\n]", address) if p.strip()]
    found = [Identifier(field, address, "address")]
    if parts and re.search(r"[A-Za-z]", parts[0]) and len(parts[0]) >= 6:
        found.append(Identifier(field, parts[0], "address"))  # house number and street
    return found


def _classify(field: str, value: str) -> list[Identifier]:
    name = field.lower()
    if name.endswith("date_of_birth") or name.endswith("_date"):
        return [Identifier(field, value, "date")]
    if name.endswith("nhs_number"):
        return [Identifier(field, value, "nhs_number")]
    if name.endswith("postcode"):
        return [Identifier(field, value, "postcode")]
    if name.endswith("address"):
        return _address_identifiers(field, value)
    if name.endswith("name"):
        found = [Identifier(field, value, "name")]
        tokens = value.split()
        if len(tokens) > 1 and len(tokens[-1]) >= 3:
            found.append(Identifier(field, tokens[-1], "name"))  # the surname alone
        return found
    return [Identifier(field, value, "text")]


def case_gate(session: Session, case: Case, extra: Iterable[tuple[str, str]] = ()) -> Gate:
    """The anonymisation gate for one case: the child's identifiers and those recorded for
    the family and contacts (plus `extra`, e.g. ones being recorded now)."""
    recorded = session.execute(
        select(CaseIdentifier.field, CaseIdentifier.value).where(CaseIdentifier.case_id == case.id)
    ).all()
    return Gate(case_identifiers(case, [*((f, v) for f, v in recorded), *extra]))


def identifier_problem(gate: Gate, field: str, text: str | None, row: int | None = None) -> Problem | None:
    """A Problem naming `field` and the identifier field(s) found in `text`, if any."""
    if not text:
        return None
    found = gate.scan(text)
    if not found:
        return None
    return Problem(field, f"contains an identifier ({', '.join(found)}): refer to people by their role", row)
