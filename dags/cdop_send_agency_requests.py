"""
### Send agency requests

For every registered case with agencies not yet asked, send each agency its
information request (the reporting form and the supplementary forms that apply) by
email, set the due date by policy in working days, and record it.

* **Schedule**: every 5 minutes, so a new notification is picked up within minutes.
* **Exactly once**: each message has a business key (case / agency / kind / sequence);
  the task claims it, sends it and marks it sent. A rerun, a retry or two runs at once
  never send a second copy.
* **Confidentiality**: identifiable details go only to agencies on a secure route
  (nhs.net, cjsm.net, gov.uk by default); others get the case number and how to reach
  the CDOP office. Logs and XCom carry case numbers only.
* **Failure**: a message that cannot be sent stays pending; the task fails with the
  SMTP reason and is retried; the next run picks it up in any case.
* **The portal's messages** (sign-in codes, links after a reopen, gate findings for the
  coordinator) go the moment they are queued; one that could not go then (the relay was
  down) goes with the next run of this DAG.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from cdop_airflow.common import DEFAULT_ARGS, START_DATE


@dag(
    dag_id="cdop_send_agency_requests",
    schedule="*/5 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["cdop", "requests"],
    doc_md=__doc__,
)
def cdop_send_agency_requests():
    @task
    def plan_requests() -> int:
        """Queue one outbox message for each agency not yet asked; return how many."""
        from airflow.sdk import get_current_context

        from cdop.requests.agency_requests import plan_agency_requests
        from cdop_airflow.runtime import business_date, settings

        context = get_current_context()
        planned = plan_agency_requests(settings("airflow:cdop_send_agency_requests"),
                                       business_date(context))
        return len(planned)

    @task
    def send_requests(planned: int) -> dict:
        """Send every pending request message; fail (and retry) if any could not be sent."""
        from cdop.requests.agency_requests import KIND
        from cdop_airflow.runtime import settings
        from cdop_airflow.sending import send_pending

        return send_pending(settings("airflow:cdop_send_agency_requests"), kinds=[KIND])

    @task
    def send_portal_messages() -> dict:
        """Send the portal's messages that their live send left pending."""
        from cdop.portal.service import PORTAL_KINDS
        from cdop_airflow.runtime import settings
        from cdop_airflow.sending import send_pending

        return send_pending(settings("airflow:cdop_send_agency_requests"), kinds=list(PORTAL_KINDS))

    send_requests(plan_requests())
    send_portal_messages()


cdop_send_agency_requests()
