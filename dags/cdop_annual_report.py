"""
### Annual report

Build the child death review partners' annual report for the year ending 31 March, in
two editions from one build: the **public** one (disclosure-controlled tables, charts,
learning and recommendations, as a self-contained HTML report, a PDF and a CSV of every
table under `CDOP_HOME/annual_reports/<year>`), emailed to the partnership's
distribution list (`Policy.annual_report_recipients`); and the **confidential** one
(counts in full, marked confidential on every page, stored encrypted), sent by secure
email only to `annual_report.confidential_recipients`.

* **Schedule**: daily at 06:30 UTC, acting only when a report is *due*: the latest year
  whose release date (`Policy.annual_report_month_day`, default 06-01, after the year
  closes on 31 March) has come and that has not been released yet. Otherwise the build
  is skipped in seconds. Why not a yearly cron on that date? The policy is read at run
  time (from the policy file), never when the scheduler parses this file, so a change of
  date needs no redeploy; and a day the scheduler was down, or a build that failed (say
  the anonymisation gate found a name in a learning statement), is picked up on the next
  day instead of waiting a year.
* **By hand**: *Trigger DAG* with the form's **Report year** (e.g. 2026 for April 2025 to
  March 2026) builds that year now, whether or not it was released before. The year is
  validated in the form (a whole number, 2010-2100) and again at run time (the year must
  have ended).
* **Re-running a year** replaces that year's outputs atomically (a new directory, then
  one rename of the `<year>` link). The email's business key is (annual_report, year,
  content hash): a rebuild with identical content sends nothing; different content is
  released as the next version and sent again (a queued older version is cancelled).
* **Disclosure control**: counts from 1 to `Policy.suppression_threshold` (default 7)
  show `*`; secondary suppression continues until an interval audit of every table
  published together (single years, pooled years, since the panel began) leaves each
  hidden count at least as many possible values as the suppression range.
* **Confidentiality**: every output (HTML, PDF text, CSVs, email) passes the
  anonymisation gate against the identifiers of every case in the year and their
  families; a blocked report is not released and the task fails naming the document and
  the matched *fields* (never values). Logs and XCom carry the year and version only.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from cdop_airflow.common import DEFAULT_ARGS, START_DATE

ACTOR = "airflow:cdop_annual_report"


@dag(
    dag_id="cdop_annual_report",
    schedule="30 6 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["cdop", "reporting"],
    doc_md=__doc__,
    params={
        "year": Param(
            None,
            type=["null", "integer"],
            minimum=2010,
            maximum=2100,
            title="Report year",
            description=(
                "Year ending 31 March to build, e.g. 2026 for April 2025 to March 2026. "
                "Leave empty to build the report that is due, if any."
            ),
        ),
    },
)
def cdop_annual_report():
    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def choose_year() -> int | None:
        """The year chosen in the trigger form, or the year due and not yet released."""
        from airflow.sdk import get_current_context

        from cdop.annual_report import due_report_year
        from cdop.annual_report.service import check_year
        from cdop_airflow.runtime import business_date, settings

        context = get_current_context()
        today = business_date(context)
        chosen = context["params"].get("year")
        if chosen is not None:
            check_year(int(chosen), today)
            return int(chosen)
        return due_report_year(settings(ACTOR), today)

    @task
    def build_report(year: int) -> dict:
        """Build, gate-check and release the year's two editions; queue their emails; return the version."""
        from airflow.sdk import get_current_context

        from cdop.annual_report import build_annual_report
        from cdop_airflow.runtime import business_date, settings

        today = business_date(get_current_context())
        return build_annual_report(settings(ACTOR), year, today=today, actor=ACTOR).summary()

    @task(trigger_rule="none_failed")
    def send_report() -> dict:
        """Send the queued annual report emails (each edition's PDF); fail (and retry) if one could not be sent."""
        from cdop.annual_report import KIND
        from cdop_airflow.runtime import settings
        from cdop_airflow.sending import send_pending

        return send_pending(settings(ACTOR), kinds=[KIND])

    build_report(choose_year()) >> send_report()


cdop_annual_report()
