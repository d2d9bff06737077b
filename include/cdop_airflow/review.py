"""The coordinator's check of a case report as an Airflow Required Action.

A thin subclass of the standard provider's HITLOperator (Airflow 3.1+ human-in-the-loop)
with the CDOP's three answers, and the wait taken from the CDOP policy at run time
(Policy.report_check_wait_days), not fixed when the DAG file is parsed. On Airflow 3.3
the task parks in the `awaiting_input` state (no worker slot, no triggerer); when the
wait runs out the default answer, "Decide later", applies: the run ends, the report
stays awaiting check in the CDOP database (the source of truth), and the next assembly
run offers the check again. So no run waits longer than the policy says.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.providers.standard.operators.hitl import HITLOperator

APPROVE = "Approve"
RETURN = "Return with comments"
LATER = "Decide later"
# The answer in the Required Action -> the decision the CDOP records.
DECISIONS = {APPROVE: "approve", RETURN: "return", LATER: "later"}


def check_wait() -> dt.timedelta:
    from cdop.config import load_policy

    return dt.timedelta(days=load_policy(os.environ.get("CDOP_POLICY_FILE")).report_check_wait_days)


class CoordinatorCheckOperator(HITLOperator):
    """Approve, return with comments, or decide later (the default when the wait runs out)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(options=[APPROVE, RETURN, LATER], defaults=[LATER], multiple=False, **kwargs)

    def execute(self, context):
        self.response_timeout = check_wait()
        return super().execute(context)
