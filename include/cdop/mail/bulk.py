"""The outbox, queue side, in bulk: queue many messages in one set-based statement.

`enqueue_select` is `outbox.enqueue` for a whole sweep: one
`INSERT INTO outbox_messages ... SELECT ... ON CONFLICT (business_key) DO NOTHING
RETURNING id` on PostgreSQL and SQLite alike. The Message-ID is derived from the
business key in SQL, exactly as `outbox.message_id_for` derives it in Python (the
first 40 hex digits of its SHA-256, at the policy's mail domain), so a message queued
one way is the same message as one queued the other way. A key already queued (sent or
not, by this run or another one running at the same time) is skipped by the unique
constraint, so a rerun, a retry or two sweeps at once queue each message once; the
statement runs inside the caller's unit of work, so a sweep that dies before it commits
leaves nothing half queued.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Select, String, cast, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import true

from cdop.config import Settings
from cdop.store.db import SQLITE_SHA256, UnitOfWork
from cdop.store.models import OutboxMessage, utcnow
from cdop.store.statuses import OutboxStatus

# The columns a message's SELECT provides, by label; the rest are filled in here.
PROVIDED = ("business_key", "kind", "sequence", "case_id", "agency_id", "request_id", "to_addrs",
            "cc_addrs", "subject", "secure_route", "business_date", "params")

def message_id_sql(key: ColumnElement, domain: str, dialect: str) -> ColumnElement:
    """`outbox.message_id_for(key, domain)` in SQL."""
    if dialect == "postgresql":
        digest = func.encode(func.sha256(func.convert_to(key, "UTF8")), "hex")
    else:
        digest = getattr(func, SQLITE_SHA256)(key)
    return literal("<") + func.substr(digest, 1, 40) + literal(f"@{domain}>")


def json_list(dialect: str, *values: ColumnElement) -> ColumnElement:
    """A JSON array built in SQL (json_build_array / json_array)."""
    return func.json_build_array(*values) if dialect == "postgresql" else func.json_array(*values)


def json_object(dialect: str, **values: ColumnElement) -> ColumnElement:
    """A JSON object built in SQL (json_build_object / json_object)."""
    args: list = []
    for name, value in values.items():
        args += [literal(name), value]
    return func.json_build_object(*args) if dialect == "postgresql" else func.json_object(*args)


def text_of(value: ColumnElement) -> ColumnElement:
    """A value as text, as str() writes it (for business keys built in SQL)."""
    return cast(value, String)


def dialect_of(uow: UnitOfWork) -> str:
    return uow.session.get_bind().dialect.name


def enqueue_select(uow: UnitOfWork, settings: Settings, messages: Select) -> list[int]:
    """Queue every message `messages` selects (labelled as PROVIDED) unless its business
    key exists; return the ids of the messages queued now."""
    dialect = dialect_of(uow)
    rows = messages.subquery("m")
    now = utcnow()
    columns = [rows.c[name] for name in PROVIDED] + [
        message_id_sql(rows.c.business_key, settings.policy.mail_domain, dialect),
        literal(OutboxStatus.PENDING.value, OutboxMessage.status.type),
        literal(0),
        literal(now, OutboxMessage.created_at.type),
    ]
    # SQLite needs a WHERE in the SELECT of an INSERT ... SELECT ... ON CONFLICT.
    source = select(*columns).where(true())
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxMessage)
        .from_select([*PROVIDED, "message_id", "status", "attempts", "created_at"], source)
        .on_conflict_do_nothing(index_elements=["business_key"])
        .returning(OutboxMessage.id)
    )
    return sorted(uow.session.execute(statement).scalars())


def business_date_param(day: dt.date) -> ColumnElement:
    return literal(day, OutboxMessage.business_date.type)
