"""Notices to the coordinator about a case report: blocked by the gate, returned for
amendment, or waiting for the coordinator's check (case number only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.confidentiality.documents import EMAIL_SOURCES, gate_email
from cdop.confidentiality.held import released_for_message
from cdop.confidentiality.identifiers import case_gate
from cdop.config import Settings
from cdop.mail import outbox
from cdop.mail.mailer import Email
from cdop.store.models import (
    Case,
    CaseReport,
    OutboxMessage,
)


def _notice_context(settings: Settings, case: Case, message: OutboxMessage) -> dict[str, Any]:
    return {"area_name": settings.policy.area_name, "office": settings.policy.office,
            "case_number": case.case_number, "version": message.params.get("version")}


def compose_blocked(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    case = session.get(Case, message.case_id)
    context = _notice_context(settings, case, message) | {
        "fields": message.params.get("fields", []), "located": message.params.get("located", [])}
    return _notice(session, message, settings, case, "panel_report_blocked", context)


def compose_returned(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    case = session.get(Case, message.case_id)
    report = session.scalar(select(CaseReport).where(
        CaseReport.case_id == case.id, CaseReport.version == message.params.get("version")))
    context = _notice_context(settings, case, message) | {
        "decided_by": report.decided_by, "decided_at": report.decided_at, "comments": report.comments or ""}
    return _notice(session, message, settings, case, "panel_report_returned", context,
                   free_text=(report.comments,))


def compose_check_requested(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    case = session.get(Case, message.case_id)
    return _notice(session, message, settings, case, "panel_report_check_requested",
                   _notice_context(settings, case, message))


def _notice(session: Session, message: OutboxMessage, settings: Settings, case: Case, template: str,
            context: dict[str, Any], free_text=()) -> Email:
    email = outbox.templated_email(message, settings, template, context)
    gate_email(case_gate(session, case, document=EMAIL_SOURCES["notice"]), email,
               f"{message.kind} {case.case_number}", settings=settings, kind="notice", free_text=free_text,
               released=released_for_message(session, message))
    return email
