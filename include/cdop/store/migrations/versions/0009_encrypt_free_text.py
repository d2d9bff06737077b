"""encrypt at rest what could identify a child: the exact date of death and age, chronology
dates, and every free text from agencies, the family or the panel; add the coarse age band

Revision ID: 0009_encrypt_free_text
Revises: 0008_reveal_audit

With `date_of_death` and `age_at_death_days` both in plain text the date of birth was one
subtraction away, and a chronology date could be the birth itself. Each column below is
re-created as a Fernet token column (the `Encrypted*` types of cdop.crypto)
and its rows encrypted here, under the keys `cdop db upgrade` installs before Alembic runs
(`cdop.store.db.migrate` calls `make_engine`, which calls `crypto.use_keys`). A database
with rows to convert and no keys stops with the configuration error, writing nothing.

What stays plain is coarse: the age band (new), category, stage, and the office's own dates
(notified_on and the workflow dates), each of which is on or after the death and so gives
no lower bound on the date of death. A plain month of death was considered and left out:
together with notified_on it gives the exact day for every death notified on the first of
its month.

Downgrade restores the plain columns, decrypting with the configured keys.
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

revision = "0009_encrypt_free_text"
down_revision = "0008_reveal_audit"
branch_labels = None
depends_on = None

# (table, column, old type, old NOT NULL, old server default, kind, new NOT NULL)
COLUMNS = [
    ("cases", "date_of_death", sa.Date(), True, None, "date", True),
    ("cases", "age_at_death_days", sa.Integer(), True, None, "int", True),
    ("cases", "notifier_email", sa.String(length=254), False, None, "text", False),
    ("cases", "family_context", sa.JSON(), True, "{}", "json", False),
    ("agency_requests", "waiver_reason", sa.Text(), False, None, "text", False),
    ("chronology_entries", "event_date", sa.Date(), True, None, "date", True),
    ("case_reports", "comments", sa.Text(), False, None, "text", False),
    ("analyses", "learning", sa.Text(), False, None, "text", False),
    ("analysis_factors", "description", sa.Text(), True, None, "text", True),
    ("recommendations", "text", sa.Text(), True, None, "text", True),
    ("recommendation_updates", "progress", sa.Text(), True, None, "text", True),
    ("outbox_messages", "subject", sa.String(length=300), True, None, "text", True),
]
TEMP = "{}__swap"


def _tables() -> dict[str, list[tuple]]:
    tables: dict[str, list[tuple]] = {}
    for spec in COLUMNS:
        tables.setdefault(spec[0], []).append(spec)
    return tables


def _plain(kind: str, value) -> str:
    """The stored plain value as the text the Encrypted* type would encrypt."""
    if kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]
    if kind == "int":
        return str(int(value))
    if kind == "json":
        data = json.loads(value) if isinstance(value, str | bytes) else value
        return json.dumps(data or {}, ensure_ascii=False, sort_keys=True)
    return str(value)


def _unplain(kind: str, text: str):
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "int":
        return int(text)
    if kind == "json":
        return json.loads(text)
    return text


def _convert(table: str, specs: list[tuple]) -> None:
    """Copy each column of `table` into its swap column, encrypted."""
    from cdop import crypto

    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {', '.join(c for _, c, *_ in specs)} FROM {table}")).all()
    if not rows:
        return
    updates = [
        {"id": row[0], **{
            column: None if row[i] is None else crypto.encrypt(_plain(kind, row[i]))
            for i, (_, column, _old, _nn, _default, kind, _new_nn) in enumerate(specs, start=1)
        }}
        for row in rows
    ]
    sets = ", ".join(f"{TEMP.format(c)} = :{c}" for _, c, *_ in specs)
    bind.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"), updates)


def _age_band(date_of_birth: dt.date, date_of_death: dt.date) -> str:
    """The reporting age band as cdop.rules.ages.age_band said it when this migration was
    written, copied here so that a replay writes what the rule said then, not today's."""
    days = (date_of_death - date_of_birth).days
    if days <= 27:
        return "0-27 days"
    years = date_of_death.year - date_of_birth.year - (
        (date_of_death.month, date_of_death.day) < (date_of_birth.month, date_of_birth.day))
    if years < 1:
        return "28-364 days"
    if years <= 4:
        return "1-4 years"
    if years <= 9:
        return "5-9 years"
    if years <= 14:
        return "10-14 years"
    return "15-17 years"


def _age_bands() -> None:
    """Fill the new plain age band from the (encrypted) date of birth and date of death."""
    from cdop import crypto

    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, date_of_birth, {TEMP.format('date_of_death')} FROM cases")).all()
    if rows:
        bind.execute(
            sa.text("UPDATE cases SET age_band = :band WHERE id = :id"),
            [{"id": r[0], "band": _age_band(dt.date.fromisoformat(crypto.decrypt(r[1])),
                                            dt.date.fromisoformat(crypto.decrypt(r[2])))}
             for r in rows],
        )


def upgrade() -> None:
    if context_is_offline():
        raise RuntimeError("0009_encrypt_free_text encrypts rows: run it online (cdop db upgrade)")
    for table, specs in _tables().items():
        with op.batch_alter_table(table) as batch:
            for _, column, *_ in specs:
                batch.add_column(sa.Column(TEMP.format(column), sa.Text(), nullable=True))
            if table == "cases":
                batch.add_column(sa.Column("age_band", sa.String(length=20), nullable=True))
        _convert(table, specs)
        if table == "cases":
            _age_bands()
        with op.batch_alter_table(table) as batch:
            for _, column, _old, _nn, _default, _kind, new_nn in specs:
                batch.drop_column(column)
                batch.alter_column(TEMP.format(column), new_column_name=column,
                                   existing_type=sa.Text(), nullable=not new_nn)
            if table == "cases":
                batch.alter_column("age_band", existing_type=sa.String(length=20), nullable=False)


def downgrade() -> None:
    for table, specs in _tables().items():
        with op.batch_alter_table(table) as batch:
            for _, column, old_type, *_ in specs:
                batch.add_column(sa.Column(TEMP.format(column), old_type, nullable=True))
        _convert_back(table, specs)
        with op.batch_alter_table(table) as batch:
            for _, column, old_type, old_nn, default, *_ in specs:
                batch.drop_column(column)
                batch.alter_column(TEMP.format(column), new_column_name=column, existing_type=old_type,
                                   nullable=not old_nn, server_default=default)
            if table == "cases":
                batch.drop_column("age_band")


def _convert_back(table: str, specs: list[tuple]) -> None:
    """Copy each encrypted column into its swap column of the old type, decrypted."""
    from cdop import crypto

    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {', '.join(c for _, c, *_ in specs)} FROM {table}")).all()
    if not rows:
        return
    sets = ", ".join(f"{TEMP.format(c)} = :{c}" for _, c, *_ in specs)
    statement = sa.text(f"UPDATE {table} SET {sets} WHERE id = :id").bindparams(
        *(sa.bindparam(column, type_=old_type) for _, column, old_type, *_ in specs)
    )
    bind.execute(statement, [
        {"id": row[0], **{
            column: None if row[i] is None else _unplain(kind, crypto.decrypt(row[i]))
            for i, (_, column, _old, _nn, _default, kind, _new_nn) in enumerate(specs, start=1)
        }}
        for row in rows
    ])


def context_is_offline() -> bool:
    from alembic import context

    return context.is_offline_mode()
