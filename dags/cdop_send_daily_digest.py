"""
### Send the daily digest

Every working day, email the coordinator (CDOP policy `digest_recipients`) one digest:
overdue returns by agency with working days overdue and ladder step; cases whose
returns are all in but that still wait on another process, and for how long; cases
newly ready for panel; and cases past the NCMD deadline (48 hours from the death) with
no notification recorded.

* **Schedule**: daily at 07:30 UTC, after the chase. Weekends and bank holidays do
  nothing, and nothing is sent on a day with nothing to report.
* **Exactly once**: the digest's business key is (digest / date).
* **Confidentiality**: case numbers only.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from cdop_airflow.common import DEFAULT_ARGS, START_DATE

ACTOR = "airflow:cdop_send_daily_digest"


@dag(
    dag_id="cdop_send_daily_digest",
    schedule="30 7 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["cdop", "chasing", "operations"],
    doc_md=__doc__,
)
def cdop_send_daily_digest():
    @task.short_circuit
    def check_working_day() -> bool:
        """Go on only on a working day (weekends and bank holidays do nothing)."""
        from airflow.sdk import get_current_context

        from cdop.requests.chasing import is_working_day
        from cdop_airflow.runtime import business_date, settings

        return is_working_day(settings(ACTOR), business_date(get_current_context()))

    @task
    def plan_digest() -> int:
        """Queue today's digest unless there is nothing to report; return 1 if queued, else 0."""
        from airflow.sdk import get_current_context

        from cdop.requests.digest import plan_digest
        from cdop_airflow.runtime import business_date, settings

        return int(plan_digest(settings(ACTOR), business_date(get_current_context())) is not None)

    @task
    def send_digest(planned: int) -> dict:
        """Send the pending digest; fail (and retry) if it could not be sent."""
        from cdop.requests.digest import KIND
        from cdop_airflow.runtime import settings
        from cdop_airflow.sending import send_pending

        return send_pending(settings(ACTOR), kinds=[KIND])

    planned = plan_digest()
    check_working_day() >> planned
    send_digest(planned)


cdop_send_daily_digest()
