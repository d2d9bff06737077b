"""What a case report says: the anonymised summary, each agency's return with its
structured answers, and the combined chronology (agencies that would place the family
named by type, timing relative to the death), every typed text taken from the case's
pseudonymised draft (cdop.panel.drafts); and where in the case's content the gate found
something, for the coordinator."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.confidentiality.gate import Gate
from cdop.config import Settings
from cdop.panel.drafts import Draft, structured_answers, typed_texts
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
                   today: dt.date, draft: Draft) -> dict[str, Any]:
    """The template's context: every text an agency or the office typed is the draft's
    (pseudonymised) one, never the original."""
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
    # Each agency's structured answers, section by section; free text from the draft.
    answers: dict[int, list[dict[str, Any]]] = {}
    for a in structured_answers(session, case):
        text = draft.text("answer", a["request_id"], a["key"]) if a["free_text"] else a["answer"]
        sections = answers.setdefault(a["request_id"], [])
        if not sections or sections[-1]["title"] != a["section"]:
            sections.append({"title": a["section"], "rows": []})
        sections[-1]["rows"].append({"question": a["question"], "answer": text})
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
            "support_notes": draft.text("support_notes"),
        },
        "returns": [
            {
                "agency": labels[r.agency.id],
                "agency_type": types.get(r.agency.agency_type, r.agency.agency_type),
                "forms": [tax.form_title(f) for f in r.forms],
                "status": r.status,
                "returned_on": r.returned_on,
                "waived_on": r.waived_on,
                "waiver_reason": draft.text("waiver", r.id),
                "summary": draft.text("summary", r.id),
                "entries": sum(1 for e, _, src in entries if src == r.agency.code),
                "answers": answers.get(r.id, []),
            }
            for r in sorted(case.requests, key=lambda r: labels[r.agency.id])
        ],
        "investigations": [
            {
                "kind": tax.labels("investigation").get(i.kind, i.kind),
                "status": tax.labels("investigation_status").get(i.status, i.status),
                "concluded_on": i.concluded_on,
                "outcome": draft.text("outcome", i.id),
            }
            for i in case.investigations
        ],
        "chronology": [
            {"number": n, "when": event_timing(born, case.date_of_death, e.event_date),
             "agency": labels.get(e.agency_id, ""), "what_happened": draft.text("entry", e.id)}
            for n, (e, _, _) in enumerate(entries, start=1)
        ],
    }


def content_places(session: Session, case: Case, settings: Settings) -> list[tuple[str, str]]:
    """Every place of a case's content a report is built from, as (where, text): the
    returns' summaries, waiver reasons and structured answers, the chronology (numbered
    1..n in the case), outcomes, family notes and how each agency is named."""
    places = [(where, text) for _, where, text in typed_texts(session, case)]
    labels = _agency_labels(case.requests, settings)
    for r in case.requests:
        places.append((f"how agency {r.agency.code} is named", labels[r.agency.id]))
    return [(where, text) for where, text in places if text]


def locate_findings(session: Session, case: Case, gate: Gate, settings: Settings,
                    draft: Draft | None = None) -> list[dict[str, str]]:
    """Where each matched field is, for the coordinator: e.g. {"field": "child.surname",
    "where": "chronology entry 17 (RUH)"}. With `draft`, in the pseudonymised texts (what
    is left in them: a replacement undone), and a finding undone is not one."""
    if draft is None:
        places = content_places(session, case, settings)
        undone: frozenset = frozenset()
    else:
        labels = _agency_labels(case.requests, settings)
        places = [(p.where, p.draft.text) for p in draft.places]
        places += [(f"how agency {r.agency.code} is named", labels[r.agency.id]) for r in case.requests]
        undone = draft.undone()
    from cdop.confidentiality.decisions import fingerprints

    def kept(f) -> bool:
        return not any((f.kind, fp) in undone for fp in fingerprints(f.kind, text[f.start:f.end]))

    found = []
    for where, text in places:
        if not text:
            continue
        findings = [f for f in gate.findings(text) if not undone or kept(f)]
        for field in sorted({f.field for f in findings if f.severity == "stop"}):
            found.append({"field": field, "where": where})
        for field in sorted({f.field for f in findings if f.severity == "flag"}):
            found.append({"field": field + " (flag)", "where": where})
    return found
