"""
### Chase overdue returns

Every working day, walk each overdue agency request one step up the chase ladder:
by default a reminder 5 working days after the due date, a second at 10, then an
escalation at 15 to the agency's escalation contact with the coordinator in copy (or
to the coordinator if the agency has none). The ladder lives in the CDOP policy.

* **Schedule**: daily at 07:00 UTC. Weekends and England and Wales bank holidays (from
  the `holidays` library) do nothing: the first task says so and skips the rest.
* **What is due**: open requests whose next chase date has come, read by an index, so
  the sweep's cost follows what is due, not the size of the backlog.
* **Exactly once**: each step is an outbox message keyed (case / agency / chase / step);
  the request moves up the ladder only once its step has been sent, so a failed send is
  retried, never skipped, and a rerun sends nothing twice.
* **Outage**: days the DAG did not run are caught up on the next run, one step per
  request per run: an agency never gets two steps at once.
* **Returns**: recording a return (or a waiver) stops the ladder at once; a step queued
  but not yet sent is cancelled.
* **Confidentiality**: reminders and escalations carry the case number only.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from cdop_airflow.common import DEFAULT_ARGS, START_DATE

ACTOR = "airflow:cdop_chase_overdue_returns"


@dag(
    dag_id="cdop_chase_overdue_returns",
    schedule="0 7 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["cdop", "chasing"],
    doc_md=__doc__,
)
def cdop_chase_overdue_returns():
    @task.short_circuit
    def check_working_day() -> bool:
        """Go on only on a working day (weekends and bank holidays do nothing)."""
        from airflow.sdk import get_current_context

        from cdop.requests.chasing import is_working_day
        from cdop_airflow.runtime import business_date, settings

        return is_working_day(settings(ACTOR), business_date(get_current_context()))

    @task
    def plan_chases() -> int:
        """Queue the next ladder step of every request due one today; return how many."""
        from airflow.sdk import get_current_context

        from cdop.requests.chasing import plan_chases
        from cdop_airflow.runtime import business_date, settings

        return len(plan_chases(settings(ACTOR), business_date(get_current_context())))

    @task
    def send_chases(planned: int) -> dict:
        """Send every pending reminder and escalation; fail (and retry) if any could not be sent."""
        from cdop.requests.chasing import KINDS
        from cdop_airflow.runtime import settings
        from cdop_airflow.sending import send_pending

        return send_pending(settings(ACTOR), kinds=list(KINDS))

    planned = plan_chases()
    check_working_day() >> planned
    send_chases(planned)


cdop_chase_overdue_returns()
