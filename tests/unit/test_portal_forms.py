"""The reporting form as data (data/reporting_form.toml): it agrees with the taxonomy,
every field is typed, and what a browser sends is read with each problem naming its
field (and chronology row), never the value."""

from __future__ import annotations

import datetime as dt

from cdop.portal.forms import FIELD_TYPES, all_sections, read_form, sections_for
from cdop.taxonomy import taxonomy

TODAY = dt.date(2026, 12, 1)


def test_the_form_data_agrees_with_the_taxonomy():
    forms = {f.code for f in taxonomy().forms}
    agency_types = set(taxonomy().labels("agency_type"))
    sections = all_sections()
    assert {s.form for s in sections} == forms  # every form has its sections, and only those
    for section in sections:
        assert set(section.agency_types) <= agency_types, section.key
        for field in section.fields:
            assert field.type in FIELD_TYPES and field.label
            if field.type == "choice":
                assert len(field.options) >= 2, field.key
            if field.type == "text":
                assert 0 < field.max_len <= 4000, field.key


def test_an_agency_sees_the_sections_for_its_type_then_the_supplementary_forms():
    hospital = [s.key for s in sections_for("hospital_trust", ["reporting", "sudi"])]
    school = [s.key for s in sections_for("education", ["reporting"])]
    assert "health" in hospital and "education" not in hospital and hospital[-1] == "sudi"
    assert "education" in school and "health" not in school and "police" not in school


def test_a_submission_names_each_problem_and_a_draft_keeps_what_was_typed():
    sections = sections_for("education", ["reporting"])
    data = {"education__setting": "university", "involvement__first_contact": "2027-01-01",
            "involvement__services": "x" * 2001, "summary": "Attended Oakfield Primary",
            "chronology-1-date": "31/02/2026", "chronology-1-what_happened": "Absent",
            "chronology-2-date": "", "chronology-2-what_happened": ""}
    final = read_form(data, sections, today=TODAY, final=True)
    problems = {(p.field, p.row): p.message for p in final.problems}
    assert problems[("education__setting", None)].startswith("must be one of")
    assert problems[("involvement__first_contact", None)] == "is in the future"
    assert ("involvement__services", None) in problems
    assert ("involvement__completed_by_role", None) in problems  # required on submission
    assert ("chronology date", 1) in problems
    assert len(final.chronology) == 1  # a row left wholly blank is no entry
    for message in problems.values():
        assert "university" not in message and "31/02/2026" not in message
    draft = read_form(data, sections, today=TODAY, final=False)
    assert ("involvement__completed_by_role", None) not in {(p.field, p.row) for p in draft.problems}
    assert draft.answers["education__setting"] == "university"  # kept as typed, to be corrected
    assert draft.chronology[0] == {"date": "31/02/2026", "what_happened": "Absent"}
