"""The outbox page: messages by state and kind, for operations staff (business keys and
subjects, never bodies)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdop.store.models import (
    Agency,
    Case,
    OutboxMessage,
)
from cdop.store.statuses import OutboxStatus
from cdop.views.paging import PAGE_SIZE, Page, count_rows, page_number, page_offset


def outbox_counts(session: Session) -> dict[str, int]:
    return dict(
        session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status)
        ).all()
    )


# The outbox page in time order, newest queued first (the id breaks a tie). Not the id
# alone: a message is not always queued in id order (the demo writes its history story
# by story, each at its own past date).
NEWEST_FIRST = (OutboxMessage.created_at.desc(), OutboxMessage.id.desc())


def outbox_messages(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    case_number: str | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> Page:
    """What went (or is going) to whom and when: kind, recipients, dates, status. The body
    is composed at send time and never stored, so it cannot be shown."""
    query = (
        select(
            OutboxMessage.id,
            OutboxMessage.business_key,
            OutboxMessage.kind,
            OutboxMessage.sequence,
            Case.case_number,
            Agency.code,
            OutboxMessage.to_addrs,
            OutboxMessage.cc_addrs,
            OutboxMessage.secure_route,
            OutboxMessage.business_date,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
        )
        .outerjoin(Case, Case.id == OutboxMessage.case_id)
        .outerjoin(Agency, Agency.id == OutboxMessage.agency_id)
        .order_by(*NEWEST_FIRST)
    )
    # The same messages without the outer joins that only add columns, for the total.
    counted = select(OutboxMessage.id)
    if status:
        query = query.where(OutboxMessage.status == status)
        counted = counted.where(OutboxMessage.status == status)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
        counted = counted.where(OutboxMessage.kind == kind)
    if case_number:
        number = Case.case_number == case_number.strip().upper()
        query = query.where(number)
        counted = counted.join(Case, Case.id == OutboxMessage.case_id).where(number)
    # Deep pages: the page's ids first, by walking the (queued, id) index alone, then the
    # joins for those rows only (OFFSET over the joined query looked up every skipped
    # row's case and agency: page 200 read 10,000 rows of each).
    window = counted.order_by(*NEWEST_FIRST).limit(size).offset(page_offset(page, size))
    rows = session.execute(query.where(OutboxMessage.id.in_(window))).all()
    total = count_rows(session, counted)
    return Page(
        [
            {
                "id": r.id,
                "business_key": r.business_key,
                "kind": r.kind,
                "sequence": r.sequence,
                "case_number": r.case_number,
                "agency": r.code,
                "to": list(r.to_addrs or []),
                "cc": list(r.cc_addrs or []),
                "secure_route": r.secure_route,
                "business_date": r.business_date,
                "queued_at": r.created_at,
                "sent_at": r.sent_at,
                "status": r.status,
                "attempts": r.attempts,
                "last_error": (r.last_error or "")[:200] or None,
            }
            for r in rows
        ],
        page_number(page),
        size,
        total,
    )


def outbox_kinds(session: Session) -> list[str]:
    return list(session.scalars(select(OutboxMessage.kind).distinct().order_by(OutboxMessage.kind)))


def held_messages(session: Session) -> list[dict]:
    """Messages set aside for a reason of their own, oldest first: what the digest and
    the outbox page list for a coordinator to fix and release (kind of reason only)."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.business_key, OutboxMessage.kind,
               OutboxMessage.business_date, OutboxMessage.last_error, Case.case_number)
        .outerjoin(Case, Case.id == OutboxMessage.case_id)
        .where(OutboxMessage.status == OutboxStatus.HELD)
        .order_by(OutboxMessage.id)
    ).all()
    return [{"id": r.id, "business_key": r.business_key, "kind": r.kind,
             "business_date": r.business_date, "reason": r.last_error, "case_number": r.case_number}
            for r in rows]
