"""panel: when the coordinator's check of a case report was last offered in Airflow

Revision ID: 0004_panel
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_panel"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_requested_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_reports", schema=None) as batch_op:
        batch_op.drop_column("check_requested_on")
