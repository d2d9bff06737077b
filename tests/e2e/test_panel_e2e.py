"""End to end, from a case ready for panel to a recommendation's progress request, through
the real DAGs (dag.test), Airflow's real Required Action API, the real SMTP server on
loopback, and both CDOP databases (SQLite and PostgreSQL):

ready -> report built (cdop_assemble_case_reports) -> the coordinator's check offered as a
Required Action and answered through Airflow's API (cdop_review_case_report) -> allocated
and the pack received by each member with the PDF attached and no identifier in any part
of any message or PDF (cdop_notify_panel) -> a case approved later goes as an addendum ->
analysis recorded (CLI) -> case closed -> recommendation sent and, when due, a progress
update requested (cdop_follow_up_recommendations).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from cdop.intake.cases import describe_case
from cdop.panel import case_reports
from cdop.panel import meetings as panel
from cdop.panel.analysis import KINDS as analysis_kinds
from cdop.panel.meetings import add_meeting, add_member, pack_date
from cdop.store.db import unit_of_work
from cdop.store.models import CaseReport, MeetingAllocation
from tests.conftest import OFFICE_POLICY, cli, run_dag
from tests.support.clock import cli_on
from tests.support.ops import airflow_api_environment, token_for
from tests.support.panel import (
    RequiredActionResponder,
    every_part_text,
    forget_review_runs,
    gate_for,
    pdf_attachments,
    ready_case,
    received,
    review_runs,
)

D = dt.date
MEETING = D(2027, 3, 18)  # a Thursday; the papers go 7 working days before: Tue 9 March
MEMBERS = [
    ("Dr Ada Whitcombe", "Designated doctor", "ada.whitcombe@nhs.net"),
    ("Insp. Tom Hale", "Police", "tom.hale@demo.police.cjsm.net"),
    ("Sam Ortiz", "Children's social care", "sam.ortiz@democounty.gov.uk"),
    ("Lee Parry", "Lay member", "lee.parry@example.org"),  # not a secure route
]


@pytest.fixture(scope="module")
def airflow_api(airflow_db, tmp_path_factory):
    """Airflow's API server app in-process, with a coordinator's token."""
    from fastapi.testclient import TestClient

    with airflow_api_environment(tmp_path_factory.mktemp("auth")):
        from airflow.api_fastapi.app import create_app, purge_cached_app

        app = create_app()
        with TestClient(app, base_url="http://airflow.test") as client:
            yield client, token_for("coordinator")
        purge_cached_app()


def _hitl_detail_and_xcom(dagrun):
    """The Required Action as Airflow stored it, and every XCom of the run (as text)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = session.scalar(select(TaskInstance).where(TaskInstance.dag_id == dagrun.dag_id,
                                                       TaskInstance.run_id == dagrun.run_id,
                                                       TaskInstance.task_id == "coordinator_check"))
        detail = session.scalar(select(HITLDetail).where(HITLDetail.ti_id == ti.id))
        session.expunge(detail)
        values = session.scalars(select(XComModel.value).where(XComModel.dag_id == dagrun.dag_id,
                                                               XComModel.run_id == dagrun.run_id)).all()
    return detail, json.dumps([str(v) for v in values], ensure_ascii=False)


def _states(dagrun) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dagrun.get_task_instances()}


