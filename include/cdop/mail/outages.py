"""Mail outages: the mail server refusing us rather than a message, told to operations once.

When delivery stops because the server refused the sender, could not be reached, or
refused message after message alike, nothing is held: the outbox waits, the run fails
(`delivery.RelayOutage`) and Airflow retries it and shows it red. Operations hear of it
once per outage: `begin` opens a row in `mail_outages` (at most one is open, a unique
constraint) and queues one notice of kind "mail_outage" keyed by that row; the runs
that fail while it is open find it and queue nothing. `end` closes it when a run sends
again; the next outage is told again. The notice goes through the outbox (so with the
first run the server accepts again, if it is the same server); the red runs are the
alert meanwhile.

The times are when the outage was seen and ended, as `sent_at` is: events, not a
business date.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cdop.config import Settings
from cdop.mail import outbox
from cdop.mail.mailer import Email
from cdop.store.db import unit_of_work
from cdop.store.models import MailOutage, OutboxMessage, utcnow
from cdop.store.statuses import OutboxStatus

KIND = "mail_outage"


def current(session: Session) -> MailOutage | None:
    return session.scalar(select(MailOutage).where(MailOutage.current.is_(True)))


def begin(settings: Settings, reason: str, *, actor: str | None = None) -> int | None:
    """Record an outage unless one is open, and queue its one notice to operations.
    Returns the new outage's id, None if one was open already."""
    policy = settings.policy
    with unit_of_work(settings, actor) as uow:
        session = uow.session
        if current(session) is not None:
            return None
        outage = MailOutage(started_at=utcnow(), reason=reason[:200], current=True)
        try:
            with session.begin_nested():
                session.add(outage)
        except IntegrityError:  # another run opened it between our look and our insert
            return None
        outbox.enqueue(
            uow, settings,
            key=outbox.business_key(KIND, outage.id),
            kind=KIND,
            to=[policy.operations_email],
            subject=f"{policy.area_name} CDOP: the mail server is refusing the outbox",
            business_date=outage.started_at.date(),
            secure_route=policy.is_secure_address(policy.operations_email),
            params={"outage": outage.id, "reason": outage.reason,
                    "started_at": outage.started_at.isoformat(timespec="minutes")},
        )
        uow.audit("mail_outage_began", "mail_outage", outage.id, reason=outage.reason)
        uow.commit()
        return outage.id


def end(settings: Settings, *, actor: str | None = None) -> None:
    """Close the open outage, if any: the server accepts again."""
    with unit_of_work(settings, actor) as uow:
        ended = uow.session.execute(
            update(MailOutage).where(MailOutage.current.is_(True))
            .values(current=None, ended_at=utcnow())
            .returning(MailOutage.id)).scalars().all()
        for outage_id in ended:
            uow.audit("mail_outage_ended", "mail_outage", outage_id)
        uow.commit()


def compose(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    params = message.params
    waiting = session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == OutboxStatus.PENDING))
    context = {
        "reason": params["reason"],
        "started_at": params["started_at"],
        "waiting": waiting,
        "area_name": settings.policy.area_name,
        "office": settings.policy.office,
    }
    return outbox.templated_email(message, settings, "mail_outage", context)

