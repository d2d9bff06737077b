"""What every CDOP DAG shares: default_args (with the failure notice), the tag
vocabulary. Cheap to import: the scheduler parses DAG files every 30 seconds, so nothing
heavy is imported here (the callback imports what it needs when it runs)."""

from __future__ import annotations

import datetime as dt
import logging

OWNER = "cdop"

# The one tag vocabulary; the DAG-integrity test rejects any other tag.
TAGS = frozenset({"cdop", "intake", "requests", "chasing", "investigations", "panel",
                  "reporting", "recommendations", "operations"})

log = logging.getLogger(__name__)


def notify_task_failed(context) -> None:
    """on_failure_callback: a task failed after all its retries. Email the operations
    address (Policy.operations_email) through the outbox, once per DAG, task and run,
    with the DAG id, task id, run id and case numbers only. Never raises: a notice that
    cannot be sent stays pending and goes with the next one."""
    try:
        from cdop_airflow.sending import send_task_failure

        ti = context["ti"]
        send_task_failure(
            dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
            failure_text=str(context.get("exception") or ""),
            # The moment runtime.business_date dates the run's tasks by (run_after for a
            # run without a logical date): the notice carries the run's day, in England.
            logical_date=context.get("logical_date") or getattr(context.get("dag_run"), "run_after", None),
        )
    except Exception as exc:  # the task has failed already; say so in its log, briefly
        log.error("could not notify the operations address of the failure (%s)", type(exc).__name__)


DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=15),
    "on_failure_callback": notify_task_failed,
}

START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def report_rebuilt_asset():
    """The asset whose events start an assembly run at once: the triggerer polls the CDOP
    database for the rebuild's signal, takes it and records an event (no identifier
    anywhere; cdop.panel.check_signal)."""
    from airflow.sdk import Asset, AssetWatcher

    from cdop_airflow.triggers import CdopSignalTrigger

    trigger = CdopSignalTrigger(signal="report-check-offer", poke_interval=5.0)
    return Asset("cdop_case_report_rebuilt", watchers=[AssetWatcher(name="cdop_report_rebuilt_signal",
                                                                    trigger=trigger)])
