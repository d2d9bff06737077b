"""What a case report says: the anonymised summary and combined chronology (agencies that
would place the family named by type, timing relative to the death), and where in the
case's content the gate found something, for the coordinator to redact."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.confidentiality.gate import Gate
from cdop.config import Settings
from cdop.requests.returns import merged_chronology
from cdop.rules.ages import age_band, event_timing
from cdop.store.models import (
    Agency,
    AgencyRequest,
    Case,
)
from cdop.taxonomy import taxonomy


def _agency_labels(requests: list[AgencyRequest], settings: Settings) -> dict[int, str]:
    """How each agency is named in the report: by name, or (for the types the policy
    lists, e.g. schools and GP practices, which narrow down where a family lives) by type
    and a letter: "Education / school A"."""
    types = taxonomy().labels("agency_type")
    masked = set(settings.policy.report_agency_types_by_type)
    labels, counters = {}, {}
    for agency in sorted({r.agency.id: r.agency for r in requests}.values(), key=lambda a: a.code):
        if agency.agency_type in masked:
            counters[agency.agency_type] = counters.get(agency.agency_type, 0) + 1
            letter = chr(ord("A") + counters[agency.agency_type] - 1)
            labels[agency.id] = f"{types.get(agency.agency_type, agency.agency_type)} {letter}"
        else:
            labels[agency.id] = agency.name
    return labels


def report_context(session: Session, case: Case, settings: Settings, *, version: int,
                   today: dt.date) -> dict[str, Any]:
    tax = taxonomy()
    born = dt.date.fromisoformat(case.date_of_birth)
    labels = _agency_labels(case.requests, settings)
    entries = merged_chronology(session, case)
    types = tax.labels("agency_type")
    masked = set(settings.policy.report_agency_types_by_type)
    # An entry may name an agency the child's requests do not (a return citing the
    # ambulance service, say): it is named the same way, by type where the policy says so.
    others = {e.agency_id for e, _, _ in entries if e.agency_id and e.agency_id not in labels}
    for agency in session.scalars(select(Agency).where(Agency.id.in_(others))) if others else ():
        labels[agency.id] = (types.get(agency.agency_type, agency.agency_type)
                             if agency.agency_type in masked else agency.name)

    family = dict(case.family_context or {})
    offers = tax.labels("family_offer")
    return {
        "case_number": case.case_number,
        "version": version,
        "built_on": today,
        "area_name": settings.policy.area_name,
        "summary": {
            "age_band": age_band(born, case.date_of_death),
            "sex": tax.labels("sex").get(case.sex, case.sex),
            "place_of_death": tax.labels("place_of_death").get(case.place_of_death, case.place_of_death),
            "expected": case.death_expected,
            "circumstances": [tax.labels("circumstance").get(c, c) for c in case.circumstances or []],
        },
        "family": {
            "siblings": family.get("siblings"),
            "key_worker_offered": offers.get(family.get("key_worker_offered") or "", None),
            "bereavement_support_offered": offers.get(family.get("bereavement_support_offered") or "", None),
            "support_notes": family.get("support_notes"),
        },
        "returns": [
            {
                "agency": labels[r.agency.id],
                "agency_type": types.get(r.agency.agency_type, r.agency.agency_type),
                "forms": [tax.form_title(f) for f in r.forms],
                "status": r.status,
                "returned_on": r.returned_on,
                "waived_on": r.waived_on,
                "waiver_reason": r.waiver_reason,
                "summary": r.summary,
                "entries": sum(1 for e, _, src in entries if src == r.agency.code),
            }
            for r in sorted(case.requests, key=lambda r: labels[r.agency.id])
        ],
        "investigations": [
            {
                "kind": tax.labels("investigation").get(i.kind, i.kind),
                "status": tax.labels("investigation_status").get(i.status, i.status),
                "concluded_on": i.concluded_on,
                "outcome": i.outcome,
            }
            for i in case.investigations
        ],
        "chronology": [
            {"when": event_timing(born, case.date_of_death, e.event_date),
             "agency": labels.get(e.agency_id, ""), "what_happened": e.description}
            for e, _, _ in entries
        ],
    }


def content_places(session: Session, case: Case, settings: Settings) -> list[tuple[str, str]]:
    """Every place of a case's content a report is built from, as (where, text): the
    returns' summaries and waiver reasons, the chronology, outcomes, family notes and
    how each agency is named."""
    places: list[tuple[str, str | None]] = []
    for r in case.requests:
        places.append((f"summary of the {r.agency.code} return", r.summary))
        places.append((f"waiver reason for {r.agency.code}", r.waiver_reason))
    for entry, code, _ in merged_chronology(session, case):
        places.append((f"chronology entry {entry.id} ({code or 'no agency'})", entry.description))
    for i in case.investigations:
        places.append((f"{i.kind} outcome", i.outcome))
    family = case.family_context or {}
    places.append(("family support notes", family.get("support_notes")))
    labels = _agency_labels(case.requests, settings)
    for r in case.requests:
        places.append((f"how agency {r.agency.code} is named", labels[r.agency.id]))
    return [(where, text) for where, text in places if text]


def locate_findings(session: Session, case: Case, gate: Gate, settings: Settings) -> list[dict[str, str]]:
    """Where in the case's content each matched field is, for the coordinator to redact:
    e.g. {"field": "child.surname", "where": "chronology entry 17 (RUH)"}."""
    found = []
    for where, text in content_places(session, case, settings):
        for field in gate.scan(text):
            found.append({"field": field, "where": where})
        for field in sorted({f.field for f in gate.flags(text)}):
            found.append({"field": field + " (flag)", "where": where})
    return found
