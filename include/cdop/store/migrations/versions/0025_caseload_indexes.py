"""indexes for a region's decade: 100k cases, 3M outbox messages

One case's page lists the messages queued for that case, and the chase sweep and the
portal's codes look up the messages of one request: with no index on
outbox_messages.case_id or .request_id each was a scan of the whole outbox, which grows
by every message ever sent (22 -> 74 ms a case page as it grew).

The pipeline page counts stages over the open cases only and the closed from their own
index (closed cases are most of a decade's caseload and their stage is their closed_on);
its lists and the case list page newest or oldest notification first, so the first page
is read from an index in that order rather than by sorting every case.

Revision ID: 0025_caseload_indexes
Revises: 0024_outbox_queued_order
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_caseload_indexes"
down_revision = "0024_outbox_queued_order"
branch_labels = None
depends_on = None

OPEN = sa.text("closed_on IS NULL")


def upgrade() -> None:
    op.create_index("ix_outbox_messages_case_id", "outbox_messages", ["case_id"])
    op.create_index("ix_outbox_messages_request_id", "outbox_messages", ["request_id"])
    op.create_index("ix_cases_closed_on", "cases", ["closed_on"])
    op.create_index("ix_cases_notified", "cases", ["notified_on", "case_number"])
    op.create_index("ix_cases_open_notified", "cases", ["notified_on", "case_number"],
                    postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index("ix_cases_open_notified", table_name="cases")
    op.drop_index("ix_cases_notified", table_name="cases")
    op.drop_index("ix_cases_closed_on", table_name="cases")
    op.drop_index("ix_outbox_messages_request_id", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_case_id", table_name="outbox_messages")
