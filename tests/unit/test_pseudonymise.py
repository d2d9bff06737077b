"""Pseudonymisation by role: what the gate found in a text becomes its role's label or a
typed placeholder, read as English where it lands, consistently within one case; labels
are policy data a CDOP can change; the coordinator's decisions change or undo one."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from cdop.confidentiality.folding import Finding
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.identifiers import case_identifiers
from cdop.confidentiality.pseudonymise import (
    Decision,
    Pseudonymiser,
    outermost,
    role_counts,
    with_echoes,
)
from cdop.config import Policy, load_policy
from cdop.errors import ConfigError

CASE = SimpleNamespace(forenames="Zofia Grace", surname="Wiśniewska-O’Neill", date_of_birth="2020-01-02",
                       date_of_death=dt.date(2024, 3, 1), nhs_number="9434765919", postcode="B1 1AA",
                       address="12 Stapleton Road, Bristol", notifier_name=None)
FAMILY = [("parent_name", "Hope Ó Briain"), ("parent_name", "Will May"), ("sibling_name", "Łukasz O'Neill"),
          ("school", "St Anne's Primary School")]


def _fp(kind: str, text: str) -> str:
    return f"{kind}:{' '.join(text.lower().split())}"


def _pseudonymiser(policy: Policy | None = None, decisions=None, family=FAMILY):
    idents = case_identifiers(CASE, family)
    return Gate(idents), Pseudonymiser((policy or Policy()).pseudonyms, _fp, role_counts(i.role for i in idents),
                                       decisions or {})


def _say(text: str, **kw) -> str:
    gate, p = _pseudonymiser(**kw)
    [found] = with_echoes([(text, gate.findings(text))])
    return p.apply(text, found).text


@pytest.mark.parametrize(("written", "drafted"), [
    ("Zofia attended St Anne's Primary School.", "The child attended the school."),
    ("Mrs Hope Ó Briain and Will May were seen.", "Parent 1 and Parent 2 were seen."),
    ("Zofia's brother Łukasz waited.", "The child's brother Sibling 1 waited."),
    ("Seen on 2 January 2020 at 12 Stapleton Road.", "Seen on the child's date of birth at the home address."),
    ("The Wiśniewska-O’Neills moved.", "The family moved."),
    ("NHS no 943 476 5919.", "NHS no the child's NHS number."),
    ("Ms Xander called; later Xander's son rang 0117 496 0123.", "[person A] called; later [person A]'s son rang [phone]."),
])
def test_each_identifier_becomes_its_role_in_a_sentence_that_still_reads(written, drafted):
    assert _say(written) == drafted


def test_two_schools_are_numbered_one_is_the_school():
    assert _say("At St Anne's Primary School.") == "At the school."
    two = FAMILY + [("school", "Brookside Academy")]
    assert _say("From St Anne's Primary School to Brookside Academy.", family=two) == \
        "From School 1 to School 2."


def test_the_same_unrecorded_name_is_the_same_person_throughout_a_case():
    gate, p = _pseudonymiser()
    first = p.apply("Ms Xander called.", gate.findings("Ms Xander called."))
    second = p.apply("Dr Quigley and Ms Xander met.", gate.findings("Dr Quigley and Ms Xander met."))
    assert first.text == "[person A] called." and second.text == "[person B] and [person A] met."


def test_overlapping_findings_are_replaced_once_by_the_outermost():
    found = [Finding("unrecorded.address", "address", 3, 21, "stop", layer="places"),
             Finding("child.address", "address", 3, 20, "stop", "home_address"),
             Finding("child.address", "address", 6, 20, "stop", "home_address")]
    [one] = outermost(found, "at 12 Stapleton Road. Then")
    assert (one.start, one.end, one.role) == (3, 20, "home_address")  # the full stop stays


def test_labels_are_policy_data_a_cdop_can_change_one_at_a_time(tmp_path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('[pseudonyms.roles]\nparent = "Mother or father {n}"\n', encoding="utf-8")
    policy = load_policy(policy_file)
    assert policy.pseudonyms.roles["parent"] == "Mother or father {n}"
    assert policy.pseudonyms.roles["sibling"] == "Sibling {n}"  # the rest keep the shipped value
    assert _say("Hope and Łukasz came.", policy=policy) == "Mother or father 1 and Sibling 1 came."
    policy_file.write_text('[pseudonyms.placeholders]\nname = ""\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="pseudonyms.placeholders.name"):
        load_policy(policy_file)


def test_a_decision_changes_or_undoes_a_replacement_everywhere_it_appears():
    # "Bjorn" of a Baby Bjorn sling: a brand the people layer takes for a given name.
    text = "Ms Xander rang. The Baby Bjorn sling was there. Ms Xander came."
    gate, plain = _pseudonymiser()
    found = plain.apply(text, gate.findings(text))
    assert found.text == "[person A] rang. The Baby [person B] sling was there. [person A] came."
    assert [r.decided for r in found.replacements] == [False, False, False]  # flags wait for a decision
    xander, bjorn = found.replacements[0], found.replacements[1]
    decisions = {(xander.kind, xander.fingerprint): Decision("label", "a neighbour"),
                 (bjorn.kind, bjorn.fingerprint): Decision("undo")}
    gate, decided = _pseudonymiser(decisions=decisions)
    again = decided.apply(text, gate.findings(text))
    assert again.text == "A neighbour rang. The Baby Bjorn sling was there. A neighbour came."
    assert [r.decision for r in again.replacements] == ["label", "undo", "label"]
    assert all(r.decided for r in again.replacements)


def test_the_labels_a_draft_is_written_with_are_not_found_again_even_wrapped():
    """A drafted text goes through the gate again (HTML, PDF): its own labels and
    placeholders -- "Parent\\n1" as a PDF wraps it -- are nobody's name or place."""
    from cdop.confidentiality.detectors import policy_for, unrecorded_findings

    text = ("Brought in by her mother, Parent\n1, and Parent 2. Sibling 1 waited with [person A] "
            "near [place]; School 2 and Previous address 1 were told.")
    assert unrecorded_findings(text, policy_for("case_report")) == []
