"""stored_files: case files kept in the database, for a deployment on more than one machine

Returned forms, attachments and case reports were files under CDOP_HOME: every machine
that wrote or read one had to share that folder. With CDOP_FILE_STORE=database (the
default on PostgreSQL) they are rows here, encrypted as they were on disk, written in the
same transaction as the row that points at them.

Revision ID: 0022_stored_files
Revises: 0021_signals
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_stored_files"
down_revision = "0021_signals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stored_files")),
    )


def downgrade() -> None:
    op.drop_table("stored_files")
