"""Deliver the outbox from a task: one SMTP connection per run; fail loudly on failures.

A held message (set aside for a reason of its own) does not stop the others: the batch
is sent, then the task fails naming the held business keys (case numbers) only."""

from __future__ import annotations

import datetime as dt
import logging

from cdop.config import Settings

log = logging.getLogger(__name__)


def send_pending(settings: Settings, kinds: list[str]) -> dict:
    """Send the pending messages of `kinds`, and any notice of a mail outage waiting for
    the server to accept again (it goes with the first run that can send)."""
    from cdop.mail import outages
    from cdop.mail.mailer import SmtpMailer
    from cdop.sending import delivery

    mailer = SmtpMailer(settings.smtp, settings.policy.mail_from)
    try:
        report = delivery.deliver(settings, mailer, kinds=[*kinds, outages.KIND], actor=settings.actor)
    finally:
        mailer.close()
    log.info("outbox %s: %s", ",".join(kinds), report.as_dict())
    delivery.raise_for_failures(report)
    return report.as_dict()


def send_task_failure(*, dag_id: str, task_id: str, run_id: str, failure_text: str,
                      logical_date: dt.datetime | None) -> dict:
    """Queue the failure notice of a task (once per DAG, task and run) and send every
    pending notice. The business date is the run's moment (its logical date, else when it
    was to run) in England, as every task of the run dates itself; today without one."""
    from cdop.clock import today_in_england
    from cdop.mail import outages, task_failures
    from cdop.mail.mailer import SmtpMailer
    from cdop.sending import delivery
    from cdop_airflow.runtime import settings as runtime_settings

    settings = runtime_settings(task_failures.ACTOR)
    day = today_in_england(logical_date)  # as every task dates itself (runtime.business_date)
    # A run that failed on a mail outage: the outage's one notice tells operations (see
    # cdop.mail.outages), not one a run for as long as it lasts.
    if delivery.RelayOutage.MARK not in (failure_text or ""):
        task_failures.plan_task_failure(settings, dag_id=dag_id, task_id=task_id, run_id=run_id,
                                        failure_text=failure_text, today=day)
    mailer = SmtpMailer(settings.smtp, settings.policy.mail_from)
    try:
        report = delivery.deliver(settings, mailer, kinds=[task_failures.KIND, outages.KIND],
                                  actor=settings.actor)
    finally:
        mailer.close()
    log.info("failure notice %s.%s: %s", dag_id, task_id, report.as_dict())
    return report.as_dict()
