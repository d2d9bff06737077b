"""outbox page in time order: an index on (created_at, id)

The outbox page lists messages newest queued first and walks this index for a deep
page's ids, as it walked the primary key before.

Revision ID: 0024_outbox_queued_order
Revises: 0023_status_checks
"""

from alembic import op

revision = "0024_outbox_queued_order"
down_revision = "0023_status_checks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_messages_queued", ["created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_queued")
