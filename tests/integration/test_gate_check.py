"""`cdop gate check` / `cdop gate decide` and a case report held by a flag until the
coordinator decides it, on SQLite and PostgreSQL with real templates and the real PDF
renderer: findings by field or kind and line:column, never the value; the decision kept
as a fingerprint only, audited, remembered for that case and document."""

from __future__ import annotations

import datetime as dt
import html as html_lib

from sqlalchemy import select

from cdop.confidentiality.findings import findings_in_context
from cdop.panel.case_reports import assemble_reports, export_report, read_approved_report
from cdop.requests.returns import record_return_content
from cdop.store.db import unit_of_work
from cdop.store.models import AuditEvent, CaseReport, GateDecision
from tests.conftest import cli
from tests.support.clock import cli_on
from tests.support.panel import ready_case

D = dt.date
BUILT = D(2027, 1, 11)


def test_gate_check_prints_kinds_and_positions_never_values_with_documented_exit_codes(agencies, tmp_path):
    settings = agencies
    number, ids = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH",))
    surname = ids["surname"] if "surname" in ids else None
    text = tmp_path / "text.txt"

    text.write_text("Seen by the GP at GP practice A.\nMum and Dad were present; Category 8.\n")
    clean = cli("gate", "check", number, "--file", str(text))
    assert clean.returncode == 0, clean.stdout + clean.stderr

    text.write_text("Seen by the GP.\nSpoke with Mrs Tremayne about support.\n")
    flagged = cli("gate", "check", number, "--file", str(text), "--document", "case_report")
    assert flagged.returncode == 3, flagged.stdout + flagged.stderr
    assert "2:12  flag  unrecorded.name" in flagged.stdout
    assert "Tremayne" not in flagged.stdout + flagged.stderr

    text.write_text("Seen on 3 March 2026 at BS1 4DJ; call 07700 900123.\n")
    stopped = cli("gate", "check", number, "--file", str(text), "--document", "chronology")
    assert stopped.returncode == 1
    for kind in ("unrecorded.date", "unrecorded.postcode", "unrecorded.phone"):
        assert kind in stopped.stdout
    assert "BS1" not in stopped.stdout and "07700" not in stopped.stdout
    # The annual report prints its period: a date is not a finding there.
    assert cli("gate", "check", number, "--file", str(text), "--document", "annual_report").stdout.count(
        "unrecorded.date") == 0

    assert cli("gate", "check", number, "--file", str(text), "--document", "novel").returncode == 2
    if surname:
        text.write_text(f"the {surname}s")
        assert cli("gate", "check", number, "--file", str(text)).returncode == 1


