"""One case for the coordinator: its stage, requests, investigations and timeline (case
number, agency codes and dates; never an identifier)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from cdop.config import Policy
from cdop.rules.chase_ladder import ladder_label
from cdop.store.models import (
    Agency,
    AuditEvent,
    Case,
    CaseReport,
    MeetingAllocation,
    OutboxMessage,
    PanelMeeting,
)
from cdop.taxonomy import taxonomy


@dataclass
class CaseView:
    case_number: str
    stage: str
    notified_on: dt.date
    closed_on: dt.date | None
    requests: list[dict] = field(default_factory=list)
    investigations: list[dict] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)
    meeting: dict | None = None
    age_band: str = ""
    expected: bool = True
    # cdop.rules.review_meeting: an unexpected death with no CDRM or joint agency response.
    no_review_meeting: bool = False
    flags: list[str] = field(default_factory=list)


def case_view(session: Session, case_number: str, policy: Policy) -> CaseView | None:
    """A case as the operations pages show it (no identifier), or None if there is none."""
    from cdop.rules.review_meeting import FLAG_LABEL as REVIEW_MEETING_FLAG
    from cdop.rules.review_meeting import case_lacks_review_meeting
    from cdop.rules.stages import case_stage

    found = session.scalar(select(Case).where(Case.case_number == case_number.strip().upper()))
    if found is None:
        return None
    labels = taxonomy().labels("investigation")
    view = CaseView(found.case_number, case_stage(found).value, found.notified_on, found.closed_on,
                    age_band=found.age_band, expected=found.death_expected,
                    no_review_meeting=case_lacks_review_meeting(found))
    if view.no_review_meeting:
        view.flags.append(REVIEW_MEETING_FLAG)
    for r in found.requests:
        view.requests.append(
            {
                "agency": r.agency.code,
                "agency_name": r.agency.name,
                "status": r.status,
                "requested_on": r.requested_on,
                "due_on": r.due_on,
                "returned_on": r.returned_on,
                "ladder": ladder_label(policy, r.ladder_step),
            }
        )
    for i in found.investigations:
        view.investigations.append(
            {
                "kind": i.kind,
                "label": labels.get(i.kind, i.kind),
                "status": i.status,
                "started_on": i.started_on,
                "concluded_on": i.concluded_on,
            }
        )
    for rep in session.scalars(
        select(CaseReport).where(CaseReport.case_id == found.id).order_by(CaseReport.version.desc())
    ):
        view.reports.append(
            {
                "id": rep.id,
                "version": rep.version,
                "status": rep.status,
                "built_on": rep.built_on,
                "gate_findings": list(rep.gate_findings or []),
                "decided_by": rep.decided_by,
                "decided_at": rep.decided_at,
                "comments": rep.comments,
            }
        )
    allocation = session.execute(
        select(PanelMeeting.meets_on, PanelMeeting.kind, MeetingAllocation.pack)
        .join(MeetingAllocation, MeetingAllocation.meeting_id == PanelMeeting.id)
        .where(MeetingAllocation.case_id == found.id)
    ).first()
    if allocation:
        view.meeting = {"meets_on": allocation[0], "kind": allocation[1], "pack": allocation[2]}
    return view


def case_timeline(session: Session, case_number: str, *, limit: int = 300) -> list[dict]:
    """What happened to a case, oldest first: the audit trail and the messages queued for it.
    Audit details carry no identifiers (a house rule); message bodies are never stored."""
    case_id = session.scalar(select(Case.id).where(Case.case_number == case_number.strip().upper()))
    if case_id is None:
        return []
    events = [
        {
            "at": e.occurred_at,
            "source": "audit",
            "action": e.action,
            "actor": e.actor,
            "entity": e.entity,
            "details": {k: v for k, v in (e.details or {}).items() if k != "case_number"},
        }
        for e in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    ]
    agency = aliased(Agency)
    for m in session.execute(
        select(OutboxMessage.created_at, OutboxMessage.kind, OutboxMessage.sequence,
               OutboxMessage.to_addrs, OutboxMessage.status, OutboxMessage.sent_at, agency.code)
        .outerjoin(agency, agency.id == OutboxMessage.agency_id)
        .where(OutboxMessage.case_id == case_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    ):
        events.append(
            {
                "at": m.created_at,
                "source": "outbox",
                "action": "message_queued",
                "actor": "outbox",
                "entity": m.kind,
                "details": {
                    "kind": m.kind,
                    "sequence": m.sequence,
                    "agency": m.code,
                    "to": ", ".join(m.to_addrs or []),
                    "status": m.status,
                    "sent_at": m.sent_at.isoformat(timespec="minutes") if m.sent_at else None,
                },
            }
        )
    events.sort(key=lambda e: e["at"])
    return events[-limit:]


CONTEXT = 40  # characters either side of a finding


def gate_findings_in_context(session: Session, case_number: str, settings) -> list[dict]:
    """What the gate finds in a case's content, in context, for the coordinator to redact:
    where (e.g. "chronology entry 17 (RUH)"), the field or kind, whether it stops the
    release or is a flag, and the words around it with EVERY finding in the window
    replaced by its field name, so the page itself shows no identifier."""
    from sqlalchemy.orm import selectinload

    from cdop.confidentiality.detectors import office_policy
    from cdop.confidentiality.identifiers import case_gate
    from cdop.panel.report_content import content_places
    from cdop.store.models import AgencyRequest

    case = session.scalar(
        select(Case).where(Case.case_number == case_number)
        .options(selectinload(Case.requests).selectinload(AgencyRequest.agency),
                 selectinload(Case.investigations)))
    if case is None:
        return []
    gate = case_gate(session, case, document="case_report",
                     policy=office_policy(settings, "case_report"))
    shown = []
    for where, text in content_places(session, case, settings):
        found = gate.findings(text)
        for f in found:
            lo, hi = max(0, f.start - CONTEXT), min(len(text), f.end + CONTEXT)
            # Mask every finding in the window; where two overlap, this row's own wins.
            spans = [f] + [o for o in found if o is not f and (o.end <= f.start or o.start >= f.end)]
            parts, at = [], lo
            for other in sorted(spans, key=lambda s: s.start):
                if other.end <= lo or other.start >= hi or other.start < at:
                    continue
                parts.append(("text", text[at:other.start]))
                parts.append(("this" if other is f else "other", other.field))
                at = other.end
            parts.append(("text", text[at:hi]))
            shown.append({"where": where, "field": f.field, "severity": f.severity,
                          "parts": [(k, " ".join(v.split()) if k == "text" else v) for k, v in parts],
                          "clipped": (lo > 0, hi < len(text))})
    return shown
