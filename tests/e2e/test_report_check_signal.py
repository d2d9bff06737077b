"""A rebuilt report's check is offered at once, not at the next hourly run: the real
build service, the real signal row in the CDOP database, the triggerer's real trigger
polling it, and the assembly DAG run with dag.test() against the real CDOP database.

rebuild (v2) -> a `signals` row raised in the rebuild's transaction -> the asset
watcher's trigger takes it and fires -> the assembly run it starts offers v2's check as a
Required Action run. Nothing is shared with the triggerer but the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from cdop.panel import case_reports
from cdop.panel.check_signal import raised, signal_check_offer, take_signal
from cdop.requests.returns import amend_summary
from cdop.store.db import unit_of_work
from cdop.store.models import Signal
from tests.conftest import ROOT, run_dag
from tests.support.panel import forget_review_runs, ready_case, review_runs

D = dt.date


def _first_event(trigger) -> object:
    async def first():
        async for event in trigger.run():
            return event

    return asyncio.run(asyncio.wait_for(first(), timeout=60))


@pytest.fixture
def triggerer_env(settings, monkeypatch):
    """The environment a triggerer of this deployment has: the CDOP settings only."""
    monkeypatch.setenv("CDOP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CDOP_ENCRYPTION_KEYS", ",".join(settings.encryption_keys))
    monkeypatch.setenv("CDOP_HOME", str(settings.home))
    return settings


def test_the_dag_watches_the_signal_by_name_and_airflow_keeps_nothing_else(settings, airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from cdop_airflow.triggers import CdopSignalTrigger

    bag = DagBag(dag_folder=str(ROOT / "dags" / "cdop_assemble_case_reports.py"))
    dag = bag.get_dag("cdop_assemble_case_reports")
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    [asset] = dag.timetable.asset_condition.objects
    assert asset.name == "cdop_case_report_rebuilt"
    [watcher] = asset.watchers
    assert isinstance(watcher.trigger, CdopSignalTrigger)
    # What Airflow stores of the trigger: its class and the signal's name, no URL or key.
    path, kwargs = watcher.trigger.serialize()
    assert path == "cdop_airflow.triggers.CdopSignalTrigger"
    assert kwargs == {"signal": "report-check-offer", "poke_interval": 5.0}
    assert settings.database_url not in repr(kwargs)


def test_a_signal_is_taken_once_by_one_of_two_takers(settings):
    with unit_of_work(settings) as uow:
        signal_check_offer(uow.session)
        signal_check_offer(uow.session)  # two rebuilds before the triggerer looked
        uow.commit()
    with unit_of_work(settings) as first, unit_of_work(settings) as second:
        taken = [take_signal(first.session)]
        first.commit()
        taken.append(take_signal(second.session))
        second.commit()
    assert taken == [True, False]
    with unit_of_work(settings) as uow:
        assert raised(uow.session) == 0


def test_a_signal_raised_in_a_rolled_back_transaction_is_never_seen(settings):
    with unit_of_work(settings) as uow:
        signal_check_offer(uow.session)
        # no commit: the rebuild failed
    with unit_of_work(settings) as uow:
        assert uow.session.query(Signal).count() == 0


def test_a_rebuilt_report_is_offered_for_its_check_by_the_run_its_signal_starts(agencies, dagbag, triggerer_env):
    from cdop_airflow.triggers import CdopSignalTrigger

    settings = agencies
    number, _ = ready_case(settings, notified=D(2026, 11, 2), seed=5)
    built = D(2027, 2, 1)
    forget_review_runs(f"check__{number}__")
    run_dag(dagbag, "cdop_assemble_case_reports", built)
    assert [r for r, _ in review_runs(f"check__{number}__")] == [f"check__{number}__v1__{built:%Y%m%d}T0900"]
    with unit_of_work(settings) as uow:
        assert raised(uow.session) == 0  # the first build is offered by the run that built it
    # The coordinator returns v1, amends the summary and rebuilds (as from the CLI).
    case_reports.decide(settings, number, approve=False, comments="Add the GP's last contact",
                        actor="coordinator", today=built)
    amend_summary(settings, number, "GPHC", summary="GPHC summary: last contact two days before the death.")
    rebuilt = case_reports.build_report(settings, number, today=built, actor="coordinator")
    assert (rebuilt.version, rebuilt.status) == (2, "awaiting_check")
    with unit_of_work(settings) as uow:
        [signal] = uow.session.query(Signal).all()
        assert signal.name == "report-check-offer"  # a name and a time, nothing else

    # The triggerer's watcher takes the signal and fires ...
    event = _first_event(CdopSignalTrigger(signal="report-check-offer", poke_interval=0.1))
    assert event.payload == {"signal": "report-check-offer"}
    with unit_of_work(settings) as uow:
        assert raised(uow.session) == 0
    # ... and the run it starts (the same hour: no hourly run in between) offers v2.
    run_dag(dagbag, "cdop_assemble_case_reports", built, hour=10)
    offered = dict(review_runs(f"check__{number}__v2__"))
    assert offered == {f"check__{number}__v2__{built:%Y%m%d}T1000": {"case_number": number, "version": 2}}
    run_dag(dagbag, "cdop_assemble_case_reports", built, hour=10)  # a rerun offers nothing twice
    assert len(review_runs(f"check__{number}__v2__")) == 1


def test_the_trigger_waits_while_the_database_is_away_and_names_no_url(monkeypatch, caplog, tmp_path):
    from cdop_airflow.triggers import CdopSignalTrigger

    monkeypatch.setenv("CDOP_DATABASE_URL", "postgresql+psycopg2://cdop:s3cret@127.0.0.1:1/nowhere")
    monkeypatch.setenv("CDOP_HOME", str(tmp_path))
    monkeypatch.setenv("CDOP_DEMO", "1")

    async def two_polls():
        runner = CdopSignalTrigger(signal="report-check-offer", poke_interval=0.05).run()
        try:
            await asyncio.wait_for(runner.__anext__(), timeout=1.0)
        except TimeoutError:
            return "still waiting"
        return "fired"

    assert asyncio.run(two_polls()) == "still waiting"
    assert "could not be read" in caplog.text and "s3cret" not in caplog.text and "nowhere" not in caplog.text
