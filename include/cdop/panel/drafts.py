"""The pseudonymised draft of a case's report: every text the report is built from that
someone typed (the returns' summaries and waiver reasons, the chronology, the structured
answers of the portal, the processes' outcomes, the family support notes), each with
what the gate found replaced by its role's label or a typed placeholder
(cdop.confidentiality.pseudonymise), the coordinator's decisions applied.

The originals stay as they are, encrypted, for the office; the draft is made again from
them whenever it is needed (a build, the check page, `cdop report replacements`), so a
decision changes every place the same text appears, and a rebuild asks nothing twice.

Each place has a `where` the coordinator reads ("chronology entry 3 (RUH)", "the RUH
return's answer to 'Where did the baby sleep?'"): never a value. Chronology entries are
numbered 1..n within the case, in date order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.confidentiality.decisions import fingerprint, fingerprints
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.identifiers import case_gate
from cdop.confidentiality.pseudonymise import (
    UNDO,
    Decision,
    Pseudonymised,
    Pseudonymiser,
    Replacement,
    role_counts,
    with_echoes,
)
from cdop.config import Settings
from cdop.requests.returns import merged_chronology
from cdop.rules.ages import event_timing
from cdop.store.models import Case, PortalForm, ReplacementDecision
from cdop.store.statuses import FormStatus

CASE_REPORT = "case_report"


@dataclass(frozen=True)
class Place:
    """One text of the draft: `key` identifies it for the report's template, `where`
    names it for the coordinator."""

    key: tuple
    where: str
    original: str
    draft: Pseudonymised


@dataclass(frozen=True)
class Numbered:
    """One replacement as the coordinator sees it, numbered 1..n in the draft's order."""

    number: int
    place: Place
    replacement: Replacement

    def context(self, width: int = 30) -> str:
        """The draft's words around it, the replacement shown as its label in brackets
        (never the original, even for one undone)."""
        r, text = self.replacement, self.place.draft
        at = 0
        before = after = ""
        for seg in text.segments:
            if seg.replacement is r:
                before = text.text[max(0, at - width):at]
                end = at + len(seg.text)
                after = text.text[end:end + width]
                break
            at += len(seg.text)
        marked = r.label if r.label.startswith("[") else f"[{r.label}]"
        return " ".join(f"{before}{marked}{after}".split())


def report_policy(settings: Settings, case: Case, today: dt.date):
    """The case report gives timing relative to the death: a calendar date in it stops
    it, but for the report's own dates (built, returns received or waived, processes
    concluded), which the template prints as such."""
    from cdop.confidentiality.detectors import office_policy

    dates = {today}
    dates |= {d for r in case.requests for d in (r.returned_on, r.waived_on) if d}
    dates |= {i.concluded_on for i in case.investigations if i.concluded_on}
    dates |= {i.started_on for i in case.investigations if getattr(i, "started_on", None)}
    agencies = [a for r in case.requests for a in (r.agency.request_email, r.agency.escalation_email) if a]
    return office_policy(settings, CASE_REPORT, allowed_dates=dates, allowed_emails=agencies)


def decisions_of(session: Session, case_id: int) -> dict[tuple[str, str], Decision]:
    rows = session.scalars(select(ReplacementDecision).where(ReplacementDecision.case_id == case_id))
    return {(r.finding_kind, r.fingerprint): Decision(r.decision, r.label) for r in rows}


def undone_fingerprints(session: Session, case_ids: Iterable[int]) -> frozenset[str]:
    """The fingerprints of every replacement the coordinator undid as a false alarm (with
    a reason) in these cases' reports: what the report carries as written, so a document
    built from the approved report (the panel pack) lets it through without asking again."""
    ids = list(case_ids)
    if not ids:
        return frozenset()
    return frozenset(session.scalars(select(ReplacementDecision.fingerprint).where(
        ReplacementDecision.case_id.in_(ids), ReplacementDecision.decision == UNDO)))


def portal_answers(session: Session, case: Case) -> dict[int, PortalForm]:
    """The submitted portal form of each of the case's requests, by request id."""
    ids = [r.id for r in case.requests]
    if not ids:
        return {}
    forms = session.scalars(select(PortalForm).where(PortalForm.request_id.in_(ids),
                                                     PortalForm.status == FormStatus.SUBMITTED))
    return {f.request_id: f for f in forms}


