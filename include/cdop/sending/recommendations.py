"""The email that carries a recommendation to its organisation, with the portal link it
answers through: the panel composes the email, the portal issues the link; the sending
layer, which knows both, joins them (neither imports the other)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from cdop.config import Settings
from cdop.mail.mailer import Email
from cdop.panel import analysis
from cdop.portal import tokens
from cdop.store.db import UnitOfWork
from cdop.store.models import OutboxMessage


def compose_recommendation(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    """A new token for this email (its hash is stored once the email is sent)."""
    link = tokens.link_url(settings, tokens.token_for_message(message))
    return analysis.compose_agreed(session, message, settings, portal_link=link)


def on_recommendations_sent(uow: UnitOfWork, messages: Sequence[OutboxMessage], settings: Settings) -> None:
    tokens.record_sent_recommendation_links(uow, messages, settings)


def compose_reminder(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    """A request for the step the organisation owes, with a fresh link to send it (a
    request sent before the portal asked for steps carries none)."""
    link = None
    if (message.params or {}).get("owed"):
        link = tokens.link_url(settings, tokens.token_for_message(message))
    return analysis.compose_reminder(session, message, settings, portal_link=link)


def on_reminders_sent(uow: UnitOfWork, messages: Sequence[OutboxMessage], settings: Settings) -> None:
    for message in messages:
        analysis.on_reminder_sent(uow, message, settings)
    tokens.record_sent_recommendation_links(uow, messages, settings)
