"""The case report and the coordinator's check, on SQLite and PostgreSQL, with real
templates, the real PDF renderer and the real SMTP server on loopback:

- a report is built only for a case newly ready for panel, once; what it holds (and does
  not: no date of birth, no name, schools by type), encrypted at rest;
- a report is drafted from the pseudonymised copy of the returns: an identifier in a
  return's free text is replaced by its role's label, the original kept for the office;
- a report returned with comments goes back to the office; approval is recorded with
  who and when; the Airflow answer never overrides a decision made elsewhere.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from cdop.confidentiality.documents import pdf_text
from cdop.intake.notifications import register_notifications
from cdop.panel import case_reports, report_check
from cdop.panel.case_reports import assemble_reports, decide
from cdop.panel.report_check import record_check, reports_to_check
from cdop.requests.returns import record_return_content
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case
from cdop.store.models import AuditEvent, CaseReport, ChronologyEntry
from cdop.store.storage import file_store
from cdop.validation import InputError
from cdop_airflow.sending import send_pending
from tests.conftest import cli
from tests.support.clock import cli_on
from tests.support.panel import SCHOOL, gate_for, ready_case, received

D = dt.date
BUILT = D(2027, 1, 11)


def _reports(settings) -> list[SimpleNamespace]:
    with unit_of_work(settings) as uow:
        return [SimpleNamespace(**{c.key: getattr(r, c.key) for c in CaseReport.__table__.columns})
                for r in uow.session.scalars(select(CaseReport).order_by(CaseReport.case_id, CaseReport.version))]


def _days_before_death(timing: str) -> int:
    if "on the day of death" in timing:
        return 0
    amount, unit, side = re.search(r"(\d+) (days?|weeks|months) (before|after) death", timing).groups()
    days = int(amount) * {"day": 1, "days": 1, "weeks": 7, "months": 30}[unit]
    return days if side == "before" else -days


def test_report_for_a_case_newly_ready_holds_what_the_panel_needs_and_no_identifier(agencies, tmp_path):
    settings = agencies
    number, ids = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH", "GPHC", "SCH1"),
                             investigations=("post_mortem", "cdrm"))
    # A case still gathering information gets no report.
    register_notifications(settings, [{
        "forenames": "Ottoline", "surname": "Prendergast", "date_of_birth": "2020-01-01",
        "date_of_death": "2026-11-20", "sex": "male", "place_of_death": "home", "expected": "yes",
        "agencies": ["RUH"], "notified_on": "2026-11-21"}], today=D(2026, 11, 21), first_row=None)

    assert assemble_reports(settings, BUILT) == {"built": [number], "blocked": []}
    assert assemble_reports(settings, BUILT) == {"built": [], "blocked": []}  # rerun: nothing new
    [report] = _reports(settings)
    assert (report.version, report.status, report.gate_findings) == (1, "awaiting_check", [])
    assert report.pdf_path == f"reports/{number}/v1/{number}-report-v1.pdf.enc"

    # Encrypted at rest: neither file is readable as HTML or PDF.
    for relative in (report.html_path, report.pdf_path):
        raw = file_store(settings).get(relative)
        assert not raw.startswith(b"%PDF") and b"<html" not in raw and b"Chronology" not in raw

    with pytest.raises(InputError, match="reason"):
        case_reports.export_report(settings, number, tmp_path / "refused", reason=" ")
    assert not (tmp_path / "refused").exists()
    html_file, pdf_file = case_reports.export_report(settings, number, tmp_path / "out",
                                                     reason="Quality check before panel")
    with unit_of_work(settings) as uow:
        exported = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "report_exported")).one()
        assert (exported.reason, exported.details["version"]) == ("Quality check before panel", 1)
    html, pdf = html_file.read_text(), pdf_file.read_bytes()
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    folded = " ".join(text.split())
    for expected in (number, "1-4 years", "Female", "Hospital", "Unexpected",
                     "Riverside University Hospitals NHS Trust", "Education / school A", "GP practice A",
                     "RUH summary: known to the service", "post_mortem concluded: natural causes.",
                     "Offered and declined", "Combined chronology"):
        assert expected in folded, expected
    # One chronology merged from all returns, in date order; timing relative to the death,
    # never a calendar date.
    chronology = html[html.index("Combined chronology"):]
    timings = re.findall(r'<td class="date">(aged [^<]*)</td>', chronology)
    assert len(timings) >= 6
    offsets = [_days_before_death(t) for t in timings]
    assert offsets == sorted(offsets, reverse=True)
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", chronology.split("</table>")[0])
    # Nothing identifying: no name, no date of birth in any written form, no school name.
    gate = gate_for(settings, number)
    assert gate.scan(html) == [] and gate.scan(text) == []
    born = D.fromisoformat(ids["date_of_birth"])
    assert born.isoformat() not in html + text and born.strftime("%d/%m/%Y") not in html + text
    assert SCHOOL not in folded and "Oakfield" not in folded and "Marigold" not in folded


def test_a_return_naming_the_mother_is_drafted_by_role_not_blocked(agencies, tmp_path):
    """Before: the gate blocked the report and the coordinator retyped the entry
    (amend-entry) and rebuilt. Now the report is drafted from the pseudonymised copy:
    the mother is "Parent 1" in it, it waits for the check, and the entry as the agency
    wrote it is unchanged, encrypted, for the office."""
    settings = agencies
    number, ids = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH", "CSC"))
    said = "Home visit; spoke with ROSALIND " + ids["parent_name"].split()[1].upper() + " about support."
    record_return_content(settings, number, "CSC", summary=None, replace=True, today=D(2026, 12, 1), entries=[
        {"date": "2026-10-20", "what_happened": said}])
    assert assemble_reports(settings, BUILT) == {"built": [number], "blocked": []}
    [report] = _reports(settings)
    assert report.status == "awaiting_check" and report.gate_findings == []
    assert [(r["field"], r["label"], r["severity"]) for r in report.replacements] == [
        ("parent_name", "Parent 1", "stop")]
    assert report.replacements[0]["where"] == "chronology entry 2 (CSC)"  # numbered within the case, by date
    html, _pdf = case_reports.export_report(settings, number, tmp_path / "out", reason="Check the draft")
    written = html_lib.unescape(html.read_text())
    assert "Home visit; spoke with Parent 1 about support." in written
    assert gate_for(settings, number).scan(written) == []
    with unit_of_work(settings) as uow:
        kept = list(uow.session.scalars(select(ChronologyEntry.description).where(
            ChronologyEntry.case_id == get_case(uow, number).id)))
    assert said in kept  # the original, for the office


def test_a_date_of_birth_or_nhs_number_in_a_summary_is_replaced_by_its_label(agencies, tmp_path):
    settings = agencies
    number, ids = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH",))
    born = D.fromisoformat(ids["date_of_birth"])
    nhs = ids["nhs_number"]
    record_return_content(settings, number, "RUH", summary=f"Seen since {born:%-d %B %Y}; NHS no {nhs[:3]} "
                          f"{nhs[3:6]} {nhs[6:]}.", entries=[], today=D(2026, 12, 1))
    assemble_reports(settings, BUILT)
    [report] = _reports(settings)
    assert report.status == "awaiting_check"
    assert [r["label"] for r in report.replacements] == ["the child's date of birth", "the child's NHS number"]
    html, _pdf = case_reports.export_report(settings, number, tmp_path / "out", reason="Check the draft")
    assert "Seen since the child's date of birth; NHS no the child's NHS number." in html_lib.unescape(html.read_text())


def test_a_report_returned_with_comments_goes_back_and_approval_records_who_and_when(agencies, smtp_server):
    settings = agencies
    number, ids = ready_case(settings, notified=D(2026, 11, 2))
    assemble_reports(settings, BUILT)

    # Returning needs comments, and the comments must not name anyone.
    result = cli_on(D(2027, 1, 12), "report", "return", number, "--comments", " ", "--today", "2027-01-12")
    assert result.returncode == 2 and "field 'comments': are required" in result.stderr
    result = cli_on(D(2027, 1, 12), "report", "return", number, "--comments", f"Ask {ids['parent_name']} first.",
                    "--today", "2027-01-12")
    assert result.returncode == 2 and "contains an identifier" in result.stderr
    assert ids["parent_name"] not in result.stderr
    result = cli_on(D(2027, 1, 12), "report", "return", number, "--comments",
                    "Add the GP's last contact to the chronology.", "--today", "2027-01-12")
    assert result.returncode == 0, result.stderr
    [report] = _reports(settings)
    assert (report.status, report.decided_by, report.comments) == (
        "returned", "test-coordinator", "Add the GP's last contact to the chronology.")
    assert report.decided_at is not None
    # A returned report cannot then be approved; the office gets the comments.
    assert cli_on(D(2027, 1, 12), "report", "approve", number, "--today", "2027-01-12").returncode == 2
    send_pending(settings, kinds=list(case_reports.KINDS))
    [notice] = received(smtp_server, "panel_report_returned")
    assert "Add the GP's last contact to the chronology." in notice.get_body(("plain",)).get_content()
    assert "returned by test-coordinator" in notice.get_body(("plain",)).get_content()

    # The office amends, rebuilds; the new version is approved; a stale decision is refused.
    record_return_content(settings, number, "GPHC", summary=None, today=D(2027, 1, 13), replace=True, entries=[
        {"date": "2026-10-30", "what_happened": "GPHC: last contact, telephone advice."}])
    assert cli_on(D(2027, 1, 13), "report", "build", number, "--today", "2027-01-13").returncode == 0
    result = cli_on(D(2027, 1, 14), "report", "approve", number, "--version", "1", "--today", "2027-01-14")
    assert result.returncode == 2 and "field 'version'" in result.stderr
    result = cli_on(D(2027, 1, 14), "report", "approve", number, "--version", "2", "--today", "2027-01-14")
    assert result.returncode == 0, result.stderr
    view = json.loads(cli("report", "show", number, "--json").stdout)
    assert [(r["version"], r["status"]) for r in view["reports"]] == [(1, "returned"), (2, "approved")]
    assert view["reports"][1]["decided_by"] == "test-coordinator"
    assert cli_on(D(2027, 1, 15), "report", "build", number, "--today", "2027-01-15").returncode == 2  # approved is final


def test_the_airflow_answer_never_overrides_a_decision_made_elsewhere(agencies):
    settings = agencies
    number, _ = ready_case(settings, notified=D(2026, 11, 2))
    assemble_reports(settings, BUILT)
    [item] = reports_to_check(settings, BUILT, offer="20270111T0920")
    assert item == {"case_number": number, "version": 1, "run_id": f"check__{number}__v1__20270111T0920"}
    assert report_check.mark_check_requested(settings, [item], BUILT) == 1
    assert reports_to_check(settings, BUILT) == []  # offered: not again while the wait runs
    wait = settings.policy.report_check_wait_days
    assert reports_to_check(settings, BUILT + dt.timedelta(days=wait)) == []
    assert len(reports_to_check(settings, BUILT + dt.timedelta(days=wait + 1))) == 1  # the wait ran out

    # A return answered without comments is not recorded; the check is offered again.
    outcome = record_check(settings, number, 1, decision="return", comments="", actor="airflow-ui:ada", today=BUILT)
    assert outcome.startswith("not recorded, offered again")
    assert len(reports_to_check(settings, BUILT)) == 1
    assert record_check(settings, number, 1, decision="later", comments=None, actor="x", today=BUILT) == \
        "left undecided"
    # Decided from the CLI (the source of truth); a later Airflow answer is not recorded.
    decide(settings, number, approve=False, comments="Needs the CDRM outcome.", actor="coordinator-cli",
           today=BUILT)
    outcome = record_check(settings, number, 1, decision="approve", comments="", actor="airflow-ui:ada", today=BUILT)
    assert outcome.startswith("not recorded") and "returned by coordinator-cli" in outcome
    [report] = _reports(settings)
    assert (report.status, report.decided_by) == ("returned", "coordinator-cli")
    assert not report_check.awaiting_check(settings, number, 1)
