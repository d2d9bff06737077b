"""Flags (names nobody recorded) beyond the case report: an outgoing email composed from
free text, and the annual report's learning and recommendations, are held until the
coordinator decides each flag with `cdop gate held` / `cdop gate resolve`, in the same
decisions store as a case report's (per case and document kind, fingerprints only,
audited). Real SQLite, the real SMTP server on loopback, real templates and PDFs."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from cdop.annual_report import build_annual_report
from cdop.confidentiality.year_gate import ReportHeld
from cdop.mail.templating import template_path
from cdop.panel import analysis
from cdop.panel.case_reports import assemble_reports, decide
from cdop.panel.meetings import add_meeting, allocate_cases
from cdop.store.db import unit_of_work
from cdop.store.models import (
    Analysis,
    AnnualReport,
    AuditEvent,
    GateDecision,
    OutboxMessage,
    Recommendation,
)
from cdop_airflow.sending import send_pending
from tests.conftest import cli
from tests.support.annual_report import load_known_counts
from tests.support.clock import cli_on
from tests.support.panel import ready_case, received

D = dt.date
NAME = "Oyelaran"  # a surname nobody recorded, after a title: a flag


def _recommendations_agreed(settings, tmp_path) -> str:
    number, _ = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH", "GPHC"))
    assemble_reports(settings, D(2027, 1, 11))
    decide(settings, number, approve=True, comments=None, actor="coordinator", today=D(2027, 1, 12))
    add_meeting(settings, meets_on=D(2027, 3, 4), today=D(2027, 1, 4))
    allocate_cases(settings, D(2027, 1, 12))
    form = json.loads(template_path("returns/analysis_template.json").read_text())
    form.update(case_number=number, reviewed_on=None)
    form["recommendations"][0]["due_on"] = "2027-03-08"
    form["recommendations"][1]["due_on"] = "2027-09-30"
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps(form))
    result = cli_on(D(2027, 3, 5), "analysis", "record", number, "--file", str(path), "--today", "2027-03-05")
    assert result.returncode == 0, result.stderr
    return number


def test_a_flag_in_an_emails_free_text_holds_the_message_until_the_coordinator_decides(
        agencies, smtp_server, tmp_path):
    settings = agencies
    number = _recommendations_agreed(settings, tmp_path)
    # A recommendation whose text names someone nobody recorded (as text imported from an
    # older system would: the form refuses it at entry).
    with unit_of_work(settings) as uow:
        first = uow.session.scalars(select(Recommendation).order_by(Recommendation.id)).first()
        first.text = f"Ask Mrs {NAME} to repeat the safer sleep advice at every home visit."
        uow.commit()
        rec_id = first.id

    with pytest.raises(Exception, match="held"):  # the run fails loudly, the rest went
        send_pending(settings, kinds=list(analysis.KINDS))
    assert len(received(smtp_server, "recommendation")) == 1  # the other one went
    with unit_of_work(settings) as uow:
        held = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.status == "held"))
        assert held.params["recommendation_id"] == rec_id
        assert held.last_error == "could not be composed (FlagsHeld)"
        message_id = held.id

    listed = cli("gate", "held")
    assert listed.returncode == 3, listed.stdout + listed.stderr
    assert f"message:{message_id}  recommendation, case {number}  (1 flag(s))" in listed.stdout
    assert "unrecorded.name" in listed.stdout and "[unrecorded.name]" in listed.stdout
    assert NAME not in listed.stdout + listed.stderr

    # Bad references are refused naming the field; a stop cannot be "not an identifier".
    assert cli("gate", "resolve", "message:abc", "--finding", "1", "--not-identifier").returncode == 2
    assert cli("gate", "resolve", f"message:{message_id}", "--finding", "2", "--not-identifier").returncode == 2
    resolved = cli("gate", "resolve", f"message:{message_id}", "--finding", "1", "--not-identifier")
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert "back in the outbox" in resolved.stdout and NAME not in resolved.stdout

    with unit_of_work(settings) as uow:
        [row] = uow.session.scalars(select(GateDecision)).all()
        assert (row.document, row.finding_kind, row.decision) == ("recommendation", "name", "not_identifier")
        assert NAME.lower() not in row.fingerprint.lower()
        actions = [a for (a,) in uow.session.execute(select(AuditEvent.action).order_by(AuditEvent.id))]
        assert "gate_decision" in actions and "message_released" in actions
    send_pending(settings, kinds=list(analysis.KINDS))
    assert len(received(smtp_server, "recommendation")) == 2
    assert cli("gate", "held").returncode == 0  # nothing held any more; rerunning is safe
    assert cli("gate", "resolve", f"message:{message_id}", "--finding", "1",
               "--not-identifier").returncode == 2


def test_a_flag_in_the_annual_reports_learning_holds_the_report_until_decided(settings):
    load_known_counts(settings, learning_a=None)
    with unit_of_work(settings) as uow:
        first = uow.session.scalars(select(Analysis).order_by(Analysis.id)).first()
        first.modifiable = "yes"
        first.learning = f"Dr {NAME} noted that safer sleep advice was not repeated after the move."
        uow.commit()
        case_id = first.case_id

    with pytest.raises(ReportHeld) as caught:
        build_annual_report(settings, 2026, today=D(2026, 6, 2))
    assert "learning: unrecorded.name (flag)" in str(caught.value) and NAME not in str(caught.value)
    assert not (settings.home / "annual_reports" / "2026").exists()
    with unit_of_work(settings) as uow:
        row = uow.session.scalar(select(AnnualReport))
        assert row.status == "blocked" and any(f.endswith("learning: unrecorded.name (flag)")
                                               for f in row.gate_findings)

    listed = cli("gate", "held")
    assert listed.returncode == 3, listed.stdout + listed.stderr
    assert "annual-report:2026  (1 flag(s)" in listed.stdout and NAME not in listed.stdout
    resolved = cli("gate", "resolve", "annual-report:2026", "--finding", "1", "--not-identifier")
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    with unit_of_work(settings) as uow:
        [decision] = uow.session.scalars(select(GateDecision)).all()
        assert (decision.case_id, decision.document) == (case_id, "annual_report")

    result = build_annual_report(settings, 2026, today=D(2026, 6, 2))
    html = (result.directory / "annual-report-2026.html").read_text()
    assert NAME in html  # the coordinator said it names nobody: published as written
    assert cli("gate", "held").returncode == 0


def test_the_flags_use_the_identifiers_the_year_gate_decrypted_and_find_the_same(settings):
    """The annual report decrypts each case's identifiers once: the flags in a case's
    published text are sought with the identifiers read for the year gate, not read and
    decrypted again, and are the same flags."""
    from sqlalchemy import event

    from cdop.annual_report.data import (
        scope_identifiers,
        scope_identifiers_by_case,
        year_identifiers,
    )
    from cdop.confidentiality.year_gate import report_flags
    from cdop.store.db import make_engine
    from cdop.store.models import Case

    load_known_counts(settings, learning_a=None)
    with unit_of_work(settings) as uow:
        analyses = uow.session.scalars(select(Analysis).order_by(Analysis.id)).all()[:3]
        case_ids = {a.case_id for a in analyses}
        sources = [(a.case_id, "learning", f"Dr {NAME} noted that safer sleep advice was not repeated.")
                   for a in analyses]
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    with unit_of_work(settings) as uow:
        by_case = scope_identifiers_by_case(uow.session, case_ids)
        assert year_identifiers(by_case) == scope_identifiers(uow.session, case_ids)
        assert all(any(i.field == "child.date_of_death" for i in ids) for ids in by_case.values())
        alone = report_flags(settings, uow.session, sources)
        event.listen(make_engine(settings), "before_cursor_execute", seen)
        try:
            given = report_flags(settings, uow.session, sources, identifiers=by_case)
        finally:
            event.remove(make_engine(settings), "before_cursor_execute", seen)

    assert len(alone) == len(analyses)
    assert [(f.case_id, f.case_number, f.part, f.finding) for f in given] == \
        [(f.case_id, f.case_number, f.part, f.finding) for f in alone]
    encrypted = f"{Case.__tablename__}.{Case.forenames.key}"
    assert statements and not [s for s in statements if encrypted in s or "case_identifiers" in s]
