"""portal links keep their secrets' digests (encrypted) so that rotation can re-key them

A link's token and a session's value are found by a keyed hash whose key follows the
encryption key. The token is never kept, so `cdop keys rotate` could not recompute the
hash: removing the old key, as the command advises, ended every live link and session.
Each now keeps the SHA-256 of its secret, encrypted, from which rotation re-keys it.

Revision ID: 0018_portal_link_digests
Revises: 0016_page_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_portal_link_digests"
down_revision = "0017_replacements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portal_links") as batch:
        batch.add_column(sa.Column("token_digest", sa.Text(), nullable=True))
        batch.add_column(sa.Column("session_digest", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("portal_links") as batch:
        batch.drop_column("session_digest")
        batch.drop_column("token_digest")
