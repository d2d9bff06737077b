"""The audit trail as the coordinator reads it: every time identifiers were shown or sent
(`REVEALS`), or every event, newest first, with the case number, who, what and why."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.store.models import AuditEvent, Case
from cdop.views.paging import PAGE_SIZE, Page, page_number, paginate

# The actions that showed or sent a case's identifiers (or a decrypted report) to someone.
REVEALS = ("identifiers_viewed", "report_exported", "identifiers_sent")


def audit_events(session: Session, *, reveals_only: bool = True, page: int = 1,
                 size: int = PAGE_SIZE) -> Page:
    query = (
        select(AuditEvent.occurred_at, Case.case_number, AuditEvent.actor, AuditEvent.action,
               AuditEvent.reason, AuditEvent.details)
        .outerjoin(Case, Case.id == AuditEvent.case_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    counted = select(AuditEvent.id)  # the same events, without the join for the case number
    if reveals_only:
        query = query.where(AuditEvent.action.in_(REVEALS))
        counted = counted.where(AuditEvent.action.in_(REVEALS))
    rows, total = paginate(session, query, page, size, counted=counted)
    return Page(
        [
            {"occurred_at": at, "case_number": number, "actor": actor, "action": action,
             "reason": reason, "agency": (details or {}).get("agency")}
            for at, number, actor, action, reason, details in rows
        ],
        page_number(page),
        size,
        total,
    )
