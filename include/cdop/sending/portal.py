"""The portal's messages sent at once: no Airflow run sends them, and nobody should wait
for a code. The portal's web app is given `deliver_now` by whoever starts it (`cdop portal
serve`), so the portal service itself never imports delivery (a layer above it)."""

from __future__ import annotations

from cdop.config import Settings
from cdop.mail.mailer import SmtpMailer
from cdop.portal.service import ACTOR, PORTAL_KINDS
from cdop.sending import delivery


def deliver_now(settings: Settings) -> None:
    """Send the portal's pending messages now. One that could not go (the relay was down)
    goes with the next; a code replaced meanwhile is cancelled, not sent."""
    mailer = SmtpMailer(settings.smtp, settings.policy.mail_from)
    try:
        delivery.deliver(settings, mailer, kinds=list(PORTAL_KINDS), actor=ACTOR)
    finally:
        mailer.close()
