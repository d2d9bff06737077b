"""
### Follow up recommendations

Every day, send each recommendation the panel agreed to its organisation (with its
secure portal link), and on working days ask organisations for the step they owe (their
answer, action plan, or evidence and outcome) when it falls due, and every
`recommendation_follow_up_working_days` (default 20) after; past
`recommendation_escalate_after` requests for one step, the next is an escalation to the
organisation's escalation contact or the coordinator. It stops when the coordinator
confirms completion on the evidence (`cdop recommendation confirm R12`) or the
recommendation is not accepted.

* **Exactly once**: business keys case/recommendation-N/recommendation/1 and
  case/recommendation-N/recommendation_reminder/step; a step counts once it is sent,
  so a failed send is retried, never skipped, and a rerun sends nothing twice.
* **The gate**: each message is checked for the case's identifiers before it is sent.
* **Confidentiality**: messages carry the case number and the anonymised text only.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from cdop_airflow.common import DEFAULT_ARGS, START_DATE

ACTOR = "airflow:cdop_follow_up_recommendations"


@dag(
    dag_id="cdop_follow_up_recommendations",
    schedule="0 8 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["cdop", "recommendations"],
    doc_md=__doc__,
)
def cdop_follow_up_recommendations():
    @task
    def plan_follow_ups() -> int:
        """Queue a progress request for each open recommendation due one (working days)."""
        from airflow.sdk import get_current_context

        from cdop.panel.analysis import plan_recommendation_follow_ups
        from cdop_airflow.runtime import business_date, settings

        return len(plan_recommendation_follow_ups(settings(ACTOR), business_date(get_current_context())))

    @task
    def send_recommendation_mail(planned: int) -> dict:
        """Send agreed recommendations and progress requests; fail (and retry) on failures."""
        from cdop.panel.analysis import KINDS
        from cdop_airflow.runtime import settings
        from cdop_airflow.sending import send_pending

        return send_pending(settings(ACTOR), kinds=list(KINDS))

    send_recommendation_mail(plan_follow_ups())


cdop_follow_up_recommendations()
