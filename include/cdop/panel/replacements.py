"""The coordinator checks the replacements, not the sentences: each replacement of the
case's pseudonymised draft (cdop.panel.drafts), numbered 1..n, can be kept, changed to
another label, or undone as a false alarm with a reason. A decision is remembered for
the case under the finding's kind and a fingerprint of its text (never the text), so it
applies wherever the same text appears and a rebuild asks nothing twice; each is audited.

A decision that changes the text of a report waiting for the check (or blocked) drafts
that version again in place: nobody approved it yet, and the coordinator approves what
the page showed. A report cannot be approved while a flag is undecided
(case_reports.decide); a stop is replaced automatically and counts as decided.

What is shown never holds the original value: a label, a kind, a layer and the draft's
words around it. Seeing the original is a deliberate, audited reveal with a reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from cdop.confidentiality.decisions import NOT_IDENTIFIER, REDACT
from cdop.confidentiality.findings import record_decision
from cdop.confidentiality.folding import Finding
from cdop.confidentiality.identifiers import identifier_problem
from cdop.confidentiality.pseudonymise import DECISIONS, KEEP, LABEL, UNDO
from cdop.config import LABEL_MAX, Settings
from cdop.panel.case_reports import AWAITING, BLOCKED, _build, _load_case, latest_report
from cdop.panel.drafts import CASE_REPORT, Draft, Numbered, draft
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.models import Case, ReplacementDecision, utcnow
from cdop.validation import InputError, Problem, RowReader

REASON_MAX = 500
LAYER_WORDS = {
    "recorded": "a recorded identifier", "derived": "a form of a recorded identifier",
    "people": "a name nobody recorded", "places": "an address nobody recorded",
    "references": "a reference number", "dates": "a calendar date", "contact": "contact details",
    "circumstance": "a circumstance",
}


def _item(item: Numbered) -> dict[str, Any]:
    r = item.replacement
    return {
        "number": item.number, "label": r.label, "default_label": r.default_label, "kind": r.kind,
        "field": r.field, "role": r.role, "layer": r.layer, "found_by": LAYER_WORDS.get(r.layer, r.layer),
        "severity": r.severity, "where": item.place.where, "context": item.context(),
        "decision": r.decision, "decided": r.decided, "undoable": not (r.recorded and r.severity == "stop"),
        "fingerprint": r.fingerprint,
    }


def label_choices(d: Draft, settings: Settings) -> list[str]:
    """The labels a replacement may be changed to: every label in the case's draft, each
    recorded role's, and the placeholders (a letter past the last one in use)."""
    from cdop.confidentiality.pseudonymise import Pseudonymiser, role_counts

    labels = settings.policy.pseudonyms
    out: dict[str, None] = {}
    for item in d.numbered():
        out[item.replacement.default_label] = None
        out[item.replacement.label] = None
    p = Pseudonymiser(labels, lambda k, t: "", role_counts(i.role for i in d.gate.identifiers))
    for ident in d.gate.identifiers:
        if ident.role and ident.kind != "date":
            out[p.default_label(Finding(ident.field, ident.kind, 0, 0, "stop", ident.role), "")] = None
    for kind in ("address", "nhs_number", "date", "phone", "email"):
        out[labels.placeholders.get(kind, labels.placeholders["default"])] = None
    return sorted(out, key=lambda s: (s.startswith("["), s.lower()))


def replacements(settings: Settings, case_number: str, *, today: dt.date) -> dict[str, Any]:
    """The case's draft replacements, numbered, with what was decided; and the current
    report's version and status. Nothing in it is an original value."""
    with unit_of_work(settings) as uow:
        case = _load_case(uow, case_number)
        d = draft(uow.session, case, settings, today)
        report = latest_report(uow.session, case.id)
        numbered = d.numbered()
        numbers = {id(i.replacement): i.number for i in numbered}
        items = [_item(i) for i in numbered]
        # The same words again (the same kind and fingerprint) are decided with the first.
        first: dict[tuple[str, str], int] = {}
        for item in items:
            item["same_as"] = first.setdefault((item["kind"], item["fingerprint"]), item["number"])
            if item["same_as"] != item["number"]:
                item["same_as_label"] = items[item["same_as"] - 1]["label"]
        return {
            "case_number": case.case_number,
            "report": ({"version": report.version, "status": report.status} if report else None),
            "replacements": items,
            "undecided": [i["number"] for i in items if not i["decided"] and i["same_as"] == i["number"]],
            "labels": label_choices(d, settings),
            "places": [{"where": p.where, "segments": [
                {"text": seg.text, "number": numbers[id(seg.replacement)] if seg.replacement is not None else None}
                for seg in p.draft.segments]} for p in d.places],
        }


def _pick(d: Draft, number: int, fingerprint: str | None) -> Numbered:
    numbered = d.numbered()
    if not numbered:
        raise InputError([Problem("replacement", "the draft has no replacement")])
    if not 1 <= number <= len(numbered):
        raise InputError([Problem("replacement", f"must be between 1 and {len(numbered)}")])
    item = numbered[number - 1]
    if fingerprint is not None and item.replacement.fingerprint != fingerprint:
        raise InputError([Problem("replacement", "the draft changed since you looked: look again")])
    return item


