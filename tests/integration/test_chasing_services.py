"""Chasing, waivers, the NCMD, readiness queries and the digest on real SQLite and
PostgreSQL, with a real SMTP server on loopback and the real templates."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from cdop.intake import ncmd
from cdop.intake.investigations import record_investigation
from cdop.intake.ncmd import record_ncmd_notified
from cdop.requests import agency_requests, chasing, digest
from cdop.requests.returns import record_return
from cdop.rules.stages import case_stage
from cdop.sending.delivery import DeliveryFailed
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case, get_request
from cdop.store.models import AuditEvent, OutboxMessage
from cdop.validation import InputError
from cdop.views import worklists
from cdop_airflow.sending import send_pending
from tests.conftest import cli
from tests.support.chasing import chase_day, days, digest_day, notify, received, send_requests
from tests.support.clock import cli_on

D = dt.date
SIMULATE_BUDGET_S = 300
SENT_ON = D(2026, 11, 16)  # requests sent Mon 16 Nov 2026, due Mon 14 Dec
COORDINATOR = "cdop.coordinator@example.nhs.net"


def state(settings, case_number, code) -> dict:
    with unit_of_work(settings) as uow:
        r = get_request(uow, get_case(uow, case_number), code)
        return {"status": r.status, "due_on": r.due_on, "ladder_step": r.ladder_step,
                "next_chase_on": r.next_chase_on, "last_chased_on": r.last_chased_on}


def stage(settings, case_number) -> str:
    with unit_of_work(settings) as uow:
        return case_stage(get_case(uow, case_number)).value


@pytest.fixture
def case(agencies):
    """A case whose requests to RUH and GPHC went out on 16 Nov 2026."""
    number, row = notify(agencies, ["RUH", "GPHC"], on=D(2026, 11, 13), investigations=["post_mortem"])
    send_requests(agencies, SENT_ON)
    return number


def test_sending_the_request_sets_the_due_date_and_first_chase(agencies, case):
    assert state(agencies, case, "RUH") == {
        "status": "sent", "due_on": D(2026, 12, 14), "ladder_step": 0,
        "next_chase_on": D(2026, 12, 21), "last_chased_on": None}


def test_nothing_is_chased_before_its_date_or_on_a_non_working_day(agencies, case, smtp_server):
    assert chasing.plan_chases(agencies, D(2026, 12, 18)) == []
    # Sat 26 Dec and Christmas Day: past the first chase date, but not working days.
    assert chasing.plan_chases(agencies, D(2026, 12, 26)) == []
    assert chasing.plan_chases(agencies, D(2026, 12, 25)) == []
    assert received(smtp_server) == []
    assert state(agencies, case, "RUH")["ladder_step"] == 0


def test_catch_up_after_an_outage_is_one_step_per_run(agencies, case, smtp_server):
    # No run from before the first reminder until after the escalation's date.
    assert len(chasing.plan_chases(agencies, D(2027, 1, 20))) == 2  # step 1 for RUH and GPHC
    send_pending(agencies, kinds=list(chasing.KINDS))
    assert chase_day(agencies, D(2027, 1, 20))["sent"] == 0  # a rerun sends nothing twice
    assert state(agencies, case, "RUH")["next_chase_on"] == D(2027, 1, 21)
    chase_day(agencies, D(2027, 1, 21))
    chase_day(agencies, D(2027, 1, 22))
    chase_day(agencies, D(2027, 1, 25))
    got = sorted((m["key"], m["date"], m["kind"]) for m in received(smtp_server))
    assert got == [
        (f"{case}/GPHC/chase/1", D(2027, 1, 20), "chase_reminder"),
        (f"{case}/GPHC/chase/2", D(2027, 1, 21), "chase_reminder"),
        (f"{case}/GPHC/chase/3", D(2027, 1, 22), "chase_escalation"),
        (f"{case}/RUH/chase/1", D(2027, 1, 20), "chase_reminder"),
        (f"{case}/RUH/chase/2", D(2027, 1, 21), "chase_reminder"),
        (f"{case}/RUH/chase/3", D(2027, 1, 22), "chase_escalation"),
    ]
    assert state(agencies, case, "RUH") | {"due_on": None} == {
        "status": "sent", "due_on": None, "ladder_step": 3, "next_chase_on": None,
        "last_chased_on": D(2027, 1, 22)}


def test_a_step_that_failed_to_send_is_retried_not_skipped(agencies, case, smtp_server):
    smtp_server.restart(drop_on={1, 2, 3})
    with pytest.raises(DeliveryFailed):
        chase_day(agencies, D(2026, 12, 21))
    assert state(agencies, case, "RUH")["ladder_step"] == 0  # not moved up: not sent
    smtp_server.restart()
    chase_day(agencies, D(2026, 12, 22))
    got = sorted((m["key"], m["date"]) for m in received(smtp_server))
    # The step planned on 21 Dec went out on the next run, once, under the same key.
    assert got == [(f"{case}/GPHC/chase/1", D(2026, 12, 21)), (f"{case}/RUH/chase/1", D(2026, 12, 21))]
    assert state(agencies, case, "RUH")["ladder_step"] == 1
    assert state(agencies, case, "RUH")["next_chase_on"] == D(2026, 12, 30)


def test_a_return_stops_the_ladder_even_for_a_step_already_queued(agencies, case, smtp_server):
    chasing.plan_chases(agencies, D(2026, 12, 21))  # steps queued, not yet sent
    record_return(agencies, case, "RUH", received_on=D(2026, 12, 21), today=D(2026, 12, 21))
    report = send_pending(agencies, kinds=list(chasing.KINDS))
    assert report == {"sent": 1, "failed": 0, "skipped": 0, "cancelled": 1}
    assert [m["key"] for m in received(smtp_server)] == [f"{case}/GPHC/chase/1"]
    with unit_of_work(agencies) as uow:
        status = uow.session.scalar(select(OutboxMessage.status).where(
            OutboxMessage.business_key == f"{case}/RUH/chase/1"))
        cancelled = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "message_cancelled"))
        assert status == "cancelled"
        assert cancelled.details["business_key"] == f"{case}/RUH/chase/1"
    for day in days(D(2026, 12, 22), D(2027, 1, 29)):
        chase_day(agencies, day)
    keys = sorted(m["key"] for m in received(smtp_server))
    assert keys == [f"{case}/GPHC/chase/{n}" for n in (1, 2, 3)]
    assert state(agencies, case, "RUH")["ladder_step"] == 0


def test_reminders_carry_the_case_number_and_no_identifier(agencies, smtp_server):
    # SCH1 is not on a secure route; RUH is. Neither reminder names the child.
    number, row = notify(agencies, ["RUH", "SCH1"], on=D(2026, 11, 13), seed=3)
    send_requests(agencies, SENT_ON)
    chase_day(agencies, D(2026, 12, 21))
    chases = received(smtp_server)
    assert {m["to"] for m in chases} == {"cdr.riverside@nhs.net", "office@oakfield-primary.example.org.uk"}
    for m in chases:
        assert number in m["subject"] and number in m["text"]
        for field in ("forenames", "surname", "nhs_number", "date_of_birth", "postcode"):
            assert row[field] not in m["raw"], field
        assert "5 working days overdue" in m["text"]
        assert "further reminder on 30 December 2026" in m["text"]


def test_waiver_counts_as_done_and_stops_chasing(agencies, case, smtp_server):
    chase_day(agencies, D(2026, 12, 21))
    record_return(agencies, case, "RUH", received_on=D(2026, 12, 22), today=D(2026, 12, 22))
    assert stage(agencies, case) == "gathering_information"
    with pytest.raises(InputError, match="field 'reason': is required"):
        agency_requests.waive_request(agencies, case, "GPHC", reason="  ", today=D(2026, 12, 22))
    with pytest.raises(InputError, match="already returned"):
        agency_requests.waive_request(agencies, case, "RUH", reason="n/a", today=D(2026, 12, 22))
    agency_requests.waive_request(agencies, case, "GPHC", reason="Practice never saw the child", today=D(2026, 12, 22))
    assert state(agencies, case, "GPHC")["status"] == "waived"
    assert state(agencies, case, "GPHC")["next_chase_on"] is None
    assert stage(agencies, case) == "waiting_on_investigations"
    record_investigation(agencies, case, "post_mortem", status="concluded", on=D(2026, 12, 23),
                         today=D(2026, 12, 23))
    assert stage(agencies, case) == "ready_for_panel"
    for day in days(D(2026, 12, 22), D(2027, 1, 29)):
        chase_day(agencies, day)
    assert sorted(m["key"] for m in received(smtp_server)) == [f"{case}/GPHC/chase/1", f"{case}/RUH/chase/1"]
    with unit_of_work(agencies) as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "request_waived"))
        assert event.actor == "test-coordinator" and event.details["agency"] == "GPHC"
        assert "never saw" not in str(event.details)  # free text stays on the request


def test_stage_moves_from_notified_to_ready(agencies):
    number, _ = notify(agencies, ["RUH", "POL"], on=D(2026, 11, 13), investigations=["police", "cdrm"], seed=5)
    assert stage(agencies, number) == "notified"
    send_requests(agencies, SENT_ON)
    assert stage(agencies, number) == "gathering_information"
    record_return(agencies, number, "RUH", received_on=D(2026, 12, 1), today=D(2026, 12, 1))
    record_return(agencies, number, "POL", received_on=D(2026, 12, 2), today=D(2026, 12, 2))
    assert stage(agencies, number) == "waiting_on_investigations"
    record_investigation(agencies, number, "police", status="concluded", on=D(2027, 1, 4), today=D(2027, 1, 4))
    assert stage(agencies, number) == "waiting_on_investigations"
    record_investigation(agencies, number, "cdrm", status="not_applicable", on=None, today=D(2027, 1, 5))
    assert stage(agencies, number) == "ready_for_panel"


def test_queries_for_the_digest_and_the_operations_pages(agencies, case, smtp_server):
    policy = agencies.policy
    late, _ = notify(agencies, ["CSC"], on=D(2026, 12, 18), died=D(2026, 12, 18), seed=7, ncmd=False)
    chase_day(agencies, D(2026, 12, 21))
    with unit_of_work(agencies) as uow:
        s = uow.session
        overdue = worklists.overdue_requests(s, D(2026, 12, 22), policy)
        assert [(r.agency_code, r.case_number, r.working_days_overdue, r.ladder_step, r.last_action,
                 r.next_chase_on) for r in overdue] == [
            ("GPHC", case, 6, 1, "reminder", D(2026, 12, 30)),
            ("RUH", case, 6, 1, "reminder", D(2026, 12, 30))]
        # NCMD: died Fri 18 Dec, deadline 48 hours after that day: flagged from Mon 21 Dec.
        assert ncmd.ncmd_breaches(s, D(2026, 12, 20), policy) == []
        [breach] = ncmd.ncmd_breaches(s, D(2026, 12, 22), policy)
        assert (breach.case_number, breach.days_overdue) == (late, 2)
    record_return(agencies, case, "RUH", received_on=D(2027, 1, 4), today=D(2027, 1, 4))
    agency_requests.waive_request(agencies, case, "GPHC", reason="Not involved", today=D(2027, 1, 4))
    # Concluded on a Saturday: it shows on Monday's list, not Friday's or Tuesday's.
    record_investigation(agencies, case, "post_mortem", status="in_progress", on=D(2026, 12, 1),
                         today=D(2027, 1, 4))
    with unit_of_work(agencies) as uow:
        [waiting] = worklists.waiting_cases(uow.session, D(2027, 1, 6))
        assert (waiting.case_number, waiting.returns_complete_on, waiting.days_waiting) == (case, D(2027, 1, 4), 2)
        assert [(p.kind, p.status, p.since, p.days) for p in waiting.processes] == [
            ("post_mortem", "in_progress", D(2026, 12, 1), 36)]
    record_investigation(agencies, case, "post_mortem", status="concluded", on=D(2027, 1, 9), today=D(2027, 1, 9))
    with unit_of_work(agencies) as uow:
        assert worklists.waiting_cases(uow.session, D(2027, 1, 11)) == []
        assert worklists.newly_ready(uow.session, D(2027, 1, 8), policy) == []
        [ready] = worklists.newly_ready(uow.session, D(2027, 1, 11), policy)
        assert (ready.case_number, ready.ready_since) == (case, D(2027, 1, 9))
        assert worklists.newly_ready(uow.session, D(2027, 1, 12), policy) == []


def test_digest_is_sent_once_and_only_with_something_to_report(agencies, case, smtp_server):
    assert digest.plan_digest(agencies, D(2026, 12, 14)) is None  # nothing overdue yet
    assert digest.plan_digest(agencies, D(2026, 12, 19)) is None  # a Saturday
    chase_day(agencies, D(2026, 12, 21))
    first = digest.plan_digest(agencies, D(2026, 12, 21))
    assert first is not None and digest.plan_digest(agencies, D(2026, 12, 21)) == first
    digest_day(agencies, D(2026, 12, 21))
    [mail] = received(smtp_server, kinds=("daily_digest",))
    assert mail["to"] == COORDINATOR and mail["date"] == D(2026, 12, 21)
    assert "OVERDUE RETURNS (2)" in mail["text"]
    assert f"{case}   due 2026-12-14, 5 working days overdue; step 1 of 3 (reminder on 2026-12-21)" in mail["text"]


def test_a_digest_with_nothing_left_to_say_by_send_time_is_cancelled(agencies, case, smtp_server):
    late, _ = notify(agencies, ["CSC"], on=D(2026, 12, 7), died=D(2026, 12, 4), seed=8, ncmd=False)
    assert digest.plan_digest(agencies, D(2026, 12, 10)) is not None  # the NCMD breach
    record_ncmd_notified(agencies, late, at=dt.datetime(2026, 12, 10, 9, 0))
    assert send_pending(agencies, kinds=[digest.KIND]) == {"sent": 0, "failed": 0, "skipped": 0, "cancelled": 1}
    assert received(smtp_server, kinds=("daily_digest",)) == []


def test_coordinator_commands(agencies, case, env):
    result = cli_on(D(2026, 12, 22), "request", "waive", case, "GPHC", "--reason", "Not involved", "--today", "2026-12-22")
    assert result.returncode == 0, result.stderr
    assert "waived the return from GPHC" in result.stdout
    again = cli_on(D(2026, 12, 22), "request", "waive", case, "GPHC", "--reason", "x", "--today", "2026-12-22")
    assert again.returncode == 2 and "field 'agency': this return has already been waived" in again.stderr

    ok = cli("ncmd", "record", case, "--at", "2026-11-13 10:00", "--today", "2026-11-16")
    assert ok.returncode == 0 and "within the deadline" in ok.stdout
    future = cli("ncmd", "record", case, "--at", "2026-11-20 10:00", "--today", "2026-11-16")
    assert future.returncode == 2 and "field 'at': is in the future" in future.stderr
    bad = cli("ncmd", "record", case, "--at", "13/11/2026")
    assert bad.returncode == 2 and "--at" in bad.stderr

    overdue = cli_on(D(2026, 12, 22), "chase", "overdue", "--today", "2026-12-22")
    assert overdue.returncode == 0
    assert "Riverside University Hospitals NHS Trust (RUH)" in overdue.stdout
    assert "GPHC" not in overdue.stdout  # waived
    shown = cli_on(D(2026, 12, 22), "digest", "show", "--today", "2026-12-22")
    assert "OVERDUE RETURNS (1)" in shown.stdout
    assert cli_on(D(2026, 12, 22), "ncmd", "breaches", "--today", "2026-12-22").stdout.strip() == "no NCMD deadline breaches"
    record = cli_on(D(2026, 12, 22), "investigation", "record", case, "inquest", "--status", "in_progress", "--today", "2026-12-22")
    assert record.returncode == 2 and "field 'kind': must be one of" in record.stderr


def test_simulation_runs_the_dag_services_over_business_days(agencies):
    from cdop.dev.simulate import CountingMailer, simulate

    mailer = CountingMailer()
    summary = simulate(agencies, start=D(2026, 12, 14), working_days=20, seed=11, mailer=mailer, progress=False)
    assert summary.end == D(2027, 1, 13)  # 20 working days, across Christmas and New Year
    assert summary.reminders == mailer.by_kind["chase_reminder"] > 0
    assert summary.requests_sent > 0 and summary.returns > 0 and summary.digests > 0
    assert sum(summary.stages.values()) >= 20  # the demo cases and the new notifications
    with unit_of_work(agencies) as uow:
        chases = uow.session.execute(
            select(OutboxMessage.request_id, OutboxMessage.business_date)
            .where(OutboxMessage.kind.in_(chasing.KINDS))).all()
    assert len(chases) == len(set(chases))  # never two steps to one request on one day
    from cdop.rules.workdays import WorkingCalendar

    assert all(WorkingCalendar().is_working_day(day) for _, day in chases)


@pytest.mark.timeout(SIMULATE_BUDGET_S + 120)  # and the refused run after it
def test_simulate_command_uses_a_throwaway_database_and_the_configured_smtp_server(tmp_path, smtp_server):
    live_db = tmp_path / "live.sqlite"
    live = {"CDOP_DATABASE_URL": f"sqlite:///{live_db}", "CDOP_HOME": str(tmp_path / "live"),
            "CDOP_SMTP_HOST": "127.0.0.1", "CDOP_SMTP_PORT": str(smtp_server.port)}
    # Simulate first loads the whole demo (hundreds of closed cases, their history, and a
    # past panel whose case reports go through the confidentiality gate): most of its 25 s
    # of CPU, with the 12 days a few seconds more. On a 2-core machine at load 10 that was
    # 80 s of wall time, too close to the 120 s of a plain command: the budget is about
    # ten times the CPU it needs.
    result = cli("simulate", "--days", "12", "--start", "2026-12-14", "--seed", "3", "--quiet",
                 env_extra=live, timeout=SIMULATE_BUDGET_S)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"mail goes to SMTP 127.0.0.1:{smtp_server.port}" in out
    assert "simulated 12 working days, 2026-12-14 to 2026-12-31" in out
    for label in ("requests sent", "reminders sent", "escalations sent", "returns received",
                  "cases became ready for panel", "cases by stage at the end"):
        assert label in out
    reminders = int(out.split("reminders sent")[1].split()[0])
    assert reminders > 0
    assert sum(m["X-CDOP-Kind"] == "chase_reminder" for m in smtp_server.messages()) == reminders
    throwaway = out.split(" in ", 1)[1].split(" (mail", 1)[0]
    assert "cdop-simulation-" in throwaway and not __import__("os").path.exists(throwaway)
    assert not live_db.exists() and not (tmp_path / "live").exists()  # the live data untouched

    keep = tmp_path / "kept"
    keep.mkdir()
    (keep / "something").write_text("x")
    refused = cli("simulate", "--days", "1", "--home", str(keep), env_extra=live)
    assert refused.returncode != 0 and "not empty" in refused.stderr
