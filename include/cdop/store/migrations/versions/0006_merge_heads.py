"""merge the two branches off 0002 (0004_panel and 0005_annual_report) into one head

Revision ID: 0006_merge_heads
Revises: 0004_panel, 0005_annual_report
"""

revision = "0006_merge_heads"
down_revision = ("0004_panel", "0005_annual_report")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
