"""the agencies' return portal: links (token hashes only), drafts, attachments

Revision ID: 0012_portal
Revises: 0010_gate_decisions
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_portal"
down_revision = "0010_gate_decisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_to", sa.String(length=254), nullable=False),
        sa.Column("secure_route", sa.Boolean(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(length=20), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(), nullable=True),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        sa.Column("code_failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column("session_expires_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_portal_links_case_id_cases"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_message_id"], ["outbox_messages.id"],
                                name=op.f("fk_portal_links_outbox_message_id_outbox_messages")),
        sa.ForeignKeyConstraint(["request_id"], ["agency_requests.id"],
                                name=op.f("fk_portal_links_request_id_agency_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_links_token_hash")),
    )
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_links_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_links_request_id"), ["request_id"], unique=False)
    op.create_table(
        "portal_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=True),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["agency_requests.id"],
                                name=op.f("fk_portal_forms_request_id_agency_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_forms")),
        sa.UniqueConstraint("request_id", name=op.f("uq_portal_forms_request_id")),
    )
    op.create_table(
        "portal_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("stored_path", sa.String(length=500), nullable=False),
        sa.Column("original_name", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["agency_requests.id"],
                                name=op.f("fk_portal_attachments_request_id_agency_requests"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_attachments")),
    )
    with op.batch_alter_table("portal_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_attachments_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("portal_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_attachments_request_id"))
    op.drop_table("portal_attachments")
    op.drop_table("portal_forms")
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_links_request_id"))
        batch_op.drop_index(batch_op.f("ix_portal_links_case_id"))
    op.drop_table("portal_links")
