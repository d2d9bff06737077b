"""The gate benchmark measures the gate the product runs: each held-out child registered
through intake with its family identifiers, on SQLite and PostgreSQL, and every passage
checked as `cdop gate check --document case_report` checks it, finds exactly what the
benchmark's in-memory gate finds."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from cdop.confidentiality.findings import findings_in_context
from cdop.intake.family import record_family
from cdop.intake.notifications import register_notifications

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from gate_corpus import GateSystem, load_held_out  # noqa: E402


def _register(settings, child) -> str:
    r = child.record
    notified = dt.date.fromisoformat(r["date_of_death"]) + dt.timedelta(days=1)
    row = {
        "forenames": r["forenames"], "surname": r["surname"], "date_of_birth": r["date_of_birth"],
        "date_of_death": r["date_of_death"], "nhs_number": r["nhs_number"], "sex": "female",
        "place_of_death": "hospital", "expected": "no", "address": r["address"], "postcode": r["postcode"],
        "agencies": ["RUH"], "investigations": [], "notified_on": notified.isoformat()}
    [number] = register_notifications(settings, [row], today=notified, first_row=None)
    record_family(settings, number, identifiers=[{"field": f, "value": v} for f, v in child.family])
    return number


def test_every_held_out_passage_gets_the_same_findings_as_the_product_path(agencies):
    settings = agencies
    system = GateSystem(settings)
    differ, with_findings = [], 0
    for child in load_held_out():
        number = _register(settings, child)
        benchmark = system.for_child(child)
        for p in child.passages:
            product = [(f.line, f.column) for f in findings_in_context(settings, number, p.text, "case_report")]
            ours = [_line_col(p.text, start) for start, _ in benchmark(p.text)]
            if product != ours:
                differ.append(p.id)
            with_findings += bool(product)
    assert not differ
    assert with_findings > 100  # (the comparison is not between two empty lists)


def _line_col(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1
