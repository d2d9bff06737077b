"""an index for the panel pages: the panel packs in the outbox, by business key

The meetings page asks which meetings' packs are queued (kind panel_pack, business
key meeting-<id>/...); without an index that is a scan of the whole outbox, which
grows by every message ever sent. Partial (kind = 'panel_pack' only), so the many
other messages -- a chase sweep queues thousands at once -- do not pay for it.

Revision ID: 0007_perf_indexes
Revises: 0006_merge_heads
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_perf_indexes"
down_revision = "0006_merge_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    only_packs = sa.text("kind = 'panel_pack'")
    op.create_index("ix_outbox_messages_panel_packs", "outbox_messages", ["business_key"],
                    postgresql_where=only_packs, sqlite_where=only_packs)


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_panel_packs", table_name="outbox_messages")
