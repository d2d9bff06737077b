"""indexes for the operations pages at 10,000 cases

The stage rule asks of every case "any request sent? any still open? any process
open?": with (case_id, status) those are answered from the index alone rather than by
reading each request's row. The audit trail lists a few actions (the reveals) among
every event, and the outbox page lists the kinds of message: both were table scans.

Revision ID: 0016_page_indexes
Revises: 0015_meeting_business
"""

from alembic import op

revision = "0016_page_indexes"
down_revision = "0015_meeting_business"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_agency_requests_case_status", "agency_requests", ["case_id", "status"]),
    ("ix_investigations_case_status", "investigations", ["case_id", "status"]),
    ("ix_audit_events_action_occurred", "audit_events", ["action", "occurred_at"]),
    ("ix_outbox_messages_kind", "outbox_messages", ["kind"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
