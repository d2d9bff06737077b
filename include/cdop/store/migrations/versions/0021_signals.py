"""signals: the nudge a rebuilt report gives Airflow, kept in the database

The report-check signal was a file under CDOP_HOME that the triggerer and whoever rebuilt
the report had to share: one host, or a shared volume. As a row it is raised in the same
transaction as the rebuild and taken by a trigger polling the table, from any machine
that reaches the database.

Revision ID: 0021_signals
Revises: 0020_outbox_outcomes
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_signals"
down_revision = "0020_outbox_outcomes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
    )
    op.create_index(op.f("ix_signals_name"), "signals", ["name"])


def downgrade() -> None:
    op.drop_index(op.f("ix_signals_name"), table_name="signals")
    op.drop_table("signals")
