"""
### Notify the panel

Every day: allocate approved cases to meetings, send the panel its papers, and the
weekly list of newly notified deaths.

* **Allocation**: each case whose report the coordinator approved goes on the next
  meeting after today with room, oldest death first; a neonatal death (under 28 days)
  goes to a neonatal meeting where any is ahead, otherwise to a general one.
* **Papers**: `panel_notice_working_days` working days (default 7) before a meeting,
  each member is sent the agenda and the pack (each case's approved anonymised report
  as a PDF), once per member per meeting. Members whose address is not on a secure route
  get a note saying where the papers are, not the papers. A case allocated after the
  pack went goes out as an addendum with only that case.
* **New deaths**: once a week (`panel_new_deaths_weekday`, default Monday) members on a
  secure route are sent the deaths notified in the previous seven days, anonymised: case
  number, age band, expected or unexpected. A run any later day that week still sends it.
* **The gate**: every message (text, HTML and each attached PDF's text) is checked for
  the identifiers of every case it mentions before it is sent; a match fails the task
  naming the fields, never the values.
* **Exactly once**: business keys meeting/member/pack, case/member/addendum/meeting,
  week/member/deaths; a rerun sends nothing twice.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from cdop_airflow.common import DEFAULT_ARGS, START_DATE

ACTOR = "airflow:cdop_notify_panel"


@dag(
    dag_id="cdop_notify_panel",
    schedule="30 7 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["cdop", "panel"],
    doc_md=__doc__,
)
def cdop_notify_panel():
    @task
    def allocate_cases() -> dict:
        """Put each approved case on the next suitable meeting with room; return counts."""
        from airflow.sdk import get_current_context

        from cdop.panel.meetings import allocate_cases
        from cdop_airflow.runtime import business_date, settings

        result = allocate_cases(settings(ACTOR), business_date(get_current_context()))
        return {"allocated": len(result["allocated"]), "waiting": len(result["waiting"])}

    @task
    def plan_papers(allocated: dict) -> dict:
        """Queue the pack for each member of meetings whose papers are due, and addenda."""
        from airflow.sdk import get_current_context

        from cdop.panel.papers import plan_panel_papers
        from cdop_airflow.runtime import business_date, settings

        return plan_panel_papers(settings(ACTOR), business_date(get_current_context()))

    @task
    def plan_new_deaths_list() -> int:
        """Queue this week's anonymised list of newly notified deaths for each member."""
        from airflow.sdk import get_current_context

        from cdop.panel.papers import plan_new_deaths_list
        from cdop_airflow.runtime import business_date, settings

        return plan_new_deaths_list(settings(ACTOR), business_date(get_current_context()))

    @task
    def send_panel_mail(papers: dict, deaths: int) -> dict:
        """Send every pending pack, addendum and list; fail (and retry) if any could not go."""
        from cdop.panel.meetings import KINDS
        from cdop_airflow.runtime import settings
        from cdop_airflow.sending import send_pending

        return send_pending(settings(ACTOR), kinds=list(KINDS))

    send_panel_mail(plan_papers(allocate_cases()), plan_new_deaths_list())


cdop_notify_panel()
