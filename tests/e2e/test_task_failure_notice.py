"""A task that fails after all its retries tells the operations address: a DAG run with
dag.test() against the migrated metadata DB, the email read from the real SMTP server."""

import datetime as dt

from sqlalchemy import select, update

from cdop.store.db import unit_of_work
from cdop.store.models import Agency, OutboxMessage
from tests.conftest import run_dag
from tests.e2e.test_send_agency_requests import CHILDREN, DAG_ID, DAY, parts_text, register

IDENTIFIERS = ("Percival", "Ashgrove", "Henrietta", "Moorcroft", "9434765919", "4010232137", "DT1 2CD",
               "2026-11-10", "2011-04-02", "Westshire Police")


def test_a_task_that_fails_after_its_retries_emails_the_operations_address_ids_only(
    agencies, smtp_server, dagbag
):
    register(agencies)
    with unit_of_work(agencies) as uow:  # a carriage return in a name: POL's request is held
        uow.session.execute(update(Agency).where(Agency.code == "POL")
                            .values(name="Westshire Police\rBcc: leak@example.org"))
        uow.commit()
    dag = dagbag.get_dag(DAG_ID)
    task = dag.get_task("send_requests")
    retries, task.retries = task.retries, 0  # fail for good at once
    try:
        run = run_dag(dagbag, DAG_ID, DAY)
    finally:
        task.retries = retries
    assert run.state == "failed"
    assert run.get_task_instance("send_requests").state == "failed"

    messages = smtp_server.messages()
    notices = [m for m in messages if m["X-CDOP-Kind"] == "task_failed"]
    assert len(notices) == 1
    notice = notices[0]
    assert notice["To"] == agencies.policy.operations_email
    text = parts_text(notice)
    assert DAG_ID in text and "send_requests" in text and run.run_id in text
    assert "CDOP-2026-0001" in text  # the case whose message was held
    assert not any(i in text for i in IDENTIFIERS)
    assert "Bcc" not in text and "invalid header" not in text  # no exception text at all
    # The rest of the batch went: six requests (the coroner's among them: one child's death
    # is a suspected suicide), the police's held.
    assert len([m for m in messages if m["X-CDOP-Kind"] == "agency_request"]) == 6
    assert len(CHILDREN) == 2

    # The notice is keyed by DAG, task and run: running the callback again sends nothing.
    from cdop_airflow.sending import send_task_failure

    report = send_task_failure(dag_id=DAG_ID, task_id="send_requests", run_id=run.run_id,
                               failure_text="CDOP-2026-0001", logical_date=run.logical_date)
    assert report["sent"] == 0
    assert len([m for m in smtp_server.messages() if m["X-CDOP-Kind"] == "task_failed"]) == 1
    with unit_of_work(agencies) as uow:
        row = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "task_failed"))
        assert row.status == "sent" and row.params["case_numbers"] == ["CDOP-2026-0001"]
        assert row.business_date == dt.date(2026, 11, 26)
