"""The family's circumstances (siblings, support offered) and the identifiers recorded
for the family and contacts, which the gate then looks for. Identifiers are stored
encrypted and never shown back except on an audited reveal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from cdop.confidentiality.identifiers import case_gate, identifier_problem
from cdop.config import Settings
from cdop.rules.ages import AGE_BANDS
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case
from cdop.store.models import CaseIdentifier
from cdop.taxonomy import taxonomy
from cdop.validation import (
    InputError,
    Problem,
    RowReader,
    field_label,
    load_json_file,
    normalise_postcode,
    parse_date,
)

SIBLING_AGE_BANDS = (*AGE_BANDS, "18 years and over")


FAMILY_CONTEXT_FIELDS = ("siblings", "key_worker_offered", "bereavement_support_offered", "support_notes",
                         "office_notes")
# The office's own notes on the family: they may name people (the office must be able to
# write "Grandmother, Hope, is the contact"), so they are not refused: they are kept
# encrypted, for the office only, and no panel, agency or public document prints them
# (cdop.panel.report_content reads the family's fields by name, never this one).


FAMILY_SECTIONS = ("context", "identifiers", "case_number")
LIST_MAX = 100


def load_family_file(path: Path) -> dict:
    data = load_json_file(path)
    if not isinstance(data, dict):
        raise InputError([Problem("file", "must hold an object with 'context' and/or 'identifiers'")])
    unknown = [Problem(field_label(k, FAMILY_SECTIONS, i), "is not a section of the family file")
               for i, k in enumerate(data, start=1) if k not in FAMILY_SECTIONS]
    if unknown:
        raise InputError(unknown)
    if data.get("identifiers") is not None and not isinstance(data["identifiers"], list):
        raise InputError([Problem("identifiers", "must be a list of objects with 'field' and 'value'")])
    return data


def _parse_context(raw: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    offers = taxonomy().labels("family_offer")
    for position, key in enumerate(raw, start=1):
        if key not in FAMILY_CONTEXT_FIELDS:
            problems.append(Problem(field_label(key, FAMILY_CONTEXT_FIELDS, position),
                                    "is not a family context field; allowed: " + ", ".join(FAMILY_CONTEXT_FIELDS)))
    context: dict[str, Any] = {}
    siblings = raw.get("siblings")
    if siblings is not None:
        items = siblings if isinstance(siblings, list) else [siblings]
        if len(items) > LIST_MAX:
            problems.append(Problem("siblings", f"has more than {LIST_MAX} entries"))
            items = []
        bands = []
        for i, item in enumerate(items, start=1):
            band = item.get("age_band") if isinstance(item, dict) else item
            band = band.strip() if isinstance(band, str) else ""
            if band not in SIBLING_AGE_BANDS:
                problems.append(Problem(f"siblings[{i}]", "must be an age band: " + ", ".join(SIBLING_AGE_BANDS)))
            else:
                bands.append(band)
        context["siblings"] = bands
    reader = RowReader(raw)
    for key in ("key_worker_offered", "bereavement_support_offered"):
        if raw.get(key) is not None:
            value = raw[key]
            if isinstance(value, bool):
                value = "yes" if value else "no"
            code = RowReader({key: value}).choice(key, offers)
            if code is None:
                problems.append(Problem(key, "must be one of " + ", ".join(sorted(offers))))
            else:
                context[key] = code
    notes = reader.text("support_notes", required=False, max_len=2000, multiline=True)
    office = reader.text("office_notes", required=False, max_len=2000, multiline=True)
    problems.extend(reader.problems)
    if notes:
        context["support_notes"] = notes
    if office:
        context["office_notes"] = office
    return context


def _parse_identifiers(items: Sequence[Any], problems: list[Problem]) -> list[tuple[str, str]]:
    allowed = taxonomy().labels("family_identifier")
    found = []
    if len(items) > LIST_MAX:
        problems.append(Problem("identifiers", f"has more than {LIST_MAX} entries"))
        return found
    for i, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            problems.append(Problem(f"identifiers[{i}]", "must be an object with 'field' and 'value'"))
            continue
        r = RowReader(item)
        field = r.choice("field", allowed)
        value = r.text("value", max_len=300)
        for p in r.problems:
            problems.append(Problem(f"identifiers[{i}].{p.field}", p.message))
        if field and value:
            if field.endswith("postcode"):
                value = normalise_postcode(value)
            if field.endswith("date_of_birth"):
                day, wrong = parse_date(value)
                if wrong:
                    problems.append(Problem(f"identifiers[{i}].value", wrong))
                    continue
                value = day.isoformat()
            found.append((field, value))
    return found


def record_family(
    settings: Settings,
    case_number: str,
    *,
    context: Mapping[str, Any] | None = None,
    identifiers: Sequence[Any] = (),
    replace_identifiers: bool = False,
    actor: str | None = None,
) -> dict[str, int]:
    """Record the family circumstances (replacing the fields given) and add identifiers of
    the family and contacts for the gate. All-or-nothing; errors name fields only."""
    problems: list[Problem] = []
    if context is not None and not isinstance(context, Mapping):
        raise InputError([Problem("context", "must be an object")])
    if not isinstance(identifiers, list | tuple):
        raise InputError([Problem("identifiers", "must be a list of objects with 'field' and 'value'")])
    parsed_context = _parse_context(context or {}, problems)
    parsed_ids = _parse_identifiers(list(identifiers), problems)
    if context is None and not identifiers:
        problems.append(Problem("family", "give the family context, identifiers or both"))
    if problems:
        raise InputError(problems)
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        notes_problem = identifier_problem(case_gate(uow.session, case, parsed_ids), "support_notes",
                                           parsed_context.get("support_notes"))
        if notes_problem:
            raise InputError([notes_problem])
        if parsed_context:
            case.family_context = {**(case.family_context or {}), **parsed_context}
        if replace_identifiers:
            uow.session.execute(delete(CaseIdentifier).where(CaseIdentifier.case_id == case.id))
            known = set()
        else:
            known = {(i.field, i.value) for i in uow.session.scalars(
                select(CaseIdentifier).where(CaseIdentifier.case_id == case.id))}
        added = 0
        for field, value in dict.fromkeys(parsed_ids):
            if (field, value) not in known:
                uow.session.add(CaseIdentifier(case_id=case.id, field=field, value=value))
                added += 1
        uow.session.flush()
        uow.audit("family_recorded", "case", case.id, case_id=case.id,
                  context_fields=sorted(parsed_context), identifiers_added=added,
                  identifier_fields=sorted({f for f, _ in parsed_ids}))
        uow.commit()
    return {"context_fields": len(parsed_context), "identifiers_added": added}


def family_view(settings: Settings, case_number: str) -> dict[str, Any]:
    """The family context and the *fields* of identifiers recorded (never their values)."""
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        fields = uow.session.scalars(
            select(CaseIdentifier.field).where(CaseIdentifier.case_id == case.id).order_by(CaseIdentifier.id)
        ).all()
        return {"case_number": case.case_number, "context": dict(case.family_context or {}),
                "identifier_fields": list(fields)}
