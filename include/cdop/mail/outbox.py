"""The outbox, queue side: every outgoing message has a business key (case, agency,
kind, sequence) under a unique constraint and a Message-ID derived from it. Services
enqueue here; `cdop.sending.delivery` sends; `cdop.sending.kinds` says how each kind is
composed.

Sending is claim -> send -> mark sent, each step its own transaction. A claim is an
atomic UPDATE guarded by status, so two runs at once cannot both send a message. A
message whose sender died after claiming is reclaimed once its lease has expired; the
only repeat possible is after the SMTP server accepted it and before it was marked,
and that repeat carries the same Message-ID, so mail clients fold it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from cdop.config import Settings
from cdop.mail.mailer import Attachment, Email
from cdop.mail.templating import render
from cdop.store.db import UnitOfWork
from cdop.store.models import OutboxMessage
from cdop.store.statuses import OutboxStatus

log = logging.getLogger(__name__)

# What a message kind needs: how to compose it from the database at send time (so no
# body, and no identifier, is stored in the outbox), and what sending it changes.
Composer = Callable[[Session, OutboxMessage, Settings], Email]
OnSent = Callable[[UnitOfWork, OutboxMessage, Settings], None]
# The same for a batch of sent messages of one kind, in the order they were sent: for a
# kind whose follow-up is cheaper set-wise (one UPDATE for the batch, not one a message).
OnSentBatch = Callable[[UnitOfWork, Sequence[OutboxMessage], Settings], None]
# What a kind's composer reads for a whole claimed batch, loaded in a few queries before
# the first message is composed (rather than a query or two per message); it returns
# what must stay referenced while the batch is composed (the session's identity map
# holds objects only while something does). Without one, the delivery loads each
# message's agency request with its case and agency.
Prefetch = Callable[[Session, Sequence[OutboxMessage], Settings], object]


@dataclass(frozen=True)
class MessageKind:
    compose: Composer
    on_sent: OnSent | None = None
    prefetch: Prefetch | None = None
    on_sent_batch: OnSentBatch | None = None  # a kind gives this or on_sent


def message_headers(message: OutboxMessage) -> tuple[tuple[str, str], ...]:
    """Non-identifying headers: the business date, kind and business key of a message."""
    return (("X-CDOP-Business-Date", message.business_date.isoformat()),
            ("X-CDOP-Kind", message.kind), ("X-CDOP-Key", message.business_key))


def templated_email(message: OutboxMessage, settings: Settings, template: str, context: dict,
                    attachments: tuple[Attachment, ...] = (),
                    headers: tuple[tuple[str, str], ...] = (), subject: str | None = None) -> Email:
    """The email for an outbox message from the template pair email/<template>.{txt,html}.j2,
    with the X-CDOP-* headers every message carries (and any `headers` of its kind)."""
    return Email(
        message_id=message.message_id,
        sender=settings.policy.mail_from,
        to=tuple(message.to_addrs),
        cc=tuple(message.cc_addrs),
        subject=subject or message.subject,
        text=render(f"email/{template}.txt.j2", **context),
        html=render(f"email/{template}.html.j2", **context),
        attachments=attachments,
        headers=message_headers(message) + headers,
    )


def business_key(*parts: object) -> str:
    return "/".join(str(p) for p in parts)


class key_head(FunctionElement):
    """SQL form of a business key's first part, before its first "/" (the meeting of a
    panel pack's key): a query can then join on it instead of matching one prefix per
    row. PostgreSQL has split_part and SQLite instr, but no function is in both."""

    type = String()
    inherit_cache = True
    name = "key_head"


@compiles(key_head)
def _key_head_sqlite(element: key_head, compiler, **kw) -> str:
    key = compiler.process(next(iter(element.clauses)), **kw)
    return f"substr({key}, 1, instr({key}, '/') - 1)"


@compiles(key_head, "postgresql")
def _key_head_postgresql(element: key_head, compiler, **kw) -> str:
    return f"split_part({compiler.process(next(iter(element.clauses)), **kw)}, '/', 1)"


def message_id_for(key: str, domain: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def enqueue(
    uow: UnitOfWork,
    settings: Settings,
    *,
    key: str,
    kind: str,
    to: Iterable[str],
    subject: str,
    business_date: dt.date,
    sequence: int = 1,
    cc: Iterable[str] = (),
    case_id: int | None = None,
    agency_id: int | None = None,
    request_id: int | None = None,
    secure_route: bool = False,
    params: dict | None = None,
) -> tuple[OutboxMessage, bool]:
    """Add a message unless its business key exists; return (message, created)."""
    session = uow.session
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.business_key == key))
    if existing is not None:
        return existing, False
    message = OutboxMessage(
        business_key=key,
        message_id=message_id_for(key, settings.policy.mail_domain),
        kind=kind,
        sequence=sequence,
        to_addrs=list(to),
        cc_addrs=list(cc),
        subject=subject,
        business_date=business_date,
        case_id=case_id,
        agency_id=agency_id,
        request_id=request_id,
        secure_route=secure_route,
        params=params or {},
        status=OutboxStatus.PENDING,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        # Another run enqueued the same key between our look-up and insert.
        return session.scalar(select(OutboxMessage).where(OutboxMessage.business_key == key)), False
    return message, True


class NoLongerWanted(Exception):
    """Raised by a composer when a queued message must not go out after all (e.g. the
    return a reminder chases arrived after it was queued): it is marked cancelled."""
