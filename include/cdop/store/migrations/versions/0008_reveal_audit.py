"""audit events: the stated reason for each reveal of identifiers (encrypted)

Revision ID: 0008_reveal_audit
Revises: 0007_perf_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_reveal_audit"
down_revision = "0007_perf_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("reason")
