"""The year-scale gate finds exactly what cdop.confidentiality.gate.Gate finds, only faster."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from cdop.confidentiality.gate import Gate
from cdop.confidentiality.identifiers import case_identifiers
from cdop.confidentiality.year_gate import ReportBlocked, YearGate


def _case(i: int):
    return SimpleNamespace(
        forenames=f"Amelia Rose{i}" if i % 2 else "Theodore",
        surname=["Brightwell", "Ng", "Featherstonehaugh", "Oakridge"][i % 4],
        date_of_birth=f"20{10 + i % 15:02d}-0{1 + i % 9}-{10 + i % 18}",
        nhs_number="9434765919" if i == 3 else None,
        postcode="DT4 7QN" if i % 3 == 0 else None,
        address=f"{i} Orchard Way, Demotown" if i % 2 else None,
        notifier_name="Dr Quayle" if i == 5 else None,
    )


IDENTIFIERS = tuple(
    ident for i in range(12)
    for ident in case_identifiers(_case(i), [("parent_name", "Rosalind Marchbank"), ("school", "Oakfield Primary")])
)

TEXTS = [
    "Nothing to see: 12 reviews, 3 categories, 45% within 6 months.",
    "The child, Theodore, was seen twice.",
    "Seen by Dr Bright-\nwell and by Rosalind  MARCHBANK.",
    "NHS number 943 476 5919 was quoted.",
    "Postcode dt47qn appears here; and DT4 7QN there.",
    "Born on 15th March 2013 and on 2013-03-15 (two forms).",
    "Figures 15 3 13 side by side.",
    "At Oakfield Primary, then 3 Orchard Way, Demotown.",
    "Ng is short; Ngozi is another word; Feather stone haugh runs apart.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_year_gate_agrees_with_the_gate(text):
    assert YearGate(IDENTIFIERS).scan(text) == Gate(IDENTIFIERS).scan(text)


def test_year_gate_agrees_on_random_mixtures():
    rng = random.Random(5)
    words = ["review", "12", "3", "2013", "March", "15th", "Oakridge", "Rose3", "Amelia", "DT4",
             "7QN", "943", "476", "5919", "-", "/", "Orchard", "Way", "Marchbank", "Rosalind"]
    for _ in range(200):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 25)))
        assert YearGate(IDENTIFIERS).scan(text) == Gate(IDENTIFIERS).scan(text), text


def test_numbers_side_by_side_in_a_table_are_not_taken_for_a_date():
    gate = YearGate(IDENTIFIERS)
    dob = _case(5).date_of_birth  # 2015-06-15
    assert gate.scan("15 6 2015") == ["child.date_of_birth"]  # as prose: found
    assert gate.scan("15 6 2015", numeric_dates=False) == []  # cells run together in a PDF
    assert gate.scan(f"born 15 June 2015 ({dob})", numeric_dates=False) == ["child.date_of_birth"]
    # In a CSV each cell is checked on its own: a date in one cell is found...
    assert gate.scan_cells([["Learning", "seen on 15/06/2015"]]) == ["child.date_of_birth"]
    # ...but three counts in three cells are not a date.
    assert gate.scan_cells([["Row", "15", "6", "2015"]]) == []


def test_check_all_names_documents_and_fields_never_values():
    gate = YearGate(IDENTIFIERS)
    with pytest.raises(ReportBlocked) as caught:
        gate.check_all(2026, {"report.html": "<p>Rosalind Marchbank</p>", "email": "clean"},
                       tables={"tables/learning.csv": [["Learning"], ["Theodore was seen"]]})
    message = str(caught.value)
    assert "report.html: parent_name" in message
    assert "tables/learning.csv: child.forenames" in message
    assert "Rosalind" not in message and "Theodore" not in message
    assert "email" not in caught.value.findings


HARD_IDENTIFIERS = tuple(
    ident for i in range(6)
    for ident in case_identifiers(SimpleNamespace(
        forenames=["Łukasz", "Søren", "Zoë Siân", "Will", "Grace May", "Theodore"][i],
        surname=["Wiśniewski-Ó Briain", "Weiß", "O'Neill", "Hope", "Quennell", "Ng"][i],
        date_of_birth=f"201{i}-0{i + 1}-1{i}", date_of_death=None, nhs_number=None, postcode=None,
        address="Rose Cottage, Kingsdown Road, Box" if i == 1 else None, notifier_name=None),
        [("mother_name", "Siobhán O’Neill"), ("school", "Widcombe Junior School")])
)

HARD_TEXTS = [
    "Lukasz and the Wisniewskis; Mr O Briain; Soren Weiss.",
    "Zoe ONeill, Mrs O Neill and Siobhan; the O'Neills' house.",
    "Will there be a review? Will Hope was seen; the Hopes; may; May 2012; May's aunt.",
    "The Quennells at Widcombe; Grace Suite; Rose Cottage on Kingsdown Road.",
    "Dr Kowalczyk, 07700 900123, BS1 4DJ, jo@gmail.com, 12 Acacia Avenue, 943 476 5919.",
]


@pytest.mark.parametrize("text", HARD_TEXTS)
def test_year_gate_agrees_with_the_gate_on_every_new_form(text):
    assert YearGate(HARD_IDENTIFIERS).scan(text) == Gate(HARD_IDENTIFIERS).scan(text)
    assert YearGate(HARD_IDENTIFIERS).scan(text)  # and each text does hold something


def test_year_gate_agrees_on_random_mixtures_of_hard_names():
    rng = random.Random(7)
    words = ["Lukasz", "Wisniewskis", "O", "Briain", "ONeill", "O'Neill", "Will", "will", "Hope", "Hopes",
             "May", "may", "2012", "Quennells", "Grace", "Suite", "Rose", "Cottage", "Kingsdown", "Road",
             "Widcombe", "the", ".", "BS1", "4DJ", "07700", "900123", "Dr", "Smith", "Sarah"]
    for _ in range(200):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 25)))
        assert YearGate(HARD_IDENTIFIERS).scan(text) == Gate(HARD_IDENTIFIERS).scan(text), text
