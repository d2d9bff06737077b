"""One case for the coordinator: its stage, requests, investigations and timeline (case
number, agency codes and dates; never an identifier)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, selectinload

from cdop.config import Policy
from cdop.rules.chase_ladder import ladder_label
from cdop.store.models import (
    Agency,
    AgencyRequest,
    AuditEvent,
    Case,
    CaseReport,
    MeetingAllocation,
    OutboxMessage,
    PanelMeeting,
    PortalForm,
)
from cdop.store.statuses import OutboxStatus
from cdop.taxonomy import taxonomy
from cdop.wording import plural


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
    ncmd_notified_at: dt.datetime | None = None
    # When the NCMD must be told by, while an open case has not told it (for the page's
    # overdue flag; never shown: it would give the day of death).
    ncmd_deadline: dt.datetime | None = None
    family_fields: list[str] = field(default_factory=list)  # which were recorded, not their values
    identifier_fields: list[str] = field(default_factory=list)  # the same


def case_view(session: Session, case_number: str, policy: Policy) -> CaseView | None:
    """A case as the operations pages show it (no identifier), or None if there is none."""
    from cdop.rules.review_meeting import FLAG_LABEL as REVIEW_MEETING_FLAG
    from cdop.rules.review_meeting import case_lacks_review_meeting
    from cdop.rules.stages import case_stage

    # Its requests (each with its agency), processes and allocation in a statement each,
    # not one per request's agency as the page reads them.
    found = session.scalar(
        select(Case).where(Case.case_number == case_number.strip().upper())
        .options(selectinload(Case.requests).joinedload(AgencyRequest.agency),
                 selectinload(Case.investigations), selectinload(Case.allocation))
    )
    if found is None:
        return None
    labels = taxonomy().labels("investigation")
    view = CaseView(found.case_number, case_stage(found).value, found.notified_on, found.closed_on,
                    age_band=found.age_band, expected=found.death_expected,
                    no_review_meeting=case_lacks_review_meeting(found))
    if view.no_review_meeting:
        view.flags.append(REVIEW_MEETING_FLAG)
    view.ncmd_notified_at = found.ncmd_notified_at
    if found.ncmd_notified_at is None and found.closed_on is None:
        from cdop.rules.ncmd import ncmd_deadline

        view.ncmd_deadline = ncmd_deadline(found.date_of_death, policy.ncmd_deadline_hours)
    view.family_fields = sorted(k for k, v in (found.family_context or {}).items() if v not in (None, ""))
    from cdop.store.models import CaseIdentifier

    view.identifier_fields = sorted(set(session.scalars(
        select(CaseIdentifier.field).where(CaseIdentifier.case_id == found.id))))
    # The portal form's state and receipt only: its content is read (and audited) on the
    # return's own page.
    portal = {request_id: (state, reference) for request_id, state, reference in session.execute(
        select(PortalForm.request_id, PortalForm.status, PortalForm.reference)
        .where(PortalForm.request_id.in_([r.id for r in found.requests])))} if found.requests else {}
    for r in found.requests:
        state, reference = portal.get(r.id, (None, None))
        view.requests.append(
            {
                "agency": r.agency.code,
                "agency_name": r.agency.name,
                "status": r.status,
                "requested_on": r.requested_on,
                "due_on": r.due_on,
                "returned_on": r.returned_on,
                "ladder": ladder_label(policy, r.ladder_step),
                "portal": state,  # None (not opened), draft, submitted or reopened
                "portal_reference": reference,
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
                "decided_by_name": person(rep.decided_by) if rep.decided_by else None,
                "decided_at": rep.decided_at,
                "comments": rep.comments,
                "readable": bool(rep.html_path),
            }
        )
    allocation = session.execute(
        select(PanelMeeting.meets_on, PanelMeeting.kind, MeetingAllocation.pack, PanelMeeting.starts_at,
               PanelMeeting.id, MeetingAllocation.outcome)
        .join(MeetingAllocation, MeetingAllocation.meeting_id == PanelMeeting.id)
        .where(MeetingAllocation.case_id == found.id)
    ).first()
    if allocation:
        view.meeting = {"meets_on": allocation[0], "kind": allocation[1], "pack": allocation[2],
                        "starts_at": allocation[3], "id": allocation[4], "outcome": allocation[5]}
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
            "entity_id": e.entity_id if e.entity == "agency_request" else None,
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
    from cdop.store.models import AgencyRequest

    codes = dict(session.execute(
        select(AgencyRequest.id, Agency.code).join(Agency, Agency.id == AgencyRequest.agency_id)
        .where(AgencyRequest.case_id == case_id)).all())
    events = _one_line_per_event(events, codes)[-limit:]
    agencies = _request_agencies(session, case_id)
    for e in events:
        e["what"] = describe_event(e, agencies)
        e["who"] = person(e["actor"])
    return events


# Messages whose sending has a sentence of its own in the audit trail.
_AUDITED_KINDS = {"agency_request", "chase_reminder", "chase_escalation"}
# What the office does around sending a request, told as part of its one line.
_FOLDED_INTO_REQUEST = {"portal_link_issued": "portal", "identifiers_sent": "secure"}


def _one_line_per_event(events: list[dict], codes: dict[int, str]) -> list[dict]:
    """One line for one thing that happened. Sending a request used to read as five
    (portal link issued, message queued, identifiers sent, request sent, message sent):
    the portal link and the secure route are told on the request's own line, a message
    that went is told once (by its audit sentence, or as "... sent"), and the bare
    "message sent" entries, kept in the audit trail, are left out here."""
    by_code = {code: request_id for request_id, code in codes.items()}

    def request_of(e: dict) -> int | None:  # a portal link names its request, a reveal its agency
        return e.get("entity_id") if e.get("entity_id") is not None else by_code.get(e["details"].get("agency"))

    folded: dict[int, set[str]] = {}
    for e in events:
        if e["source"] == "audit" and e["action"] in _FOLDED_INTO_REQUEST and request_of(e) is not None:
            folded.setdefault(request_of(e), set()).add(_FOLDED_INTO_REQUEST[e["action"]])
    sent = {e.get("entity_id") for e in events if e["source"] == "audit" and e["action"] == "request_sent"}
    out = []
    for e in events:
        if e["source"] == "audit":
            if e["action"] == "message_sent":
                continue
            if e["action"] in _FOLDED_INTO_REQUEST and request_of(e) in sent:
                continue
            if e["action"] == "request_sent":
                e["details"] = {**e["details"], "with": sorted(folded.get(e.get("entity_id"), ()))}
        elif e["details"].get("status") == OutboxStatus.SENT and e["details"].get("kind") in _AUDITED_KINDS:
            continue
        out.append(e)
    return out


def _request_agencies(session: Session, case_id: int) -> dict[int, str]:
    from cdop.store.models import AgencyRequest

    return dict(session.execute(
        select(AgencyRequest.id, Agency.name).join(Agency, Agency.id == AgencyRequest.agency_id)
        .where(AgencyRequest.case_id == case_id)).all())


# The system's own actors, by the name a coordinator would give them.
SYSTEM_ACTORS = {"demo": "Coordinator (demo)", "outbox": "Outbox", "portal": "Portal", "system": "CDOP"}


def person(actor: str) -> str:
    """Who acted, one way: a person by the plain name they sign in with (older entries said
    "airflow:admin" or "airflow-ui:admin" for the same person); a scheduled task as
    "Scheduled task" with its name; the outbox, the portal and the demo by a display name."""
    prefix, _, rest = actor.partition(":")
    if prefix in ("airflow", "airflow-ui") and rest:
        if rest.startswith("cdop_") or rest == "task-failure":
            return "Scheduled task (" + rest.removeprefix("cdop_").replace("_", " ") + ")"
        return rest
    if prefix == "portal":
        return "Portal"
    return SYSTEM_ACTORS.get(actor, actor)


_KIND_WORDS = {
    "agency_request": "Information request",
    "agency_reminder": "Reminder",
    "agency_escalation": "Escalation",
    "daily_digest": "Daily digest",
}


def describe_event(e: dict, agencies: dict[int, str]) -> str:
    """An event as a sentence a CDOP office would write ("Return received from GP practice
    A, with a file"); built from codes, counts, dates and agency names only."""
    d = e.get("details") or {}
    action = e["action"]
    agency = agencies.get(e.get("entity_id") or -1) or d.get("agency") or "the agency"
    if e["source"] == "outbox":
        words = _KIND_WORDS.get(d.get("kind") or "", str(d.get("kind") or "message").replace("_", " ").capitalize())
        to = f" to {d['agency']}" if d.get("agency") else ""
        if d.get("kind") == "portal_return_flagged":
            # To the coordinator, about that agency's return: never to the agency.
            words = "The gate's findings in the " + (f"{d['agency']} " if d.get("agency") else "") + \
                "portal return, for the coordinator,"
            to = ""
        state = {OutboxStatus.SENT: "sent", OutboxStatus.PENDING: "waiting to be sent",
                 OutboxStatus.HELD: "held (see the outbox)", OutboxStatus.SENDING: "being sent"}.get(d.get("status") or "", d.get("status") or "")
        if d.get("status") == OutboxStatus.SENT:
            return f"{words}{to} sent"
        return f"{words}{to} queued; {state}".rstrip("; ")
    labels = taxonomy().labels("investigation")
    statuses = taxonomy().labels("investigation_status")
    sentences = {
        "notification_registered": lambda: "Notification registered"
        + (f"; requests to {d['agencies']} agencies" if d.get("agencies") else ""),
        "request_sent": lambda: f"Information request sent to {agency}"
        + (f", due {d['due_on']}" if d.get("due_on") else "")
        + {("portal", "secure"): "; with the child's details (secure route) and a portal link",
           ("portal",): "; with a portal link", ("secure",): "; with the child's details (secure route)"
           }.get(tuple(d.get("with") or ()), ""),
        "chase_sent": lambda: f"Reminder {d.get('step')} sent to {agency}" if d.get("chase") != "escalation"
        else f"Escalation sent about {agency}'s return (step {d.get('step')})",
        "return_recorded": lambda: f"Return received from {agency}"
        + (", with a file" if d.get("file_attached") else ", without a file"),
        "return_content_recorded": lambda: f"Content of the {agency} return recorded: "
        + ", ".join(p for p in (("the summary" if d.get("summary") else ""),
                                (plural(d["entries"], "chronology entry", "chronology entries") if d.get("entries") else "")) if p)
        + ("; earlier entries replaced" if d.get("replaced") else ""),
        "return_summary_amended": lambda: f"Summary of the {agency} return amended",
        "chronology_entry_amended": lambda: "A chronology entry amended",
        "chronology_entry_removed": lambda: "A chronology entry removed",
        "chronology_viewed": lambda: "Chronology read",
        "request_waived": lambda: f"Return from {agency} waived",
        "investigation_recorded": lambda: f"{labels.get(d.get('kind'), d.get('kind') or 'Process')}: "
        + statuses.get(d.get("status"), str(d.get("status") or "")).lower()
        + (f" on {d['on']}" if d.get("on") else ""),
        "ncmd_notified": lambda: "National Child Mortality Database told of the death",
        "family_recorded": lambda: "Family circumstances recorded"
        + (f"; {plural(d['identifiers_added'], 'identifier')} added" if d.get("identifiers_added") else ""),
        "identifiers_viewed": lambda: "Identifiers shown, with a reason (audited)",
        "identifiers_sent": lambda: f"Identifiers sent to {agency} by the secure route",
        "report_built": lambda: f"Case report version {d.get('version')} built",
        "report_blocked": lambda: f"Case report version {d.get('version')} stopped by the anonymisation gate",
        "report_check_requested": lambda: "Coordinator's check of the case report requested",
        "report_approved": lambda: f"Case report version {d.get('version')} approved for the panel",
        "report_returned": lambda: f"Case report version {d.get('version')} returned with comments",
        "report_read": lambda: f"Case report version {d.get('version')} read",
        "report_exported": lambda: "Case report exported, with a reason (audited)",
        "case_allocated": lambda: "Allocated to a panel meeting",
        "case_outcome_recorded": lambda: "The panel's outcome recorded",
        "analysis_recorded": lambda: "The panel's analysis recorded",
        "recommendation_updated": lambda: "A recommendation's progress recorded",
        "gate_decision": lambda: "Anonymisation gate decision recorded",
        "message_released": lambda: "Held message released",
        "message_sent": lambda: "Message sent",
        "case_closed": lambda: "Case closed",
    }
    make = sentences.get(action)
    return make() if make else action.replace("_", " ").capitalize()


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
