"""The panel-stage DAGs are wired as documented: the coordinator's check is an Airflow
human-in-the-loop Required Action with the CDOP's answers, a default when the wait runs
out, and the wait taken from the policy at run time; each report gets its own run."""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator


def test_review_run_asks_the_coordinator_and_records_the_answer(dagbag):
    from cdop_airflow.review import APPROVE, LATER, RETURN, CoordinatorCheckOperator

    dag = dagbag.get_dag("cdop_review_case_report")
    assert type(dag.timetable).__name__ == "NullTimetable"  # started per report, never on a schedule
    assert dag.max_active_runs > 1 and dag.dagrun_timeout is not None
    assert set(dag.params) == {"case_number", "version"}
    check = dag.get_task("coordinator_check")
    assert isinstance(check, HITLOperator) and type(check).__name__ == CoordinatorCheckOperator.__name__
    assert check.options == [APPROVE, RETURN, LATER] and check.defaults == [LATER]
    # Options only: no free-text field, so no comment can be kept in Airflow's database.
    assert not check.multiple and list(check.params) == [] and check.serialized_params == {}
    assert [type(n).__name__ for n in check.notifiers] == ["CoordinatorsNotified"]
    assert "{{ params.case_number }}" in check.subject and "cdop report approve" in check.body
    assert check.upstream_task_ids == {"report_awaiting_check"}
    assert dag.get_task("report_awaiting_check").task_type == "_ShortCircuitDecoratedOperator"
    assert dag.get_task("record_decision").upstream_task_ids == {"coordinator_check"}


def test_the_wait_comes_from_the_policy_at_run_time(tmp_path, monkeypatch):
    from cdop_airflow.review import check_wait

    assert check_wait() == dt.timedelta(days=14)  # the default
    policy = tmp_path / "policy.toml"
    policy.write_text("report_check_wait_days = 3\n")
    monkeypatch.setenv("CDOP_POLICY_FILE", str(policy))
    assert check_wait() == dt.timedelta(days=3)


def test_the_check_is_assigned_to_the_coordinators_named_in_policy(tmp_path, monkeypatch):
    from cdop_airflow.review import coordinator_users

    assert coordinator_users() == [{"id": "admin", "name": "admin"}]  # the default
    policy = tmp_path / "policy.toml"
    policy.write_text('coordinator_airflow_users = ["7", "Łukasz.O\'Neill"]\n')
    monkeypatch.setenv("CDOP_POLICY_FILE", str(policy))
    assert [u["id"] for u in coordinator_users()] == ["7", "Łukasz.O'Neill"]
    policy.write_text("coordinator_airflow_users = []\n")  # nobody: refused at start-up
    from cdop.config import ConfigError

    with pytest.raises((ConfigError, ValueError), match="coordinator_airflow_users"):
        coordinator_users()


def test_assembly_offers_each_check_as_its_own_run_exactly_once(dagbag):
    dag = dagbag.get_dag("cdop_assemble_case_reports")
    offer = dag.get_task("offer_check")
    assert offer.operator_class is TriggerDagRunOperator or offer.operator_class.__name__ == "TriggerDagRunOperator"
    partial = offer.partial_kwargs
    assert partial["trigger_dag_id"] == "cdop_review_case_report"
    assert partial["skip_when_already_exists"] is True and partial["logical_date"] is None
    assert partial["openlineage_inject_parent_info"] is False  # conf carries case numbers only
    assert offer.upstream_task_ids == {"reports_to_check"}
    assert dag.get_task("mark_offered").upstream_task_ids == {"offer_check", "reports_to_check"}
    assert dag.get_task("reports_to_check").upstream_task_ids == {"assemble_reports"}
    assert dag.max_active_runs == 1


def test_panel_and_recommendation_dags_plan_then_send(dagbag):
    notify = dagbag.get_dag("cdop_notify_panel")
    assert notify.get_task("send_panel_mail").upstream_task_ids == {"plan_papers", "plan_new_deaths_list"}
    assert notify.get_task("plan_papers").upstream_task_ids == {"allocate_cases"}
    follow = dagbag.get_dag("cdop_follow_up_recommendations")
    assert follow.get_task("send_recommendation_mail").upstream_task_ids == {"plan_follow_ups"}