def structured_answers(session: Session, case: Case) -> list[dict[str, Any]]:
    """Each returned agency's answers in the portal, section by section: (request id,
    section title, question, answer as the panel reads it, whether it is free text).
    A date is given relative to the death, like the chronology; a choice by its words."""
    from cdop.portal import forms

    submitted = portal_answers(session, case)
    born = dt.date.fromisoformat(case.date_of_birth)
    out = []
    for request in case.requests:
        form = submitted.get(request.id)
        if form is None:
            continue
        answers = (form.content or {}).get("answers") or {}
        for section in forms.sections_for(request.agency.agency_type, list(request.forms)):
            for f in section.fields:
                value = answers.get(f.key)
                if value in (None, ""):
                    continue
                free = f.type == "text"
                if f.type == "date":
                    try:
                        value = event_timing(born, case.date_of_death, dt.date.fromisoformat(str(value)))
                    except ValueError:
                        continue
                elif f.type in ("yesno", "choice"):
                    value = f.options.get(value, value)
                out.append({"request_id": request.id, "agency": request.agency.code, "section": section.title,
                            "key": f.key, "question": f.label, "answer": str(value), "free_text": free})
    return out


def typed_texts(session: Session, case: Case) -> list[tuple[tuple, str, str]]:
    """(key, where, text) for every typed text the report is drafted from, in the
    report's order."""
    places: list[tuple[tuple, str, str | None]] = []
    for r in sorted(case.requests, key=lambda r: r.agency.code):
        places.append((("summary", r.id), f"summary of the {r.agency.code} return", r.summary))
        places.append((("waiver", r.id), f"waiver reason for {r.agency.code}", r.waiver_reason))
    for a in structured_answers(session, case):
        if a["free_text"]:
            places.append((("answer", a["request_id"], a["key"]),
                           f"the {a['agency']} return's answer to \u201c{a['question']}\u201d", a["answer"]))
    for i in sorted(case.investigations, key=lambda i: (i.kind, i.id)):
        places.append((("outcome", i.id), f"{i.kind} outcome", i.outcome))
    family = case.family_context or {}
    places.append((("support_notes",), "family support notes", family.get("support_notes")))
    for n, (entry, code, _) in enumerate(merged_chronology(session, case), start=1):
        places.append((("entry", entry.id), f"chronology entry {n} ({code or 'no agency'})", entry.description))
    return [(k, w, t) for k, w, t in places if t]


@dataclass(frozen=True)
class Draft:
    places: tuple[Place, ...]
    gate: Gate

    def text(self, *key) -> str | None:
        for place in self.places:
            if place.key == key:
                return place.draft.text
        return None

    def numbered(self) -> list[Numbered]:
        out, n = [], 0
        for place in self.places:
            for r in place.draft.replacements:
                n += 1
                out.append(Numbered(n, place, r))
        return out

    def undone(self) -> frozenset[tuple[str, str]]:
        """(kind, fingerprint) of every replacement the coordinator undid."""
        return frozenset((r.kind, r.fingerprint) for p in self.places for r in p.draft.replacements if r.undone)

    def summary(self) -> list[dict[str, Any]]:
        """What a report version keeps of its replacements (no text)."""
        return [{"number": item.number, "kind": item.replacement.kind, "fingerprint": item.replacement.fingerprint,
                 "severity": item.replacement.severity, "field": item.replacement.field,
                 "layer": item.replacement.layer, "label": item.replacement.label,
                 "decision": item.replacement.decision, "where": item.place.where}
                for item in self.numbered()]


def draft(session: Session, case: Case, settings: Settings, today: dt.date) -> Draft:
    """The case's texts pseudonymised, with the coordinator's decisions so far. The gate
    used sees every finding (none dismissed): the decisions here are the coordinator's
    on the replacements."""
    gate = case_gate(session, case, policy=report_policy(settings, case, today))
    decisions = decisions_of(session, case.id)

    def known_fingerprint(kind: str, text: str) -> str:
        # A decision recorded under an earlier key (or the blind index's older derivation)
        # keeps its fingerprint while that key is configured: it is found, and replaced.
        return next((fp for fp in fingerprints(kind, text) if (kind, fp) in decisions), fingerprint(kind, text))

    pseudonymiser = Pseudonymiser(settings.policy.pseudonyms, known_fingerprint,
                                  role_counts(i.role for i in gate.identifiers), decisions)
    texts = typed_texts(session, case)
    found = with_echoes([(text, gate.findings(text)) for _, _, text in texts])
    places = tuple(Place(key, where, text, pseudonymiser.apply(text, findings))
                   for (key, where, text), findings in zip(texts, found, strict=True))
    return Draft(places, gate)
