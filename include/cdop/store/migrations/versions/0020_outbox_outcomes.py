"""outbox outcomes by cause: whom a partly refused message reached; mail outages

`outbox_messages.delivered_to` keeps the recipients a server accepted a message for when
it refused it for others, so a release sends it only to those who did not get it.
`mail_outages` keeps each time the mail server refused us rather than a message (the
sender refused, no connection, the same refusal for every message): one row an outage,
at most one open (`current` is true on it, NULL once it ended), so operations are told
once per outage, not once per run.

Revision ID: 0020_outbox_outcomes
Revises: 0019_held_findings
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_outbox_outcomes"
down_revision = "0019_held_findings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivered_to", sa.JSON(), nullable=True))
    op.create_table(
        "mail_outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outages")),
        sa.UniqueConstraint("current", name=op.f("uq_mail_outages_current")),
    )


def downgrade() -> None:
    op.drop_table("mail_outages")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("delivered_to")
