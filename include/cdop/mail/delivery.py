"""Delivering the outbox: claim -> send -> mark sent, each step its own transaction.

A claim is an atomic UPDATE guarded by status, so two runs at once cannot both send a
message. A message whose sender died after claiming is reclaimed once its lease has
expired; the only repeat possible is after the SMTP server accepted it and before it was
marked, and that repeat carries the same Message-ID, so mail clients fold it.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update

from cdop.config import Settings
from cdop.mail.kinds import REGISTRY
from cdop.mail.mailer import Mailer, MailError
from cdop.mail.outbox import MessageKind, NoLongerWanted
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)  # business keys (case numbers, codes)
    failed: dict[str, str] = field(default_factory=dict)  # business key -> reason
    skipped: int = 0  # claimed by someone else meanwhile
    cancelled: list[str] = field(default_factory=list)  # composer said: no longer wanted

    def as_dict(self) -> dict:
        counts = {"sent": len(self.sent), "failed": len(self.failed), "skipped": self.skipped}
        if self.cancelled:
            counts["cancelled"] = len(self.cancelled)
        return counts


class DeliveryFailed(RuntimeError):
    """Some messages could not be sent; they stay pending for the next try."""


def _deliverable(kinds: Iterable[str] | None, cutoff: dt.datetime):
    query = select(OutboxMessage.id).where(
        or_(
            OutboxMessage.status == "pending",
            (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < cutoff),
        )
    )
    if kinds:
        query = query.where(OutboxMessage.kind.in_(list(kinds)))
    return query.order_by(OutboxMessage.id)


def deliver(
    settings: Settings,
    mailer: Mailer,
    *,
    kinds: Iterable[str] | None = None,
    ids: Iterable[int] | None = None,
    actor: str | None = None,
    max_consecutive_failures: int = 3,
    registry: Mapping[str, MessageKind] = REGISTRY,
) -> DeliveryReport:
    """Send every deliverable message (optionally only `ids`). Raises nothing for a failed
    send: the report says which failed and why, and the caller decides to raise."""
    report = DeliveryReport()
    lease = dt.timedelta(minutes=settings.policy.send_lease_minutes)
    with unit_of_work(settings, actor) as uow:
        query = _deliverable(kinds, utcnow() - lease)
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(list(ids)))
        candidates = list(uow.session.scalars(query))

    consecutive_failures = 0
    for message_id in candidates:
        token = secrets.token_hex(16)
        with unit_of_work(settings, actor) as uow:
            claimed = uow.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    or_(
                        OutboxMessage.status == "pending",
                        (OutboxMessage.status == "sending")
                        & (OutboxMessage.claimed_at < utcnow() - lease),
                    ),
                )
                .values(
                    status="sending",
                    claim_token=token,
                    claimed_at=utcnow(),
                    attempts=OutboxMessage.attempts + 1,
                )
            ).rowcount
            uow.commit()
        if claimed != 1:
            report.skipped += 1
            continue

        with unit_of_work(settings, actor) as uow:
            message = uow.session.get(OutboxMessage, message_id)
            key, message_kind = message.business_key, message.kind
            try:
                email = registry[message.kind].compose(uow.session, message, settings)
            except NoLongerWanted as exc:
                uow.rollback()
                _cancel(uow, message_id, token, str(exc))
                report.cancelled.append(key)
                continue
            except Exception as exc:
                # A composing bug: release the claim so the message is not stuck, then
                # fail the task loudly (type only: the text might hold a value).
                uow.rollback()
                _release(uow, message_id, token, f"could not compose ({type(exc).__name__})")
                raise
        # No transaction is open while we talk to the SMTP server.
        try:
            mailer.send(email)
        except MailError as exc:
            reason = str(exc)
            with unit_of_work(settings, actor) as uow:
                _release(uow, message_id, token, reason)
            report.failed[key] = reason
            log.warning("could not send %s: %s", key, reason)
            consecutive_failures += 1
            if consecutive_failures >= max_consecutive_failures:
                log.warning("stopping this batch after %d failures in a row", consecutive_failures)
                break
            continue
        consecutive_failures = 0
        with unit_of_work(settings, actor) as uow:
            _mark_sent(uow, message_id, token, settings, registry[message_kind].on_sent)
        report.sent.append(key)
    return report


def _release(uow: UnitOfWork, message_id: int, token: str, reason: str) -> None:
    uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claim_token == token)
        .values(status="pending", claim_token=None, claimed_at=None, last_error=reason)
    )
    uow.commit()


def _cancel(uow: UnitOfWork, message_id: int, token: str, reason: str) -> None:
    cancelled = uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claim_token == token)
        .values(status="cancelled", claim_token=None, last_error=reason)
    ).rowcount
    if cancelled == 1:
        message = uow.session.get(OutboxMessage, message_id)
        uow.audit("message_cancelled", "outbox_message", message.id, case_id=message.case_id,
                  kind=message.kind, business_key=message.business_key, reason=reason)
    uow.commit()


def _mark_sent(uow: UnitOfWork, message_id: int, token: str, settings: Settings, hook) -> None:
    marked = uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claim_token == token)
        .values(status="sent", sent_at=utcnow(), last_error=None)
    ).rowcount
    if marked == 1:
        message = uow.session.get(OutboxMessage, message_id)
        if hook is not None:
            hook(uow, message, settings)
        uow.audit(
            "message_sent",
            "outbox_message",
            message.id,
            case_id=message.case_id,
            kind=message.kind,
            business_key=message.business_key,
        )
    uow.commit()


def raise_for_failures(report: DeliveryReport) -> None:
    if report.failed:
        reasons = sorted(set(report.failed.values()))
        keys = ", ".join(sorted(report.failed)[:10])
        raise DeliveryFailed(
            f"{len(report.failed)} message(s) not sent ({'; '.join(reasons)}): {keys}"
            " -- they stay pending and will be retried"
        )
