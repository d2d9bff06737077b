"""Factor lines, modifiable factors and the NCMD export, on SQLite and PostgreSQL.

- an analysis is refused for a case never discussed at a panel meeting, writing nothing;
- the SQL form of the modifiable-factor rule agrees with the Python form, and the count
  by domain the annual report reads is right;
- `cdop ncmd export` writes one CSV per form section (case numbers and codes only),
  owner-only, the same bytes on a rerun; an identifier in any cell refuses it naming the
  file and the field, writing nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import stat

import pytest
from sqlalchemy import select

from cdop.intake.cases import describe_case
from cdop.panel.analysis import modifiable_factors_by_domain, record_analysis
from cdop.panel.case_reports import assemble_reports, decide
from cdop.panel.meetings import add_meeting, allocate_cases
from cdop.rules.modifiable import case_modifiable, has_modifiable_factor
from cdop.store.db import unit_of_work
from cdop.store.models import Analysis, AnalysisFactor, AuditEvent, Case
from cdop.validation import InputError
from tests.support.annual_report import add_case
from tests.support.clock import cli_on
from tests.support.panel import ready_case

D = dt.date
MEETING = D(2027, 3, 4)
FORM = {
    "category": "acute_medical",
    "learning": "Safety-netting advice on discharge was not written down.",
    "factors": [
        {"domain": "child", "factor": "chronic_condition", "grade": 1, "notes": "Asthma, well controlled."},
        {"domain": "service", "factor": "recognition", "grade": 2, "notes": "Deterioration not recognised."},
        {"domain": "physical", "factor": "air_quality", "grade": 0},
    ],
    "recommendations": [{"agency": "RUH", "text": "Audit written safety-netting advice.", "due_on": "2027-09-30"}],
}


def test_no_analysis_for_a_case_never_discussed_at_a_meeting(agencies):
    settings = agencies
    number, _ = ready_case(settings, notified=D(2026, 11, 2))
    assemble_reports(settings, D(2027, 1, 11))
    decide(settings, number, approve=True, comments=None, actor="coordinator", today=D(2027, 1, 12))
    with pytest.raises(InputError) as refused:
        record_analysis(settings, number, FORM, today=D(2027, 3, 5), actor="coordinator")
    assert [(p.field, p.message) for p in refused.value.problems] == [
        ("case", "has not been discussed at a panel meeting: allocate it to a meeting first")]
    assert describe_case(settings, number)["stage"] == "ready_for_panel"
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(Analysis)) is None


def test_the_rule_in_sql_agrees_with_python_and_counts_by_domain(settings):
    rng = random.Random(15)
    domains = ("child", "social", "physical", "service")
    expected_by_domain = {d: [0, 0] for d in domains}
    with unit_of_work(settings, "test") as uow:
        for _ in range(120):
            case = add_case(uow.session, died=D(2025, 6, 1), age_days=400)
            grades = [rng.choice((0, 1, 2)) for _ in range(rng.randint(0, 4))]
            lines = [(rng.choice(domains), g) for g in grades]
            analysis = Analysis(case_id=case.id, reviewed_on=D(2026, 1, 10), category="infection",
                                modifiable=case_modifiable(grades), recorded_by="test",
                                finalised_on=D(2026, 1, 10))
            uow.session.add(analysis)
            uow.session.flush()
            for domain, grade in lines:
                uow.session.add(AnalysisFactor(analysis_id=analysis.id, domain=domain, factor_code="other",
                                               grade=grade))
            for domain in {d for d, _ in lines}:
                expected_by_domain[domain][1] += 1
                expected_by_domain[domain][0] += any(d == domain and g == 2 for d, g in lines)
        uow.commit()
    with unit_of_work(settings) as uow:
        in_sql = dict(uow.session.execute(select(Analysis.id, has_modifiable_factor())).all())
        in_python = {a.id: case_modifiable([f.grade for f in a.factors]) == "yes"
                     for a in uow.session.scalars(select(Analysis))}
        assert in_sql == in_python and any(in_sql.values()) and not all(in_sql.values())
        by_domain = modifiable_factors_by_domain(uow.session, D(2025, 4, 1), D(2026, 3, 31))
        assert by_domain == {d: {"modifiable": m, "with_factor": n} for d, (m, n) in expected_by_domain.items()}
        assert modifiable_factors_by_domain(uow.session, D(2026, 4, 1), D(2027, 3, 31)) == {
            d: {"modifiable": 0, "with_factor": 0} for d in domains}


def _read(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_ncmd_export_writes_each_section_gate_checked_and_private(agencies, tmp_path):
    settings = agencies
    number, ids = ready_case(settings, notified=D(2026, 11, 2))
    assemble_reports(settings, D(2027, 1, 11))
    decide(settings, number, approve=True, comments=None, actor="coordinator", today=D(2027, 1, 12))
    add_meeting(settings, meets_on=MEETING, today=D(2027, 1, 4))
    allocate_cases(settings, D(2027, 1, 12))
    result = record_analysis(settings, number, FORM, today=D(2027, 3, 8), actor="coordinator")
    assert result["modifiable"] == "yes"

    out = tmp_path / "ncmd"
    run = cli_on(D(2027, 4, 2), "ncmd", "export", "--year", "2027", "--to", str(out), "--today", "2027-04-02")
    assert run.returncode == 0, run.stderr
    assert "1 analyses, 3 factor lines, 1 recommendations" in run.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "analysis.csv", "factors.csv", "learning.csv", "manifest.json", "recommendations.csv"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.iterdir())

    [row] = _read(out / "analysis.csv")
    assert row == {"case_number": number, "review_year": "2026/27", "meeting_date": "2027-03-04",
                   "reviewed_on": "2027-03-04", "finalised_on": "2027-03-08", "expected": "no",
                   "category_code": "acute_medical", "category_label": "Acute medical or surgical condition",
                   "modifiable_code": "yes", "modifiable_label": "Modifiable factors identified",
                   "factor_lines": "3", "factors_graded_2": "1"}
    factors = _read(out / "factors.csv")
    assert [(f["line"], f["domain_code"], f["factor_code"], f["grade"], f["grade_label"]) for f in factors] == [
        ("1", "child", "chronic_condition", "1", "Factor present but not contributory"),
        ("2", "service", "recognition", "2", "Factor may have contributed (modifiable)"),
        ("3", "physical", "air_quality", "0", "Information not available")]
    assert _read(out / "learning.csv") == [{"case_number": number, "learning": FORM["learning"]}]
    [rec] = _read(out / "recommendations.csv")
    assert (rec["organisation"], rec["due_on"], rec["status"]) == (
        "Riverside University Hospitals NHS Trust", "2027-09-30", "agreed")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sections"]["factors.csv"]["rows"] == 3
    assert manifest["sections"]["analysis.csv"]["columns"][0] == "case_number"
    # Nothing identifying anywhere in the export.
    everything = "\n".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    for key in ("forenames", "surname", "parent_name", "sibling_name", "school", "postcode", "address"):
        assert ids[key] not in everything, key
    assert ids["date_of_birth"] not in everything and ids["date_of_death"] not in everything

    # A rerun writes the same bytes; other years hold nothing.
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert cli_on(D(2027, 4, 2), "ncmd", "export", "--year", "2027", "--to", str(out), "--today", "2027-04-02").returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    empty = tmp_path / "2026"
    assert cli_on(D(2027, 4, 2), "ncmd", "export", "--year", "2026", "--to", str(empty), "--today", "2027-04-02").returncode == 0
    assert _read(empty / "analysis.csv") == []

    # A text that names someone (here: the school, recorded for the family after the
    # analysis) stops the whole export, naming the file, the field (the recorded school,
    # and the places layer's school too) and where: row and column, never the value;
    # nothing is written, and the message says how a false alarm is released.
    with unit_of_work(settings) as uow:
        analysis = uow.session.scalar(select(Analysis).join(Case).where(Case.case_number == number))
        analysis.factors[0].notes = f"Attended {ids['school']} until the autumn."
        uow.commit()
    blocked_dir = tmp_path / "blocked"
    run = cli_on(D(2027, 4, 2), "ncmd", "export", "--year", "2027", "--to", str(blocked_dir), "--today", "2027-04-02")
    assert run.returncode == 2
    assert ("field 'factors.csv': contains an identifier (school, unrecorded.school) at row 1, "
            'column "notes": nothing was exported') in run.stderr, run.stderr
    assert "cdop gate held" in run.stderr
    assert ids["school"] not in run.stderr + run.stdout
    assert not blocked_dir.exists()
    # Bad years are refused, naming the field.
    future = cli_on(D(2027, 4, 2), "ncmd", "export", "--year", "2031", "--to", str(blocked_dir), "--today", "2027-04-02")
    assert future.returncode == 2 and "field 'year'" in future.stderr
    with unit_of_work(settings) as uow:
        events = list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "ncmd_exported")))
        assert len(events) == 3 and events[0].actor == "test-coordinator"
