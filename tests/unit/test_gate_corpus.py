"""The gate's three figures are held at their goals (counts, not timings) on both corpora:
the first one, written alongside the gate, and the held-out one, written apart from it."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from gate_corpus import CORPORA, measure  # noqa: E402

CORPUS_NAMES = sorted(CORPORA)


@pytest.fixture(scope="module")
def figures():
    return {name: measure(corpus=CORPORA[name]) for name in CORPUS_NAMES}


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_the_corpus_is_big_enough_and_hard_enough(name):
    corpus = CORPORA[name]
    assert len(corpus.CHILDREN) >= 5
    assert len({t for _, t, _ in corpus.passages()}) >= 150


def test_the_held_out_corpus_shares_no_child_and_no_passage_with_the_first():
    first, held_out = CORPORA["first"], CORPORA["held-out"]
    assert not set(first.CHILDREN) & set(held_out.CHILDREN)
    assert not {t for _, t, _ in first.passages()} & {t for _, t, _ in held_out.passages()}


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_every_recorded_identifier_is_caught(figures, name):
    ok, total = figures[name]["recorded"]
    assert ok == total


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_identifiers_nobody_recorded_are_stopped_or_flagged_in_at_least_95_percent(figures, name):
    ok, total = figures[name]["unrecorded"]
    assert ok >= 0.95 * total


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_clean_domain_text_passes_without_a_flag_in_at_least_95_percent(figures, name):
    ok, total = figures[name]["clean"]
    assert ok >= 0.95 * total


# ---- the general fixes the held-out corpus called for, one by one ------------------

from types import SimpleNamespace  # noqa: E402

from cdop.confidentiality.detectors import policy_for, unrecorded_findings  # noqa: E402
from cdop.confidentiality.gate import Gate  # noqa: E402
from cdop.confidentiality.identifiers import case_identifiers  # noqa: E402

CHILD = SimpleNamespace(forenames="Jörg Ståle", surname="Bækkelund", date_of_birth="2015-03-02",
                        date_of_death=None, nhs_number=None, postcode=None,
                        address="18 Coldharbour Road, Bristol", notifier_name=None)
GATE = Gate(case_identifiers(CHILD, [("school", "Redland Green Secondary School"),
                                     ("workplace", "Bedminster Down Surgery")]))


@pytest.mark.parametrize("text", ["Joerg was seen.", "Mrs Baekkelund rang.", "JOERG"])
def test_a_name_is_caught_in_its_two_letter_icao_transliteration(text):
    assert GATE.scan(text)


@pytest.mark.parametrize("text", ["18 Coldharbour Rd", "lived on Coldharbour Rd."])
def test_a_street_is_caught_with_its_street_word_abbreviated(text):
    assert "child.address" in GATE.scan(text)


def test_a_date_is_caught_in_the_compact_forms_systems_export():
    assert GATE.scan("DOB 20150302") == ["child.date_of_birth"]
    assert GATE.scan("DOB 02032015") == ["child.date_of_birth"]


def test_a_word_of_a_place_counts_alone_but_not_inside_another_name_nor_as_an_ordinary_word():
    assert GATE.scan("He attended Redland.") == ["school"]
    assert GATE.scan("Redland Green was his school.") == ["school"]
    assert not GATE.scan("Seen at Redland Hospital Outpatients.")  # another organisation
    assert not GATE.scan("He was put down to sleep; Down syndrome.")  # "Down" is a word
    assert GATE.scan("She works at Bedminster Down.") == ["workplace"]


def test_a_recorded_name_that_is_an_english_word_matches_only_as_a_name():
    assert not GATE.scan("The bread was stale.")
    assert GATE.scan("he and Stale were seen") == ["child.forenames"]


def test_a_possessive_name_in_a_named_thing_is_not_a_flag_but_a_persons_possessive_is():
    assert not unrecorded_findings("Winston's Wish supported the family.")
    assert unrecorded_findings("Olivia's mum was at home.")


def test_an_international_prefix_and_a_one_word_street_are_found():
    kinds = {f.kind for f in unrecorded_findings("ring 0044 7700 900123; now at 40 Wellsway")}
    assert kinds == {"phone", "address"}


def test_a_calendar_date_stops_a_case_report_but_not_an_annual_report():
    assert unrecorded_findings("On 14/03/2026 the GP saw her.", policy_for("case_report"))
    assert not unrecorded_findings("On 14/03/2026 the GP saw her.", policy_for("annual_report"))


def test_a_postcode_whose_inward_code_reads_like_an_ordinal_is_still_a_postcode_alone():
    assert [f.kind for f in unrecorded_findings("moved to b33 8th")] == ["postcode"]
    assert not unrecorded_findings("Ward B3 4th floor; seen on the 2nd floor.")
