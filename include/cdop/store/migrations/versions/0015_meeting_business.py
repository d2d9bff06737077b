"""meeting business: time of day, minutes (encrypted), attendance and each case's outcome

Revision ID: 0015_meeting_business
Revises: 0010_gate_decisions
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_meeting_business"
down_revision = "0013_analysis_lines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("panel_meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_at", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("minutes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("minutes_recorded_on", sa.Date(), nullable=True))
    with op.batch_alter_table("meeting_allocations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("outcome_on", sa.Date(), nullable=True))
    op.create_table(
        "meeting_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["panel_meetings.id"],
                                name=op.f("fk_meeting_attendance_meeting_id_panel_meetings"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["panel_members.id"],
                                name=op.f("fk_meeting_attendance_member_id_panel_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendance")),
        sa.UniqueConstraint("meeting_id", "member_id", name="uq_meeting_attendance_meeting_member"),
    )
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_attendance_meeting_id"), ["meeting_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_attendance_meeting_id"))
    op.drop_table("meeting_attendance")
    with op.batch_alter_table("meeting_allocations", schema=None) as batch_op:
        batch_op.drop_column("outcome_on")
        batch_op.drop_column("outcome")
    with op.batch_alter_table("panel_meetings", schema=None) as batch_op:
        batch_op.drop_column("minutes_recorded_on")
        batch_op.drop_column("minutes")
        batch_op.drop_column("starts_at")
