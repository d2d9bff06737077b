"""Every finding says which recorded role it matches (what a pseudonymised text replaces
it with), which layer found it and how sure it is: the shape every layer answers in."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from cdop.confidentiality.gate import Gate
from cdop.confidentiality.identifiers import case_identifiers, role_base


def _case(**kw):
    base = dict(forenames="Zofia Grace", surname="Wiśniewski-O’Neill", date_of_birth="2020-01-02",
                date_of_death=dt.date(2024, 3, 1), nhs_number="9434765919", postcode="B1 1AA",
                address="12 Stapleton Road, Bristol", notifier_name=None)
    return SimpleNamespace(**(base | kw))


FAMILY = [("parent_name", "Hope Ó Briain"), ("parent_name", "Will May"),
          ("sibling_name", "Łukasz O'Neill"), ("school", "St Anne's Primary School")]


def test_role_base_names_the_role_of_each_recorded_field():
    assert [role_base(f) for f in ("child.surname", "child.address", "child.postcode", "parent_name",
                                   "sibling_date_of_birth", "school", "other_postcode")] == \
        ["child", "home_address", "home_address", "parent", "sibling", "school", "other_address"]


def test_each_person_keeps_one_number_for_every_form_of_their_name():
    idents = case_identifiers(_case(), FAMILY)
    roles = {(i.field, i.value): i.role for i in idents}
    assert roles[("parent_name", "Hope Ó Briain")] == roles[("parent_name", "Hope")] == "parent:1"
    assert roles[("parent_name", "Will May")] == roles[("parent_name", "May")] == "parent:2"
    assert roles[("sibling_name", "Łukasz")] == "sibling:1"
    assert roles[("child.surname", "Wiśniewski")] == "child"
    assert roles[("child.address", "Stapleton Road")] == "home_address"
    assert {i.role for i in idents if i.field == "school"} == {"school:1"}


def test_findings_carry_role_layer_and_confidence():
    gate = Gate(case_identifiers(_case(), FAMILY))
    text = "Mum (Hope) told the GP that Zofia's brother Lukasz had moved to Stapleton Rd; Ms Xander called."
    found = {text[f.start:f.end]: f for f in gate.findings(text)}
    assert found["Hope"].role == "parent:1" and found["Hope"].layer == "recorded"
    assert found["Zofia"].role == "child" and found["Zofia"].severity == "stop"
    assert found["Lukasz"].role == "sibling:1"
    assert found["Stapleton Rd"].role == "home_address"
    unrecorded = [f for f in gate.findings(text) if f.field.startswith("unrecorded.")]
    assert unrecorded and all(f.role is None and f.layer != "recorded" and 0 < f.confidence <= 1
                              for f in unrecorded)
