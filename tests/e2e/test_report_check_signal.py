"""A rebuilt report's check is offered at once, not at the next hourly run: the real
build service, the real signal file, the triggerer's real FileDeleteTrigger, and the
assembly DAG run with dag.test() against the real CDOP database.

rebuild (v2) -> signal file under CDOP_HOME -> the asset watcher's trigger fires and
deletes it -> the assembly run it starts offers v2's check as a Required Action run.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from cdop.panel import case_reports
from cdop.panel.check_signal import signal_path
from cdop.requests.returns import amend_summary
from tests.conftest import ROOT, run_dag
from tests.support.panel import forget_review_runs, ready_case, review_runs

D = dt.date


def _first_event(trigger) -> object:
    async def first():
        async for event in trigger.run():
            return event

    return asyncio.run(asyncio.wait_for(first(), timeout=60))


def test_the_dag_watches_the_file_the_rebuild_leaves(settings, monkeypatch, airflow_db):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.standard.triggers.file import FileDeleteTrigger

    # Parsed as the DAG processor would, with this deployment's CDOP_HOME.
    monkeypatch.setenv("CDOP_HOME", str(settings.home))
    bag = DagBag(dag_folder=str(ROOT / "dags" / "cdop_assemble_case_reports.py"))
    dag = bag.get_dag("cdop_assemble_case_reports")
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    [asset] = dag.timetable.asset_condition.objects
    assert asset.name == "cdop_case_report_rebuilt"
    [watcher] = asset.watchers
    assert isinstance(watcher.trigger, FileDeleteTrigger)
    assert watcher.trigger.filepath == str(signal_path(settings.home))


def test_a_rebuilt_report_is_offered_for_its_check_by_the_run_its_signal_starts(agencies, dagbag):
    settings = agencies
    number, _ = ready_case(settings, notified=D(2026, 11, 2), seed=5)
    built = D(2027, 2, 1)
    forget_review_runs(f"check__{number}__")
    run_dag(dagbag, "cdop_assemble_case_reports", built)
    assert [r for r, _ in review_runs(f"check__{number}__")] == [f"check__{number}__v1__{built:%Y%m%d}T0900"]
    # The coordinator returns v1, amends the summary and rebuilds (as from the CLI).
    case_reports.decide(settings, number, approve=False, comments="Add the GP's last contact",
                        actor="coordinator", today=built)
    amend_summary(settings, number, "GPHC", summary="GPHC summary: last contact two days before the death.")
    signal = signal_path(settings.home)
    assert not signal.exists()
    rebuilt = case_reports.build_report(settings, number, today=built, actor="coordinator")
    assert (rebuilt.version, rebuilt.status) == (2, "awaiting_check")
    assert signal.is_file() and signal.stat().st_mode & 0o077 == 0
    assert number not in signal.read_text()  # a time, nothing else

    # The triggerer's watcher fires on the signal and deletes it ...
    from airflow.providers.standard.triggers.file import FileDeleteTrigger

    event = _first_event(FileDeleteTrigger(filepath=str(signal), poke_interval=0.1))
    assert event.payload is True and not signal.exists()
    # ... and the run it starts (the same hour: no hourly run in between) offers v2.
    run_dag(dagbag, "cdop_assemble_case_reports", built, hour=10)
    offered = dict(review_runs(f"check__{number}__v2__"))
    assert offered == {f"check__{number}__v2__{built:%Y%m%d}T1000": {"case_number": number, "version": 2}}
    run_dag(dagbag, "cdop_assemble_case_reports", built, hour=10)  # a rerun offers nothing twice
    assert len(review_runs(f"check__{number}__v2__")) == 1
