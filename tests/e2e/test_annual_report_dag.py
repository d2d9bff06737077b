"""End to end: the cdop_annual_report DAG with dag.test() on both CDOP databases; the
email arrives at a real SMTP server with the PDF attached; the trigger form's year is
validated."""

from __future__ import annotations

import datetime as dt

import pytest

from cdop.confidentiality.documents import pdf_text
from tests.conftest import run_dag
from tests.support.annual_report import load_known_counts

DAG_ID = "cdop_annual_report"


def _states(dagrun) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dagrun.get_task_instances()}


def test_scheduled_run_builds_the_due_year_once_and_emails_the_pdf(settings, smtp_server, dagbag):
    load_known_counts(settings)
    # 2 June 2026: the report for 2025/26 is due (policy date 06-01) and not yet released.
    run = run_dag(dagbag, DAG_ID, dt.date(2026, 6, 2))
    assert _states(run) == {"choose_year": "success", "build_report": "success",
                            "send_report": "success"}
    by_to = {m["To"]: m for m in smtp_server.messages()}
    # Both editions: the public one to the distribution list, the confidential one to the
    # partners' secure address.
    assert set(by_to) == {"safeguarding.partnership@example.gov.uk", "cdrp.partners@example.nhs.net"}
    assert by_to["cdrp.partners@example.nhs.net"]["Subject"].startswith("CONFIDENTIAL:")
    message = by_to["safeguarding.partnership@example.gov.uk"]
    assert message["X-CDOP-Report-Year"] == "2026"
    [pdf] = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert "Comparison with England" in pdf_text(pdf.get_content())
    assert (settings.home / "annual_reports" / "2026" / "annual-report-2026.html").is_file()

    # The next day nothing is due: the build is skipped and nothing is sent again.
    run = run_dag(dagbag, DAG_ID, dt.date(2026, 6, 3))
    assert _states(run) == {"choose_year": "success", "build_report": "skipped",
                            "send_report": "success"}
    assert len(smtp_server.messages()) == 2


def test_trigger_form_year_is_validated(dagbag):
    from airflow.sdk.exceptions import ParamValidationError

    param = dagbag.get_dag(DAG_ID).params.get_param("year")
    assert param.schema["minimum"] == 2010 and param.schema["maximum"] == 2100
    assert "31 March" in param.description
    for bad in (1999, 2101, "twenty", 2026.5):
        with pytest.raises(ParamValidationError):
            param.resolve(bad)
    assert param.resolve(2026) == 2026
    assert param.resolve(None) is None  # empty: build the report that is due


def test_a_bad_year_in_the_run_conf_is_refused(dagbag):
    dag = dagbag.get_dag(DAG_ID)
    with pytest.raises(Exception, match="(?i)year|param|valid"):
        dag.test(logical_date=dt.datetime(2026, 6, 2, 9, tzinfo=dt.UTC), run_conf={"year": 1999})