def decide(settings: Settings, case_number: str, number: int, *, decision: str, actor: str,
           today: dt.date, label: str | None = None, reason: str | None = None,
           fingerprint: str | None = None) -> dict[str, Any]:
    """Keep replacement `number`, change it to `label`, or undo it (a false alarm:
    `reason` required). The same text everywhere in the case follows the decision.
    `fingerprint`, when given (the page sends the one it showed), must still be that
    replacement's: a draft that changed since is refused, not decided blind."""
    reader = RowReader({"decision": decision, "label": label, "reason": reason})
    choice = reader.choice("decision", {d: d for d in DECISIONS}, required=True)
    label = reader.text("label", required=choice == LABEL, max_len=LABEL_MAX)
    reason = reader.text("reason", required=choice == UNDO, max_len=REASON_MAX, multiline=True)
    if reader.problems:
        raise InputError(reader.problems)
    with unit_of_work(settings, actor) as uow:
        case = _load_case(uow, case_number)
        if case.closed_on is not None:
            raise InputError([Problem("case", "is closed")])
        d = draft(uow.session, case, settings, today)
        item = _pick(d, number, fingerprint)
        r = item.replacement
        if choice == UNDO and r.recorded and r.severity == "stop":
            raise InputError([Problem("decision", "this is a recorded identifier as written: it cannot be "
                                                  "undone; change its label if it is the wrong one")])
        if choice == LABEL:
            found = identifier_problem(d.gate, "label", label)
            if found:
                raise InputError([found])
        changes_text = _record(uow, case, item, choice, label, reason, actor)
        result = {"case_number": case.case_number, "replacement": number, "decision": choice,
                  "label": label if choice == LABEL else (r.default_label if choice == KEEP else None),
                  "where": item.place.where, "redrafted": None}
        report = latest_report(uow.session, case.id)
        if changes_text and report is not None and report.status in (AWAITING, BLOCKED):
            uow.session.flush()
            built = _build(uow, settings, case, report.version, today, report=report)
            result["redrafted"] = {"version": built.version, "status": built.status}
        uow.commit()
    return result


def _record(uow: UnitOfWork, case: Case, item: Numbered, choice: str, label: str | None,
            reason: str | None, actor: str) -> bool:
    """Remember the decision (replacing an earlier one), audited; whether it changes the
    draft's text."""
    r = item.replacement
    row = uow.session.scalar(select(ReplacementDecision).where(
        ReplacementDecision.case_id == case.id, ReplacementDecision.finding_kind == r.kind,
        ReplacementDecision.fingerprint == r.fingerprint))
    before = (row.decision, row.label) if row is not None else (None, None)
    if row is None:
        row = ReplacementDecision(case_id=case.id, finding_kind=r.kind, fingerprint=r.fingerprint,
                                  decision=choice, decided_by=actor)
        uow.session.add(row)
    row.decision, row.decided_by, row.decided_at = choice, actor, utcnow()
    row.label = label if choice == LABEL else None
    row.reason = reason if choice == UNDO else None
    uow.session.flush()
    details = dict(case_id=case.id, replacement=item.number, kind=r.kind, field=r.field, layer=r.layer,
                   severity=r.severity, where=item.place.where, decision=choice,
                   label=row.label or r.default_label)
    if choice == UNDO:
        uow.audit("replacement_undone", "replacement_decision", row.id, _reason=reason, **details)
    else:
        uow.audit("replacement_" + ("kept" if choice == KEEP else "relabelled"), "replacement_decision", row.id,
                  **details)
    # A flag undone is "not an identifier" for the case report wherever else its gate looks
    # (the case page's findings); undoing that decision again takes it back.
    if r.severity == "flag" and (choice == UNDO or before[0] == UNDO):
        finding = Finding(r.field, r.kind, r.start, r.end, "flag", r.role, r.confidence, r.layer)
        record_decision(uow, case.id, CASE_REPORT, finding, item.place.original,
                        NOT_IDENTIFIER if choice == UNDO else REDACT, actor)
    return _written(*before) != _written(choice, row.label)


def _written(decision: str | None, label: str | None) -> str | None:
    """What a decision makes the draft say instead of the default label (None: the default)."""
    return "\x00undo" if decision == UNDO else (label if decision == LABEL else None)


def reveal(settings: Settings, case_number: str, number: int, *, reason: str, actor: str,
           today: dt.date, fingerprint: str | None = None) -> dict[str, Any]:
    """The original text of replacement `number`, for a coordinator who states why:
    audited like every reveal (who, when, which case, the reason encrypted)."""
    reader = RowReader({"reason": reason})
    reason = reader.text("reason", required=True, max_len=REASON_MAX)
    if reader.problems:
        raise InputError(reader.problems)
    with unit_of_work(settings, actor) as uow:
        case = _load_case(uow, case_number)
        d = draft(uow.session, case, settings, today)
        item = _pick(d, number, fingerprint)
        r = item.replacement
        uow.audit_reveal("replacement_revealed", "case", case.id, case.id, reason=reason, replacement=number,
                         kind=r.kind, field=r.field, where=item.place.where)
        uow.commit()
        return {"number": number, "original": item.place.original[r.start:r.end], "label": r.label,
                "where": item.place.where}