def test_a_flag_holds_the_report_until_the_coordinator_marks_it_not_an_identifier(agencies, tmp_path):
    """Before: a flag blocked the build. Now the report is drafted from the pseudonymised
    copy: the name nobody recorded is "[person A]" in it, the report waits for the check,
    and the flag holds its approval until the coordinator decides it."""
    settings = agencies
    number, _ = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH", "CSC"))
    record_return_content(settings, number, "CSC", summary=None, replace=True, today=D(2026, 12, 1), entries=[
        {"date": "2026-10-20", "what_happened": "Home visit; Mrs Tremayne from the charity was present."}])
    assert assemble_reports(settings, BUILT) == {"built": [number], "blocked": []}
    with unit_of_work(settings) as uow:
        [report] = uow.session.scalars(select(CaseReport)).all()
        assert report.status == "awaiting_check" and report.gate_findings == []
        assert [(r["field"], r["label"], r["severity"], r["decision"]) for r in report.replacements] == [
            ("unrecorded.name", "[person A]", "flag", None)]
        assert "Tremayne" not in str(report.replacements)
    held = cli_on(D(2027, 1, 12), "report", "approve", number, "--today", "2027-01-12")
    assert held.returncode == 2 and "1 replacement(s) wait for your decision" in held.stderr, held.stderr

    text = tmp_path / "entry.txt"
    text.write_text("Home visit; Mrs Tremayne from the charity was present.")
    [finding] = findings_in_context(settings, number, text.read_text(), "case_report")
    assert (finding.field, finding.severity, finding.line, finding.column) == ("unrecorded.name", "flag", 1, 13)
    assert "Tremayne" not in finding.context and "[unrecorded.name]" in finding.context

    # A finding that stops the release cannot be marked; a flag can.
    assert cli("gate", "decide", number, "--file", str(text), "--document", "case_report",
               "--finding", "2", "--not-identifier").returncode == 2
    decided = cli("gate", "decide", number, "--file", str(text), "--document", "case_report",
                  "--finding", "1", "--not-identifier")
    assert decided.returncode == 0, decided.stderr
    assert "Tremayne" not in decided.stdout
    with unit_of_work(settings) as uow:
        [row] = uow.session.scalars(select(GateDecision)).all()
        assert (row.document, row.finding_kind, row.decision) == ("case_report", "name", "not_identifier")
        assert "tremayne" not in row.fingerprint.lower() and len(row.fingerprint) == 64
        audit = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "gate_decision")).all()
        assert len(audit) == 1 and "Tremayne" not in str(audit[0].details)
    # Remembered for that case and document: the text passes; another document still flags it.
    assert cli("gate", "check", number, "--file", str(text), "--document", "case_report").returncode == 0
    assert cli("gate", "check", number, "--file", str(text), "--document", "learning").returncode == 3

    # The report's flag is decided on the check page or the CLI: undone as a false alarm,
    # the words kept as written; the report is drafted again and can now be approved.
    undone = cli_on(D(2027, 1, 12), "report", "decide", number, "--replacement", "1", "--undo",
                    "--reason", "A charity worker, not the family.", "--today", "2027-01-12")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "undone: kept as written" in undone.stdout and "v1 drafted again: awaiting_check" in undone.stdout
    assert "Tremayne" not in undone.stdout + undone.stderr
    approved = cli_on(D(2027, 1, 12), "report", "approve", number, "--today", "2027-01-12")
    assert approved.returncode == 0, approved.stderr
    with unit_of_work(settings) as uow:
        [report] = uow.session.scalars(select(CaseReport)).all()
        assert (report.version, report.status, report.gate_findings) == (1, "approved", [])
        assert [(r["field"], r["decision"]) for r in report.replacements] == [("unrecorded.name", "undo")]
    html = read_approved_report(settings, number, actor="test-panel")
    assert "Home visit; Mrs Tremayne from the charity was present." in html_lib.unescape(html)


def test_a_calendar_date_in_a_chronology_entry_stops_the_report(agencies, tmp_path):
    """Before: a calendar date blocked the report. Now the draft replaces it by the date
    placeholder (a stop: replaced, nothing to decide) and the report waits for the check."""
    settings = agencies
    number, _ = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH",))
    record_return_content(settings, number, "RUH", summary="Seen in clinic on 14/09/2026 for a review.",
                          entries=[], today=D(2026, 12, 1))
    assemble_reports(settings, BUILT)
    with unit_of_work(settings) as uow:
        [report] = uow.session.scalars(select(CaseReport)).all()
        assert report.status == "awaiting_check" and report.gate_findings == []
        assert [(r["field"], r["label"], r["severity"]) for r in report.replacements] == [
            ("unrecorded.date", "[date]", "stop")]
        assert report.replacements[0]["where"] == "summary of the RUH return"
    html, _pdf = export_report(settings, number, tmp_path / "out", reason="Check the draft")
    written = html_lib.unescape(html.read_text())
    assert "Seen in clinic on [date] for a review." in written and "14/09/2026" not in written


def test_gate_check_says_a_circumstance_could_identify_the_family(agencies, tmp_path):
    settings = agencies
    number, _ = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH",))
    text = tmp_path / "text.txt"
    text.write_text("The collision happened at 3.15am on Christmas Eve on the M5.\n")
    flagged = cli("gate", "check", number, "--file", str(text), "--document", "annual_report")
    assert flagged.returncode == 3, flagged.stdout + flagged.stderr
    assert "flag  unrecorded.circumstance  (could identify by circumstance)" in flagged.stdout
    assert "M5" not in flagged.stdout and "3.15" not in flagged.stdout
    [found] = findings_in_context(settings, number, text.read_text(), "annual_report")
    assert found.message == "could identify by circumstance"