def test_ready_case_to_closed_with_recommendation_follow_up(agencies, smtp_server, dagbag, airflow_api,
                                                            tmp_path, monkeypatch):
    settings = agencies
    policy = tmp_path / "policy.toml"
    policy.write_text('coordinator_airflow_users = ["coordinator"]\n' + Path(OFFICE_POLICY).read_text())
    monkeypatch.setenv("CDOP_POLICY_FILE", str(policy))
    client, token = airflow_api
    a, ids_a = ready_case(settings, notified=D(2026, 11, 2), seed=1)
    b, ids_b = ready_case(settings, notified=D(2026, 11, 9), seed=2, agencies=("NCH", "SCH1"))
    for name, role, email in MEMBERS:
        add_member(settings, name=name, role=role, email=email)
    add_meeting(settings, meets_on=MEETING, kind="general", capacity=6, today=D(2027, 1, 4))
    gate = gate_for(settings, a, b)
    forget_review_runs("check__")

    # 1. The assembly DAG builds both reports and offers each check as a Required Action.
    built_on = D(2027, 2, 1)
    dagrun = run_dag(dagbag, "cdop_assemble_case_reports", built_on)
    assert _states(dagrun)["mark_offered"] == "success", _states(dagrun)
    with unit_of_work(settings) as uow:
        reports = {r.case_id: r for r in uow.session.scalars(select(CaseReport))}
        assert {r.status for r in reports.values()} == {"awaiting_check"}
        assert {r.check_requested_on for r in reports.values()} == {built_on}
    offered = review_runs(f"check__{a}__v1__")
    assert offered == [(f"check__{a}__v1__{built_on:%Y%m%d}T0900", {"case_number": a, "version": 1})]
    run_dag(dagbag, "cdop_assemble_case_reports", built_on)  # a rerun builds and offers nothing new
    assert len(review_runs("check__")) == 2
    with unit_of_work(settings) as uow:
        assert uow.session.query(CaseReport).count() == 2

    # 2. The coordinator approves A in the Airflow UI's Required Action (its REST API). The
    # action is assigned to the coordinators only (a panel member's answer is refused), and
    # they are told by email, case number only. The action has no free-text field; free
    # text sent through the API anyway is not kept in Airflow's database nor passed on.
    review = dagbag.get_dag("cdop_review_case_report")
    free_text = "Łukasz Quennell-O’Neill's mother, 07700 900123"
    responder = RequiredActionResponder(client, token, "cdop_review_case_report", "coordinator_check",
                                        {"chosen_options": ["Approve"], "params_input": {"comments": free_text}},
                                        first_try_as=token_for("panel", role="user"))
    responder.start()
    dagrun = review.test(logical_date=None, run_conf={"case_number": a, "version": 1})
    responder.join(timeout=30)
    assert responder.error is None and responder.response.status_code == 200, responder.response.text
    assert responder.refused.status_code == 403, responder.refused.text
    assert _states(dagrun) == {"report_awaiting_check": "success", "coordinator_check": "success",
                               "record_decision": "success"}
    view = json.loads(cli("report", "show", a, "--json").stdout)
    assert view["reports"][0]["status"] == "approved"
    assert view["reports"][0]["decided_by"] == "coordinator"
    detail, stored = _hitl_detail_and_xcom(dagrun)
    assert detail.assigned_users == [{"id": "coordinator", "name": "coordinator"}]
    assert detail.params == {} and detail.params_input == {}
    assert "Quennell" not in stored and "07700" not in stored
    [notice] = received(smtp_server, "panel_report_check_requested")
    assert notice["X-Envelope-To"] == settings.policy.coordinator_email
    assert a in notice["Subject"] and gate.scan("\n".join(every_part_text(notice))) == []

    # 3. On the papers day the panel DAG allocates A and sends the pack.
    papers_day = pack_date(settings.policy, MEETING)
    assert papers_day == D(2027, 3, 9)
    run_dag(dagbag, "cdop_notify_panel", papers_day - dt.timedelta(days=1))  # the day before: nothing
    assert received(smtp_server, "panel_pack") == []
    run_dag(dagbag, "cdop_notify_panel", papers_day)
    run_dag(dagbag, "cdop_notify_panel", papers_day)  # a rerun sends nothing twice
    packs = received(smtp_server, "panel_pack")
    assert sorted(m["X-Envelope-To"] for m in packs) == sorted(e for _, _, e in MEMBERS)
    for message in packs:
        attached = pdf_attachments(message)
        if message["To"].endswith("example.org"):
            assert attached == {}  # not a secure route: a note, no papers
            assert a not in message.get_body(("plain",)).get_content()
            continue
        assert list(attached) == [f"{a}-report-v1.pdf"]
        assert a in message.get_body(("plain",)).get_content()
        assert gate.scan("\n".join(every_part_text(message))) == []

    # 4. B, approved from the CLI after the papers went, goes as an addendum with B only.
    # Its review run, starting after the decision, sees it and ends without asking.
    assert cli_on(D(2027, 3, 10), "report", "approve", b, "--today", "2027-03-10").returncode == 0
    dagrun = review.test(logical_date=None, run_conf={"case_number": b, "version": 1})
    assert _states(dagrun)["coordinator_check"] == "skipped"
    run_dag(dagbag, "cdop_notify_panel", D(2027, 3, 11))
    addenda = received(smtp_server, "panel_addendum")
    assert len(addenda) == 3 and len(received(smtp_server, "panel_pack")) == 4
    for message in addenda:
        assert list(pdf_attachments(message)) == [f"{b}-report-v1.pdf"]
        assert gate.scan("\n".join(every_part_text(message))) == []
    with unit_of_work(settings) as uow:
        assert sorted(a.pack for a in uow.session.scalars(select(MeetingAllocation))) == ["addendum", "pack"]

    # 5. After the meeting the analysis is recorded; the case closes.
    analysis = tmp_path / "analysis.json"
    analysis.write_text(json.dumps({
        "category": "infection", "modifiable": "yes", "learning": "Earlier review of febrile children.",
        "factors": [{"domain": "service", "factor": "treatment_delay", "grade": 2,
                     "notes": "Delay in review out of hours."}],
        "recommendations": [{"agency": "RUH", "text": "Audit out-of-hours review times.",
                             "due_on": "2027-06-30"}],
    }))
    result = cli_on(D(2027, 3, 19), "analysis", "record", a, "--file", str(analysis), "--today", "2027-03-19")
    assert result.returncode == 0, result.stderr
    assert describe_case(settings, a)["stage"] == "closed"

    # 6. The recommendation goes to the organisation, and when due a progress update is asked.
    run_dag(dagbag, "cdop_follow_up_recommendations", D(2027, 3, 19))
    run_dag(dagbag, "cdop_follow_up_recommendations", D(2027, 6, 30))
    [agreed] = received(smtp_server, "recommendation")
    [reminder] = received(smtp_server, "recommendation_reminder")
    assert agreed["X-Envelope-To"] == reminder["X-Envelope-To"] == "cdr.riverside@nhs.net"
    assert reminder["X-CDOP-Business-Date"] == "2027-06-30"
    assert "Audit out-of-hours review times." in reminder.get_body(("plain",)).get_content()
    for message in (agreed, reminder):
        assert gate.scan("\n".join(every_part_text(message))) == []
    # Nothing any panel-stage message carried names the child or family (every part).
    kinds = (*case_reports.KINDS, *panel.KINDS, *analysis_kinds)
    panel_mail = [m for m in smtp_server.messages() if m["X-CDOP-Kind"] in kinds]
    assert len(panel_mail) == 10  # with the coordinators' notice of the check
    for message in panel_mail:
        assert gate.scan("\n".join(every_part_text(message))) == [], message["X-CDOP-Kind"]
