"""Deliver the outbox from a task: one SMTP connection per batch; fail loudly on failures."""

from __future__ import annotations

import logging

from cdop.config import Settings

log = logging.getLogger(__name__)


def send_pending(settings: Settings, kinds: list[str]) -> dict:
    from cdop.mail import delivery
    from cdop.mail.mailer import SmtpMailer

    mailer = SmtpMailer(settings.smtp, settings.policy.mail_from)
    try:
        report = delivery.deliver(settings, mailer, kinds=kinds, actor=settings.actor)
    finally:
        mailer.close()
    log.info("outbox %s: %s", ",".join(kinds), report.as_dict())
    delivery.raise_for_failures(report)
    return report.as_dict()
