"""The coordinator's check of a case report: which reports await it, offering each once
as an Airflow Required Action, and recording the decision made there."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from cdop.config import Settings
from cdop.mail import outbox
from cdop.panel.case_reports import ACTOR, AWAITING, KIND_CHECK_REQUESTED, decide, latest_report
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case
from cdop.store.models import (
    Case,
    CaseReport,
)
from cdop.validation import InputError


def awaiting_check(settings: Settings, case_number: str, version: int) -> bool:
    """Whether this version is the current report and still waits for the check."""
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        report = latest_report(uow.session, case.id)
        return report is not None and report.version == version and report.status == AWAITING


def check_run_id(case_number: str, version: int, offer: str) -> str:
    return f"check__{case_number}__v{version}__{offer}"


def reports_to_check(settings: Settings, today: dt.date, *, offer: str | None = None) -> list[dict[str, Any]]:
    """Reports awaiting the check whose Airflow Required Action has not been offered, or
    whose offer has run out (after Policy.report_check_wait_days) with no decision.
    `offer` names this offering in the run id (the assembly run's logical hour): a rerun
    of that run offers nothing twice, a later run may offer again."""
    offer = offer or today.isoformat()
    renew_before = today - dt.timedelta(days=settings.policy.report_check_wait_days + 1)
    with unit_of_work(settings) as uow:
        rows = uow.session.execute(
            select(Case.case_number, CaseReport.version)
            .join(Case, Case.id == CaseReport.case_id)
            .where(
                CaseReport.status == AWAITING,
                (CaseReport.check_requested_on.is_(None)) | (CaseReport.check_requested_on <= renew_before),
            )
            .order_by(CaseReport.id)
        ).all()
    return [
        {"case_number": n, "version": v, "run_id": check_run_id(n, v, offer)} for n, v in rows
    ]


def mark_check_requested(settings: Settings, reports: list[dict[str, Any]], today: dt.date,
                         actor: str = ACTOR) -> int:
    marked = 0
    with unit_of_work(settings, actor) as uow:
        for item in reports:
            case = get_case(uow, item["case_number"])
            report = latest_report(uow.session, case.id)
            if report is not None and report.version == item["version"] and report.status == AWAITING:
                report.check_requested_on = today
                uow.audit("report_check_requested", "case_report", report.id, case_id=case.id,
                          version=report.version, run_id=item["run_id"])
                marked += 1
        uow.commit()
    return marked


def notify_check_requested(settings: Settings, case_number: str, version: int, *, offer: str,
                           today: dt.date, actor: str = ACTOR) -> bool:
    """Queue the email telling the coordinators that a report waits for their check (case
    number only), once per offer of the check. Returns whether a message was queued."""
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        to = settings.policy.coordinator_email
        _message, created = outbox.enqueue(
            uow, settings,
            key=outbox.business_key(case.case_number, "coordinator", KIND_CHECK_REQUESTED, version, offer),
            kind=KIND_CHECK_REQUESTED, to=[to],
            subject=f"Case report {case.case_number} v{version} waits for your check",
            business_date=today, sequence=version, case_id=case.id,
            secure_route=settings.policy.is_secure_address(to), params={"version": version},
        )
        uow.commit()
    return created


def record_check(settings: Settings, case_number: str, version: int, *, decision: str,
                 comments: str | None, actor: str, today: dt.date) -> str:
    """Relay the answer given to the Airflow Required Action. The CDOP database decides:
    a report already decided (from the CLI or the operations pages) keeps that decision.
    An answer that cannot be recorded (a return without comments, comments naming someone)
    is not recorded and the check is offered again on the next assembly run. Returns
    what happened, in words that carry no identifier."""
    if decision == "later":
        return "left undecided"
    if decision == "return_on_page":
        # The Required Action carries no free text: the comments (required to return a
        # report, and checked for identifiers) are written on the case's CDOP page.
        return "to be returned: write the comments on the case page"
    try:
        outcome = decide(settings, case_number, approve=decision == "approve", comments=comments,
                         actor=actor, today=today, version=version)
    except InputError as exc:
        fields = {p.field for p in exc.problems}
        # Replacements still to decide are decided on the check page or with `cdop report
        # decide`, not in Airflow: offering the same check again every hour would not help.
        if fields & {"report", "version", "replacements"}:
            return "not recorded: " + "; ".join(str(p) for p in exc.problems)
        with unit_of_work(settings, actor) as uow:
            case = get_case(uow, case_number)
            report = latest_report(uow.session, case.id)
            if report is not None and report.version == version:
                report.check_requested_on = None  # offer the check again
                uow.commit()
        return "not recorded, offered again: " + "; ".join(str(p) for p in exc.problems)
    return outcome["status"]
