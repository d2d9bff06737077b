"""The one pattern of every refused page form (cdop_airflow.ops_app.common.FormState and
ops/_forms.html.j2): what was typed comes back except in a refused field, each problem
beside its field and in the summary linking to it, never a refused value."""

from __future__ import annotations

import dataclasses

from cdop.validation import Problem
from cdop_airflow.ops_app.common import FormState, refused_form

FIELDS = {"agency": "Agency", "reason": "Reason"}


def _render(form: FormState) -> str:
    from cdop.mail.templating import environment

    template = environment().from_string(
        '{% import "ops/_forms.html.j2" as f %}{% set fm = form.of("waive") %}{{ f.summary(fm) }}'
        '<form class="action{{ f.failed(fm) }}">'
        '<label>Agency {{ f.error(fm, "agency") }}<select{{ f.field(fm, "agency") }}>'
        '<option value="RUH"{{ f.selected(fm, "agency", "RUH") }}>RUH</option>'
        '<option value="POL"{{ f.selected(fm, "agency", "POL") }}>POL</option></select></label>'
        '<label>Reason {{ f.error(fm, "reason") }}<textarea{{ f.field(fm, "reason") }}>{{ fm.value("reason") }}</textarea></label>'
        '<input{{ f.field(fm, "when") }}{{ f.value(fm, "when", "2026-03-02") }}></form>')
    return template.render(form=form)


def test_a_refused_field_comes_back_empty_and_the_rest_as_typed():
    form = refused_form("waive", [Problem("reason", "contains an identifier (child.name)")],
                        {"agency": "POL", "reason": "Percival was not known", "when": "2026-02-27"}, FIELDS)
    html = _render(dataclasses.replace(form, page="cases/CDOP-2026-0001/waive"))
    assert "Percival" not in html  # the refused value is never shown again
    assert '<option value="POL" selected>' in html and 'value="2026-02-27"' in html
    assert ('<textarea id="waive-reason" name="reason" aria-invalid="true" '
            'aria-describedby="waive-reason-error"></textarea>') in html
    assert ('<span class="field-error" id="waive-reason-error"><span class="visually-hidden">Error: </span>'
            'contains an identifier (child.name)</span>') in html
    # The link stays on this document (the answer to the POST), not the case's fresh form.
    assert '<a href="cases/CDOP-2026-0001/waive#waive-reason">Reason</a>: contains an identifier' in html
    assert 'role="alert"' in html and 'class="action failed"' in html


def test_a_fresh_form_shows_its_defaults_and_no_error():
    html = _render(FormState(page="cases/CDOP-2026-0001"))
    assert 'value="2026-03-02"' in html and "selected" not in html
    assert "field-error" not in html and "role=\"alert\"" not in html and "failed" not in html


def test_another_form_of_the_page_is_untouched_by_this_refusal():
    form = refused_form("ncmd", [Problem("time", "is required")], {"date": "2026-03-01"}, {"time": "Time"})
    html = _render(form)
    assert "is required" not in html and 'value="2026-03-02"' in html


def test_a_problem_with_no_field_of_its_own_is_named_above_the_form_only():
    form = refused_form("waive", [Problem("case", "is closed: its record is read-only"),
                                  Problem("entries", "is not a date", row=2)], {}, FIELDS)
    assert form.summary == [("", "Case", "is closed: its record is read-only"),
                            ("", "Entries", "row 2: is not a date")]
    html = _render(form)
    assert "<li data-field=\"Case\">Case: is closed: its record is read-only</li>" in html
    assert "check each field" not in html  # no field of the form is marked
