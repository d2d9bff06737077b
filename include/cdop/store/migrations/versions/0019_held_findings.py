"""held findings: where the gate holds a statutory output, and the coordinator's releases

Revision ID: 0019_held_findings
Revises: 0016_page_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_held_findings"
down_revision = "0018_portal_link_digests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("output", sa.String(length=60), nullable=False),
        sa.Column("document", sa.String(length=120), nullable=False),
        sa.Column("section", sa.String(length=160), nullable=True),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("column", sa.String(length=80), nullable=True),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("released_by", sa.String(length=120), nullable=True),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('held', 'released')", name=op.f("ck_held_findings_status")),
        sa.CheckConstraint("severity IN ('stop', 'flag')", name=op.f("ck_held_findings_severity")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_held_findings_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_findings")),
    )
    with op.batch_alter_table("held_findings", schema=None) as batch_op:
        batch_op.create_index("ix_held_findings_output_status", ["output", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("held_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_held_findings_output_status")
    op.drop_table("held_findings")
