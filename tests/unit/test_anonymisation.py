import datetime as dt
from types import SimpleNamespace

import pytest

from cdop.confidentiality.gate import Gate, IdentifierFound, date_forms
from cdop.confidentiality.identifiers import case_identifiers

CASE = SimpleNamespace(
    forenames="Amelia Rose",
    surname="Brightwell",
    date_of_birth="2019-03-05",
    nhs_number="9434765919",
    postcode="DT3 4AB",
    address="12 Orchard Way, Demotown",
    notifier_name="Dr Pemberton",
)
GATE = Gate(case_identifiers(CASE, [("sibling_name", "Oliver Brightwell"), ("school", "Oakfield Primary School")]))


@pytest.mark.parametrize(
    "text, field",
    [
        ("the child AMELIA was seen", "child.forenames"),
        ("Mrs  brightwell attended", "child.surname"),
        ("born 5th March 2019 at home", "child.date_of_birth"),
        ("DOB 05/03/2019", "child.date_of_birth"),
        ("dob: 5/3/19", "child.date_of_birth"),
        ("NHS no 943 476 5919", "child.nhs_number"),
        ("nhs 943-476-5919.", "child.nhs_number"),
        ("lives at dt34ab", "child.postcode"),
        ("postcode DT3 4AB", "child.postcode"),
        ("visited 12 orchard way on", "child.address"),
        ("seen by Dr Pemberton", "notifier_name"),
        ("attends Oakfield\nPrimary School", "school"),
        ("Bright-\nwell", "child.surname"),
    ],
)
def test_gate_finds_identifier_in_real_text_forms(text, field):
    assert field in GATE.scan(text)


def test_gate_passes_anonymised_text_and_names_fields_not_values():
    clean = "Case CDOP-2026-0001: a child aged 5-9 years died in hospital. Reported 2026-03-05."
    assert GATE.scan(clean) == []
    with pytest.raises(IdentifierFound) as err:
        GATE.check("case report", clean, "Amelia Rose Brightwell, 9434765919")
    message = str(err.value)
    assert "child.nhs_number" in message and "child.name" in message
    assert "9434765919" not in message and "Brightwell" not in message


def test_no_partial_word_or_digit_matches():
    assert GATE.scan("Roseanne and Brightwellington; ref 99434765919") == []


def test_date_forms_cover_common_writing():
    forms = date_forms(dt.date(2021, 1, 2))
    assert {"2021 01 02", "02 01 2021", "2 1 21", "2nd january 2021", "january 2 2021"} <= forms
