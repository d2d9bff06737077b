"""The demo's history at the time it happened.

The demo is made through the coordinator's own services at past business dates; each
service stamps what it writes (audit events, outbox messages) with the wall clock. So
that a case's timeline reads as a CDOP office's would (the return received on the day
it came, the meeting's papers on their day), what a call wrote is moved to the business
day it stands for, in the order it was written, during office hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from cdop.config import Settings
from cdop.store.db import unit_of_work
from cdop.store.models import AuditEvent, OutboxMessage


def _last_ids(settings: Settings) -> tuple[int, int]:
    with unit_of_work(settings) as uow:
        return (uow.session.scalar(select(func.max(AuditEvent.id))) or 0,
                uow.session.scalar(select(func.max(OutboxMessage.id))) or 0)


@contextmanager
def happened_on(settings: Settings, day: dt.date | dt.datetime, *, hour: int = 10) -> Iterator[None]:
    """Everything written inside the block is stamped `day` (from `hour`, a minute apart;
    a datetime gives the exact moment), never later than now."""
    audit_from, outbox_from = _last_ids(settings)
    yield
    start = day if isinstance(day, dt.datetime) else dt.datetime.combine(day, dt.time(hour))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with unit_of_work(settings) as uow:
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.id > audit_from).order_by(AuditEvent.id))
        for i, event in enumerate(events):
            event.occurred_at = min(start + dt.timedelta(minutes=i), now)
        messages = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.id > outbox_from))
        for message in messages:
            moment = min(start, now)
            message.created_at = moment
            if message.sent_at is not None:
                message.sent_at = moment
            if message.claimed_at is not None:
                message.claimed_at = moment
        uow.commit()
