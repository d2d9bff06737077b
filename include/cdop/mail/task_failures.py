"""The operations address hears of a task that failed after all its retries.

The notice is an outbox message of kind "task_failed" keyed by (DAG, task, run), so a
callback that runs twice, or a rerun of the same run, sends it once. It carries the DAG
id, task id, run id and the case numbers the failure names (each checked against the
cases table), never the exception's text, which may hold a value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.config import Settings
from cdop.mail import outbox
from cdop.mail.mailer import Email
from cdop.store.db import unit_of_work
from cdop.store.models import Case, OutboxMessage

KIND = "task_failed"
ACTOR = "airflow:task-failure"
_CASE_NUMBER = re.compile(r"\b[A-Z]{2,10}-\d{4}-\d{4,6}\b")
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.:+\-]")


def _safe(value: object, limit: int = 250) -> str:
    """An Airflow id as plain printable text (ids are [A-Za-z0-9_.-] and run ids add
    ':', '+'); anything else is replaced so that no header or body can be broken."""
    return _SAFE_ID.sub("_", str(value or ""))[:limit]


def failure_key(dag_id: str, task_id: str, run_id: str) -> str:
    key = outbox.business_key(KIND, dag_id, task_id, run_id)
    if len(key) > 200:  # the business key column's width: keep it unique, not readable
        key = outbox.business_key(KIND, hashlib.sha256(key.encode()).hexdigest())
    return key


def plan_task_failure(settings: Settings, *, dag_id: str, task_id: str, run_id: str,
                      failure_text: str, today: dt.date) -> int:
    """Queue the notice (once per DAG, task and run); return its outbox id. The case
    numbers are those found in `failure_text` that are real case numbers."""
    dag_id, task_id, run_id = _safe(dag_id), _safe(task_id), _safe(run_id)
    candidates = sorted(set(_CASE_NUMBER.findall(failure_text or "")))
    policy = settings.policy
    with unit_of_work(settings, ACTOR) as uow:
        known = sorted(uow.session.scalars(
            select(Case.case_number).where(Case.case_number.in_(candidates)))) if candidates else []
        message, _ = outbox.enqueue(
            uow, settings,
            key=failure_key(dag_id, task_id, run_id),
            kind=KIND,
            to=[policy.operations_email],
            subject=f"{policy.area_name} CDOP: task {dag_id}.{task_id} failed",
            business_date=today,
            secure_route=policy.is_secure_address(policy.operations_email),
            params={"dag_id": dag_id, "task_id": task_id, "run_id": run_id, "case_numbers": known},
        )
        uow.commit()
        return message.id


def compose(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    params = message.params
    context = {
        "dag_id": params["dag_id"],
        "task_id": params["task_id"],
        "run_id": params["run_id"],
        "case_numbers": list(params.get("case_numbers") or []),
        "business_date": message.business_date,
        "area_name": settings.policy.area_name,
        "office": settings.policy.office,
    }
    return outbox.templated_email(message, settings, "task_failed", context)
