"""status checks: the database refuses a status no code writes

Each status column gets a CHECK constraint holding it to its values (the StrEnums of
cdop.store.statuses, copied here as they stood: a migration imports no live code).
`held_findings.status` has had its own since 0019_held_findings. Before adding them the
upgrade counts, per table, the rows with any other value and stops, naming the table and
the count, if there are any: nothing is changed and no row is lost.

Revision ID: 0023_status_checks
Revises: 0022_stored_files
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_status_checks"
down_revision = "0022_stored_files"
branch_labels = None
depends_on = None

RECOMMENDATION = ("agreed", "in_progress", "completed", "not_accepted")
STATUSES = {
    "agency_requests": ("pending", "sent", "returned", "waived"),
    "investigations": ("not_started", "in_progress", "concluded", "not_applicable"),
    "outbox_messages": ("pending", "sending", "sent", "held", "cancelled"),
    "case_reports": ("blocked", "awaiting_check", "approved", "returned"),
    "meeting_attendance": ("invited", "attended", "apologies"),
    "recommendations": RECOMMENDATION,
    "recommendation_updates": RECOMMENDATION,
    "annual_reports": ("released", "blocked"),
    "portal_forms": ("draft", "submitted", "reopened"),
}


def _condition(values: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(v) for v in values)})"


def _refuse_unknown_statuses() -> None:
    bind = op.get_bind()
    unknown = {}
    for table, values in STATUSES.items():
        count = bind.execute(sa.text(f"SELECT count(*) FROM {table} WHERE NOT ({_condition(values)})")).scalar()
        if count:
            unknown[table] = count
    if unknown:
        raise RuntimeError("0023_status_checks: rows with a status no code writes, nothing changed: "
                           + ", ".join(f"{table} ({n} rows)" for table, n in unknown.items()))


def upgrade() -> None:
    if not op.get_context().as_sql:
        _refuse_unknown_statuses()
    for table, values in STATUSES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_status"), _condition(values))


def downgrade() -> None:
    for table in reversed(STATUSES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_status"), type_="check")
