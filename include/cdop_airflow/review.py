"""The coordinator's check of a case report as an Airflow Required Action.

A thin subclass of the standard provider's HITLOperator (Airflow 3.1+ human-in-the-loop)
with the CDOP's three answers, and the wait taken from the CDOP policy at run time
(Policy.report_check_wait_days), not fixed when the DAG file is parsed. On Airflow 3.3
the task parks in the `awaiting_input` state (no worker slot, no triggerer); when the
wait runs out the default answer, "Decide later", applies: the run ends, the report
stays awaiting check in the CDOP database (the source of truth), and the next assembly
run offers the check again. So no run waits longer than the policy says.

Who may answer: only the Airflow users named in Policy.coordinator_airflow_users (Airflow
3.3 assigns a Required Action to user ids; it has no assignment by role). They are told
by email (case number only) when the check is offered.

No free text: the Required Action offers options only. A comment returning a report may
name the child (that is why the CDOP gate checks it), and whatever a Required Action is
answered with stays in Airflow's own tables (hitl_detail.params_input, XCom, the task's
listeners) where every Airflow user with access to the DAG can read it. So "Return"
here sends the coordinator to the case's CDOP page, where the comments are written,
gated and stored encrypted in the CDOP database. Should an API caller send free text
anyway, it is wiped from hitl_detail (the execution API's own reset of a response) and
never passed on.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import BaseNotifier

APPROVE = "Approve"
RETURN = "Return (write the comments on the CDOP case page)"
LATER = "Decide later"
# The answer in the Required Action -> the decision the CDOP records.
DECISIONS = {APPROVE: "approve", RETURN: "return_on_page", LATER: "later"}
NOTIFIER_ACTOR = "airflow:cdop_review_case_report"

log = logging.getLogger(__name__)


def _policy():
    from cdop.config import load_policy

    return load_policy(os.environ.get("CDOP_POLICY_FILE"))


def check_wait() -> dt.timedelta:
    return dt.timedelta(days=_policy().report_check_wait_days)


def coordinator_users() -> list[dict[str, str]]:
    """The Required Action's assigned users (HITLUser: id and name), from policy."""
    return [{"id": user_id, "name": user_id} for user_id in _policy().coordinator_airflow_users]


class CoordinatorsNotified(BaseNotifier):
    """Email the coordinators that a report waits for their check (case number only),
    through the CDOP outbox: once per offer, however often the task is retried. A mail
    server that is down does not hold up the check: the message stays queued and the
    next assembly run sends it."""

    def notify(self, context) -> None:
        from cdop.panel.case_reports import KIND_CHECK_REQUESTED
        from cdop.panel.report_check import notify_check_requested
        from cdop_airflow.runtime import business_date, settings
        from cdop_airflow.sending import send_pending

        params = context["params"]
        cdop = settings(NOTIFIER_ACTOR)
        notify_check_requested(cdop, params["case_number"], int(params["version"]),
                               offer=str(context["run_id"])[:100], today=business_date(context))
        try:
            send_pending(cdop, kinds=[KIND_CHECK_REQUESTED])
        except Exception as exc:  # noqa: BLE001 - reported, retried by the next assembly run
            log.warning("the coordinators' notice for %s is queued, not sent (%s)",
                        params["case_number"], type(exc).__name__)


class CoordinatorCheckOperator(HITLOperator):
    """Approve, return (comments on the CDOP page), or decide later (the default when the
    wait runs out). Options only: no free-text field."""

    def __init__(self, **kwargs) -> None:
        super().__init__(options=[APPROVE, RETURN, LATER], defaults=[LATER], multiple=False,
                         notifiers=[CoordinatorsNotified()], **kwargs)
        if self.params:
            raise ValueError("the coordinator's check takes no free-text field")

    def execute(self, context):
        self.response_timeout = check_wait()
        self.assigned_users = coordinator_users()
        return super().execute(context)

    def execute_complete(self, context, event):
        if "error" not in event and event.get("params_input"):
            # The form has no field: this came from an API call. Reset the stored response
            # (the execution API's upsert clears a received response), and pass nothing on.
            reset_hitl_detail(self, context["task_instance"].id)
            log.warning("free text sent with the Required Action was discarded")
            event = {**event, "params_input": {}}
        return super().execute_complete(context, event)


# Airflow's execution-time helper that writes a Required Action's detail; not a public
# API (airflow.sdk.execution_time), so it is called here only, and
# tests/unit/test_private_apis.py fails if its parameters change on an upgrade.
HITL_UPSERT_PARAMETERS = ("ti_id", "options", "subject", "body", "defaults", "multiple", "params",
                          "assigned_users")


def reset_hitl_detail(operator: HITLOperator, ti_id) -> None:
    """Write the Required Action's detail again as the operator defines it, with no
    params: the execution API's upsert clears a response received meanwhile."""
    from airflow.sdk.execution_time.hitl import upsert_hitl_detail

    upsert_hitl_detail(ti_id=ti_id, options=operator.options, subject=operator.subject,
                       body=operator.body, defaults=operator.defaults, multiple=operator.multiple,
                       params={}, assigned_users=None)

