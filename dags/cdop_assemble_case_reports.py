"""
### Assemble case reports

Every hour, build the anonymised case report of each case newly ready for panel (every
agency has returned or been waived, every process has concluded, no report yet), and
offer each report awaiting the coordinator's check as a Required Action: one
`cdop_review_case_report` run per report.

* **The report**: HTML and PDF from Jinja2 templates: summary (age band, sex, place of
  death, expected or unexpected), family circumstances, the returns and their
  summaries, the investigations' outcomes, one chronology merged from all returns in
  date order. Files are kept encrypted under `$CDOP_HOME/reports/<case>/v<version>`.
* **The gate**: the HTML, its text and the PDF's extracted text are checked for the
  case's and the family's identifiers. A match blocks the report and the coordinator is
  emailed which field matched and where (never the value), to redact and rebuild
  (`cdop report build`). Returned reports' comments go to the office the same way.
* **At once after a rebuild**: a report rebuilt from the CLI or a page leaves a signal
  file; the triggerer's watcher turns it into an event of the asset
  `cdop_case_report_rebuilt`, which starts this DAG within seconds, so the rebuilt
  report's check is offered then, not at the next hourly run (which still offers it if
  the signal is lost).
* **Idempotent**: a case with a report is not built again; a report's check is offered
  once per assembly run (run id `check__<case>__v<version>__<run's hour>`), and again
  only after the wait ran out or an answer could not be recorded.
* **Confidentiality**: logs, XCom and the review runs' conf carry case numbers only.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from cdop_airflow.common import DEFAULT_ARGS, START_DATE, report_rebuilt_asset

ACTOR = "airflow:cdop_assemble_case_reports"


@dag(
    dag_id="cdop_assemble_case_reports",
    # Hourly, and at once when a report is rebuilt (the asset's watcher).
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("20 * * * *", timezone="UTC"),
                                 assets=[report_rebuilt_asset()]),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["cdop", "panel", "reporting"],
    doc_md=__doc__,
)
def cdop_assemble_case_reports():
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

    @task
    def assemble_reports() -> dict:
        """Build the report of every case newly ready for panel; return counts."""
        from airflow.sdk import get_current_context

        from cdop.panel.case_reports import assemble_reports
        from cdop_airflow.runtime import business_date, settings

        result = assemble_reports(settings(ACTOR), business_date(get_current_context()))
        return {"built": len(result["built"]), "blocked": len(result["blocked"])}

    @task
    def send_coordinator_notices(built: dict) -> dict:
        """Send the coordinator the blocked-report and returned-report notices."""
        from cdop.panel.case_reports import KINDS
        from cdop_airflow.runtime import settings
        from cdop_airflow.sending import send_pending

        return send_pending(settings(ACTOR), kinds=list(KINDS))

    @task
    def reports_to_check() -> list[dict]:
        """List the reports whose check is to be offered: run ids and case numbers only."""
        from airflow.sdk import get_current_context

        from cdop.panel.report_check import reports_to_check
        from cdop_airflow.runtime import business_date, settings

        context = get_current_context()
        moment = context.get("logical_date") or context["dag_run"].run_after
        items = reports_to_check(settings(ACTOR), business_date(context), offer=f"{moment:%Y%m%dT%H%M}")
        return [{"trigger_run_id": i["run_id"],
                 "conf": {"case_number": i["case_number"], "version": i["version"]}} for i in items]

    offer_check = TriggerDagRunOperator.partial(
        task_id="offer_check",
        trigger_dag_id="cdop_review_case_report",
        logical_date=None,
        skip_when_already_exists=True,
        openlineage_inject_parent_info=False,
    )

    @task
    def mark_offered(items: list[dict]) -> int:
        """Record in the CDOP database that each report's check was offered today."""
        from airflow.sdk import get_current_context

        from cdop.panel.report_check import mark_check_requested
        from cdop_airflow.runtime import business_date, settings

        reports = [{"case_number": i["conf"]["case_number"], "version": i["conf"]["version"],
                    "run_id": i["trigger_run_id"]} for i in items]
        return mark_check_requested(settings(ACTOR), reports, business_date(get_current_context()))

    built = assemble_reports()
    send_coordinator_notices(built)
    to_check = reports_to_check()
    built >> to_check
    offer_check.expand_kwargs(to_check) >> mark_offered(to_check)


cdop_assemble_case_reports()
