"""Every status a row can be in, once: each column's values as a `StrEnum`.

The values are the strings stored since the first migration (a member compares and
formats as its value: `RequestStatus.SENT == "sent"`, and templates print it as it
always was). The models' CHECK constraints are built from these classes (migration
0023_status_checks), so a misspelt status is refused by the database, not stored.
"""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    """An agency's reporting form: pending (not yet asked) -> sent -> returned | waived."""

    PENDING = "pending"
    SENT = "sent"
    RETURNED = "returned"
    WAIVED = "waived"


class InvestigationStatus(StrEnum):
    """A parallel process the review waits for."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    CONCLUDED = "concluded"
    NOT_APPLICABLE = "not_applicable"


class OutboxStatus(StrEnum):
    """pending -> sending (claimed) -> sent; a failed attempt returns it to pending; a
    message that fails for a reason of its own is held, one its composer says is no
    longer wanted is cancelled (cdop.sending.delivery)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    HELD = "held"
    CANCELLED = "cancelled"


class ReportStatus(StrEnum):
    """A case report version: blocked (the gate found an identifier), awaiting the
    coordinator's check, then approved or returned."""

    BLOCKED = "blocked"
    AWAITING_CHECK = "awaiting_check"
    APPROVED = "approved"
    RETURNED = "returned"


class AttendanceStatus(StrEnum):
    INVITED = "invited"
    ATTENDED = "attended"
    APOLOGIES = "apologies"


class RecommendationStatus(StrEnum):
    """A recommendation, and each progress update on it (an update is never "agreed")."""

    AGREED = "agreed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NOT_ACCEPTED = "not_accepted"


class RecommendationResponse(StrEnum):
    """The addressed organisation's answer to a recommendation, given through the portal."""

    ACCEPTED = "accepted"
    DECLINED = "declined"


class AnnualReportStatus(StrEnum):
    RELEASED = "released"
    BLOCKED = "blocked"


class HeldStatus(StrEnum):
    """A finding the gate holds a statutory output on, until released as a false alarm."""

    HELD = "held"
    RELEASED = "released"


class FormStatus(StrEnum):
    """What an agency typed into the portal: a draft, submitted, or reopened for changes."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    REOPENED = "reopened"


def check_sql(column: str, values: type[StrEnum]) -> str:
    """The CHECK condition that holds `column` to one of the enum's values."""
    return f"{column} IN ({', '.join(repr(str(v.value)) for v in values)})"


# Each status column with its enum: the models' constraints and the migration read this.
STATUS_COLUMNS: dict[tuple[str, str], type[StrEnum]] = {
    ("agency_requests", "status"): RequestStatus,
    ("investigations", "status"): InvestigationStatus,
    ("outbox_messages", "status"): OutboxStatus,
    ("case_reports", "status"): ReportStatus,
    ("meeting_attendance", "status"): AttendanceStatus,
    ("recommendations", "status"): RecommendationStatus,
    ("recommendation_updates", "status"): RecommendationStatus,
    ("recommendations", "response"): RecommendationResponse,
    ("annual_reports", "status"): AnnualReportStatus,
    ("held_findings", "status"): HeldStatus,
    ("portal_forms", "status"): FormStatus,
}
