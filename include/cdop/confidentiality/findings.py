"""What the gate finds in a text for one case, in context, for the coordinator (the CLI
now, the pages later): each finding's field or kind, line:column, severity and a short
window of the text around it with the identifier itself masked; and the coordinator's
decision on a flag, remembered for that case and document, and audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from cdop.confidentiality.decisions import DECISIONS, NOT_IDENTIFIER, fingerprint, fingerprints
from cdop.confidentiality.detectors import DOCUMENT_KINDS, MESSAGES, office_policy
from cdop.confidentiality.gate import Finding
from cdop.confidentiality.identifiers import case_gate
from cdop.store.db import unit_of_work
from cdop.store.lookups import NotFound
from cdop.store.models import Case, GateDecision
from cdop.validation import InputError, Problem
from cdop.validation import case_number as checked_number

CONTEXT = 30  # characters either side


@dataclass(frozen=True)
class Located:
    number: int  # 1-based, in text order: what `cdop gate decide --finding` takes
    field: str
    kind: str
    severity: str
    line: int
    column: int
    context: str  # the window around it, the finding itself masked
    message: str = ""  # what the coordinator reads beside it, where its kind needs more words

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def mask(text: str, finding: Finding) -> str:
    before = text[max(0, finding.start - CONTEXT):finding.start]
    after = text[finding.end:finding.end + CONTEXT]
    masked = "[" + finding.field + "]"
    return " ".join(f"{before}{masked}{after}".split())


# The columns of a case the gate reads (case_identifiers): read as one row of the table,
# not as a Case object, so a check does not pay for configuring every ORM mapper.
_CASE_COLUMNS = ("id", "case_number", "forenames", "surname", "date_of_birth", "date_of_death",
                 "nhs_number", "postcode", "address", "notifier_name")


def _case_row(uow, case_number: str):
    number = checked_number(case_number)
    table = Case.__table__
    row = uow.session.execute(select(*(table.c[c] for c in _CASE_COLUMNS))
                              .where(table.c.case_number == number)).one_or_none()
    if row is None:
        raise NotFound(f"no case {number}")
    return row


def _gate(uow, settings, case_number: str, document: str):
    if document not in DOCUMENT_KINDS:
        raise InputError([Problem("document", f"must be one of {', '.join(DOCUMENT_KINDS)}")])
    case = _case_row(uow, case_number)
    return case, case_gate(uow.session, case, document=document, policy=office_policy(settings, document))


def findings_in_context(settings, case_number: str, text: str, document: str = "text") -> list[Located]:
    """The gate's findings in `text` for a case and a document kind, in text order."""
    with unit_of_work(settings) as uow:
        _, gate = _gate(uow, settings, case_number, document)
        found = gate.findings(text)
    out = []
    for n, f in enumerate(found, start=1):
        line, col = _line_col(text, f.start)
        out.append(Located(n, f.field, f.kind, f.severity, line, col, mask(text, f), MESSAGES.get(f.kind, "")))
    return out


def decide(settings, case_number: str, text: str, document: str, number: int, decision: str,
           actor: str) -> dict[str, Any]:
    """Record the coordinator's decision on flag `number` of `text` (as numbered by
    findings_in_context). Only flags can be decided: what stops the release is redacted."""
    if decision not in DECISIONS:
        raise InputError([Problem("decision", f"must be one of {', '.join(DECISIONS)}")])
    with unit_of_work(settings, actor) as uow:
        case, gate = _gate(uow, settings, case_number, document)
        found = gate.findings(text)
        if not 1 <= number <= len(found):
            raise InputError([Problem("finding", f"must be between 1 and {len(found)}")])
        f = found[number - 1]
        if f.severity != "flag":
            raise InputError([Problem("finding", "stops the release: redact it, it cannot be marked")])
        record_decision(uow, case.id, document, f, text, decision, actor)
        uow.commit()
    return {"case_number": case_number, "document": document, "finding": number, "field": f.field,
            "decision": decision, "dismissed": decision == NOT_IDENTIFIER}


def record_decision(uow, case_id: int, document: str, finding: Finding, text: str, decision: str,
                    actor: str) -> GateDecision:
    """Remember the coordinator's decision on one flag of `text` for a case and a
    document kind (the flagged text kept only as its fingerprint), audited; the caller
    commits. Deciding again replaces the decision."""
    if decision not in DECISIONS:
        raise InputError([Problem("decision", f"must be one of {', '.join(DECISIONS)}")])
    if finding.severity != "flag":
        raise InputError([Problem("finding", "stops the release: redact it, it cannot be marked")])
    flagged = text[finding.start:finding.end]
    fp = fingerprint(finding.kind, flagged)
    # An earlier decision may be under an older key (or the older index derivation).
    row = uow.session.scalar(select(GateDecision).where(
        GateDecision.case_id == case_id, GateDecision.document == document,
        GateDecision.finding_kind == finding.kind,
        GateDecision.fingerprint.in_(fingerprints(finding.kind, flagged))).limit(1))
    if row is None:
        row = GateDecision(case_id=case_id, document=document, finding_kind=finding.kind, fingerprint=fp,
                           decision=decision, decided_by=actor)
        uow.session.add(row)
    else:
        row.decision, row.decided_by = decision, actor
    uow.session.flush()
    uow.audit("gate_decision", "gate_decision", row.id, case_id=case_id, document=document,
              kind=finding.kind, field=finding.field, decision=decision)
    return row
