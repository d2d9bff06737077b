"""
### Review a case report (the coordinator's check)

One run per case report awaiting the coordinator's check, started by
`cdop_assemble_case_reports` with the conf `{"case_number", "version"}` (case numbers
only). The run shows the coordinators a **Required Action** in the Airflow UI, assigned
to the Airflow users in Policy `coordinator_airflow_users` only, who are told by email
(case number only):

* **Approve**: the case goes on the agenda of the next suitable panel meeting
  (`cdop_notify_panel` allocates it and sends the papers).
* **Return**: the coordinator writes the comments on the case's CDOP page (where they
  are checked by the anonymisation gate and kept encrypted); the Required Action has no
  free-text field, so no comment is ever kept in Airflow's database.
* **Decide later**: leaves the report waiting; this is also the answer when the wait
  (Policy `report_check_wait_days`, default 14 days) runs out, so no run stays open for
  long. The next assembly run offers the check again.

The CDOP database is the source of truth: a decision already recorded from the CLI
(`cdop report approve|return`) or the operations pages stands. A run that starts after
such a decision ends at once; an answer given here afterwards is not recorded.

* **Schedule**: none (triggered per report).
* **Confidentiality**: conf, logs and XCom carry the case number and version only; the
  report itself is read on the case's CDOP page (it is encrypted at rest; each reading
  is audited), which the Required Action links.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, task

from cdop_airflow.common import DEFAULT_ARGS, START_DATE

ACTOR = "airflow:cdop_review_case_report"

BODY = """\
**Case report {{ params.case_number }}, version {{ params.version }}** waits for your check
before it can go to the panel.

* [Read the report](/cdop/cases/{{ params.case_number }}/reports/{{ params.version }}) in the
  browser (each reading is audited), and its history on
  [the case's page](/cdop/cases/{{ params.case_number }}#report).
* **Approve**: the case goes on the agenda of the next suitable panel meeting.
* **Return**: then write what to amend on the case's page in CDOP (*Approve or return the
  case report*): comments are checked for identifiers there and never kept in Airflow.
* **Decide later**: leave it waiting. You can also decide from the CLI:
  `cdop report approve {{ params.case_number }}` or
  `cdop report return {{ params.case_number }} --comments "..."`.

A decision already recorded elsewhere stands; an answer here is then not recorded.
"""


@dag(
    dag_id="cdop_review_case_report",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=64,
    dagrun_timeout=dt.timedelta(days=62),  # backstop: the check itself gives up far sooner
    default_args=DEFAULT_ARGS,
    tags=["cdop", "panel", "reporting"],
    doc_md=__doc__,
    params={
        "case_number": Param("", type="string", description="The case number (e.g. CDOP-2026-0001)."),
        "version": Param(1, type="integer", minimum=1, description="The report version to check."),
    },
)
def cdop_review_case_report():
    from cdop_airflow.review import CoordinatorCheckOperator

    @task.short_circuit
    def report_awaiting_check() -> bool:
        """Go on only if this version still waits for the check (not decided elsewhere)."""
        import logging

        from airflow.sdk import get_current_context

        from cdop.panel.report_check import awaiting_check
        from cdop_airflow.runtime import settings

        params = get_current_context()["params"]
        if not params.get("case_number"):
            logging.getLogger(__name__).warning("no case number in the run's conf: nothing to check")
            return False
        waiting = awaiting_check(settings(ACTOR), params["case_number"], int(params["version"]))
        if not waiting:
            logging.getLogger(__name__).info("%s v%s no longer waits for a check",
                                             params["case_number"], params["version"])
        return waiting

    check = CoordinatorCheckOperator(
        task_id="coordinator_check",
        subject="Check case report {{ params.case_number }} (version {{ params.version }})",
        body=BODY,
    )

    @task
    def record_decision(answer: dict) -> str:
        """Record the answer in the CDOP database, unless a decision was made elsewhere."""
        import logging

        from airflow.sdk import get_current_context

        from cdop.panel.report_check import record_check
        from cdop_airflow.review import DECISIONS
        from cdop_airflow.runtime import business_date, settings

        context = get_current_context()
        params = context["params"]
        user = answer.get("responded_by_user") or {}
        who = user.get("name") or user.get("id") or "timeout"
        outcome = record_check(
            settings(ACTOR), params["case_number"], int(params["version"]),
            decision=DECISIONS[answer["chosen_options"][0]],
            comments=None,  # options only: comments are written on the CDOP page
            actor=who, today=business_date(context),  # the plain user name, as on the pages
        )
        logging.getLogger(__name__).info("%s v%s: %s", params["case_number"], params["version"], outcome)
        return outcome

    report_awaiting_check() >> check
    record_decision(check.output)


cdop_review_case_report()
