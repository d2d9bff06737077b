"""The portal's own messages, composed at send time like every other (cdop.sending.kinds):
a fresh link after the office reopened a return, and the coordinator's notice that the
gate found something in a submitted return (the fields only, never the text)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.config import Settings
from cdop.mail import outbox
from cdop.mail.mailer import Email
from cdop.portal import tokens
from cdop.store.db import UnitOfWork
from cdop.store.models import AgencyRequest, OutboxMessage, PortalForm
from cdop.store.statuses import FormStatus

KIND_LINK = "portal_link"  # a fresh link after the office reopened a return
KIND_FLAGGED = "portal_return_flagged"  # to the coordinator: the gate found something


def compose_link(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    request = session.get(AgencyRequest, message.request_id)
    form = session.scalar(select(PortalForm).where(PortalForm.request_id == request.id))
    if form is None or form.status != FormStatus.REOPENED:
        raise outbox.NoLongerWanted("the return is not open for the agency")
    context = {"case_number": request.case.case_number, "agency_name": request.agency.name,
               "portal_link": tokens.link_url(settings, tokens.token_for_message(message)),
               "link_valid_days": settings.policy.portal.link_valid_days,
               "office": settings.policy.office, "area_name": settings.policy.area_name}
    return outbox.templated_email(message, settings, "portal_link", context)


def compose_flagged(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    request = session.get(AgencyRequest, message.request_id)
    context = {"case_number": request.case.case_number, "agency_code": request.agency.code,
               "findings": list((message.params or {}).get("findings", [])),
               "office": settings.policy.office, "area_name": settings.policy.area_name}
    return outbox.templated_email(message, settings, "portal_return_flagged", context)


def on_links_sent(uow: UnitOfWork, messages: Sequence[OutboxMessage], settings: Settings) -> None:
    tokens.record_sent_links(uow, messages, settings)
