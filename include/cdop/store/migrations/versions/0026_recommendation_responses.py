"""recommendation responses: the organisation answers a recommendation through the portal

A recommendation gains the organisation's answer (accepted or declined, when, and its
reasons, encrypted), its action plan and outcome (encrypted), the evidence files it sent
(recommendation_evidence, stored encrypted as a return's attachments) and the reference of the national (NCMD thematic) recommendation it
answers. A portal link may now open a recommendation instead of an agency request: its
request_id becomes nullable and it gains recommendation_id. The response's values are
copied here as they stood (a migration imports no live code).

Revision ID: 0026_recommendation_responses
Revises: 0025_caseload_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_recommendation_responses"
down_revision = "0025_caseload_indexes"
branch_labels = None
depends_on = None

RESPONSES = ("accepted", "declined")


def upgrade() -> None:
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("national_reference", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("requests_for_step", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("response", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("responded_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("response_reasons", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("plan", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("plan_submitted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("outcome_reported_at", sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_recommendations_response"), f"response IN ({', '.join(repr(v) for v in RESPONSES)})")
    op.create_table(
        "recommendation_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("stored_path", sa.String(length=500), nullable=False),
        sa.Column("original_name", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["recommendation_id"], ["recommendations.id"],
                                name=op.f("fk_recommendation_evidence_recommendation_id_recommendations"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_evidence")),
    )
    op.create_index(op.f("ix_recommendation_evidence_recommendation_id"), "recommendation_evidence",
                    ["recommendation_id"], unique=False)
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.alter_column("request_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("recommendation_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_portal_links_recommendation_id"), ["recommendation_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_portal_links_recommendation_id_recommendations"),
                                    "recommendations", ["recommendation_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    bind = op.get_bind()
    # A link to a recommendation has no request: it cannot outlive the column it needs.
    bind.execute(sa.text("DELETE FROM portal_links WHERE request_id IS NULL"))
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_portal_links_recommendation_id_recommendations"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_portal_links_recommendation_id"))
        batch_op.drop_column("recommendation_id")
        batch_op.alter_column("request_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f("ix_recommendation_evidence_recommendation_id"), table_name="recommendation_evidence")
    op.drop_table("recommendation_evidence")
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_recommendations_response"), type_="check")
        batch_op.drop_column("outcome_reported_at")
        batch_op.drop_column("outcome")
        batch_op.drop_column("plan_submitted_at")
        batch_op.drop_column("plan")
        batch_op.drop_column("response_reasons")
        batch_op.drop_column("responded_at")
        batch_op.drop_column("response")
        batch_op.drop_column("national_reference")
        batch_op.drop_column("requests_for_step")
