"""replacements: the coordinator's decision on each replacement of a pseudonymised draft

A case report is drafted from a pseudonymised copy of the agencies' text; the coordinator
keeps, changes or undoes each replacement. The decision is remembered per case under the
finding's kind and a fingerprint of its text (an HMAC, never the text), so a rebuild asks
nothing twice; the reason for undoing one is encrypted. Each report version keeps the
list of what was replaced in it (fingerprints, no text), which approval checks.

Revision ID: 0017_replacements
Revises: 0016_page_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_replacements"
down_revision = "0016_page_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replacement_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("finding_kind", sa.String(length=20), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("decision IN ('keep', 'label', 'undo')", name=op.f("ck_replacement_decisions_decision")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_replacement_decisions_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replacement_decisions")),
        sa.UniqueConstraint("case_id", "finding_kind", "fingerprint", name="uq_replacement_decisions_case_finding"),
    )
    with op.batch_alter_table("replacement_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replacement_decisions_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("case_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replacements", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_reports", schema=None) as batch_op:
        batch_op.drop_column("replacements")
    with op.batch_alter_table("replacement_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replacement_decisions_case_id"))
    op.drop_table("replacement_decisions")
