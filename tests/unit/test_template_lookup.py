"""The project's Jinja environment reads `row.field` of a dict as its item without first
failing as an attribute; every lookup still gives what Jinja's own environment gives,
whatever keys the dict holds (a form's fields are chosen by whoever posts it)."""

from __future__ import annotations

import pytest
from jinja2 import Environment, StrictUndefined, UndefinedError

from cdop.mail.templating import environment

# Keys that shadow dict methods, ordinary keys, a missing one; lists, objects, None.
ROWS = [
    {"get": "posted", "items": "posted", "keys": 1, "values": [1], "name": "Ward 4", "pack": None},
    {"case_number": "CDOP-2026-0001", "expected": False, "copy": "x"},
    {},
]
EXPRESSIONS = [
    "row.name", "row.pack", "row.case_number", "row.expected", "row.get('name', '-')",
    "row.items() | list | length", "row.keys() | list | sort | join(',')", "row.values() | list | length",
    "row.copy() | length", "row.missing is defined", "row['get'] if 'get' in row else '-'",
]


def _render(env: Environment, expression: str, row) -> str:
    try:
        return env.from_string("{{ " + expression + " }}").render(row=row)
    except (UndefinedError, TypeError) as exc:
        return f"{type(exc).__name__}"


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_a_lookup_gives_what_jinja_gives(expression):
    jinja = Environment(undefined=StrictUndefined, autoescape=True)
    ours = environment()
    for row in ROWS:
        assert _render(ours, expression, row) == _render(jinja, expression, row), (expression, row)


def test_a_missing_key_is_still_an_error_and_an_object_is_read_by_attribute():
    class Meeting:
        id = 7

    ours = environment()
    assert ours.from_string("{{ m.id }}").render(m=Meeting()) == "7"
    with pytest.raises(UndefinedError):
        ours.from_string("{{ row.nowhere }}").render(row={"name": "x"})
