"""The recorded layer finds the forms people write instead of a recorded identifier:
initials, nicknames, misspellings, Welsh mutations, names inside handles, a flat's
building, a street without its road word, a school without its generic words, other
scripts, a date in Welsh; and the clean text the issue lists still passes. Each
derivation is tested as a function and through the gate (layer "derived", a confidence
below 1, the recorded role)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from cdop.confidentiality import derived
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.identifiers import case_identifiers
from cdop.confidentiality.words import english_words, is_english_word


def _case(**kw):
    base = dict(forenames="Zofia Grace", surname="Wiśniewski-O’Neill", date_of_birth="2019-05-14",
                date_of_death=dt.date(2024, 3, 3), nhs_number="9434765919", postcode="CF10 1AA",
                address="Flat 3, Hollis House, 12 Stapleton Road, Bristol", notifier_name=None)
    return SimpleNamespace(**(base | kw))


FAMILY = [("parent_name", "Hope Ó Briain"), ("parent_name", "William May"), ("sibling_name", "Gwenllian Thi"),
          ("relative_name", "Dafydd Quennell"), ("relative_name", "Дмитрий Орлов"), ("carer_name", "Maggie Ward"),
          ("contact_name", "张伟"), ("school", "St Anne's Primary School")]
GATE = Gate(case_identifiers(_case(), FAMILY))


def recorded(text: str, gate: Gate = GATE):
    """What the recorded and derived layers find, as (text, field, severity, layer)."""
    return [(text[f.start:f.end], f.field, f.severity, f.layer) for f in gate.recorded_findings(text)]


def derived_in(text: str, gate: Gate = GATE):
    return {text[f.start:f.end]: f for f in gate.recorded_findings(text) if f.layer == "derived"}


# ------------------------------------------------------------------- functions

def test_nicknames_come_from_the_data_set_both_ways():
    assert {"billy", "bill", "will", "willie"} <= derived.nickname_forms("William")
    assert "margaret" in derived.nickname_forms("Maggie")
    assert "maggie" in derived.nickname_forms("Margaret")
    assert derived.nickname_forms("Zofia") == frozenset()
    assert all(len(f) >= 3 for f in derived.nickname_forms("Alexander"))  # never "Al"


def test_welsh_mutations_follow_the_rules_for_each_initial():
    assert derived.welsh_mutations("Gwenllian") == {"wenllian": "soft", "ngwenllian": "nasal"}
    assert derived.welsh_mutations("Dafydd") == {"ddafydd": "soft", "nafydd": "nasal"}
    assert derived.welsh_mutations("Carys") == {"garys": "soft", "ngharys": "nasal", "charys": "aspirate"}
    assert derived.welsh_mutations("Llinos") == {"linos": "soft"}
    assert derived.welsh_mutations("Rhodri") == {"rodri": "soft"}
    assert derived.welsh_mutations("Bethan") == {"fethan": "soft", "methan": "nasal"}
    assert derived.welsh_mutations("Meinir") == {"feinir": "soft"}
    assert derived.welsh_mutations("Thomas") == {}  # Th does not mutate
    assert derived.welsh_mutations("Siân") == {}  # S does not


def test_welsh_dates_with_ordinals_and_the_mutated_month():
    forms = derived.welsh_date_forms(dt.date(2024, 3, 3))
    assert {"3 mawrth 2024", "3ydd mawrth 2024", "3ydd o fawrth 2024", "03 mawrth 2024"} <= forms
    assert "1af o fehefin 2023" in derived.welsh_date_forms(dt.date(2023, 6, 1))
    assert "21ain o ragfyr 2022" in derived.welsh_date_forms(dt.date(2022, 12, 21))
    assert "11eg o ionawr 2021" in derived.welsh_date_forms(dt.date(2021, 1, 11))  # Ionawr does not mutate


def test_other_scripts_romanised_each_common_way():
    assert {"dmitry", "dmitrii", "dmitrij"} <= derived.script_forms("Дмитрий")  # anyascii's "dmitriy" is the gate's own
    assert {"zhang wei", "wei zhang"} <= derived.script_forms("张伟")
    assert derived.script_forms("Zofia") == frozenset()


def test_a_street_without_its_road_word_only_when_that_can_identify_it():
    assert derived.street_head("Stapleton Road", ["Bristol"]) == "stapleton"
    assert derived.street_head("Church Lane") is None  # a common word
    assert derived.street_head("Grace Road") is None  # a name that is a word
    assert derived.street_head("Bristol Road", ["Bristol"]) is None  # the town
    assert derived.street_head("Stapleton") is None  # no road word


def test_misspellings_within_the_edit_distance_for_the_length():
    parts = ["wisniewski", "quennell", "zofia", "gwenllian"]
    assert derived.misspelling("Wisniewsky", parts)[:2] == ("wisniewski", 1)
    assert derived.misspelling("Wisnieski", parts)[:2] == ("wisniewski", 1)
    assert derived.misspelling("Quenell", parts)[:2] == ("quennell", 1)
    assert derived.misspelling("Zofja", parts)[:2] == ("zofia", 1)
    assert derived.misspelling("Wisnewsky", parts)[:2] == ("wisniewski", 2)  # 10 letters: 2 edits
    assert derived.misspelling("Zfoiaa", parts) is None  # 5 letters: 1 edit only
    assert derived.misspelling("Sofia", parts) is None  # a common given name, not the same sound
    assert derived.misspelling("Tunnel", parts) is None  # an English word
    assert derived.misspelling("Zofi", ["zofi"]) is None  # 4 letters: never fuzzy


DOMAIN_TERMS = """Paediatrician Paediatrics Neonatal Bronchiolitis Salbutamol Paracetamol Ibuprofen
Amoxicillin Ceftriaxone Gentamicin Adrenaline Midazolam Levetiracetam Phenobarbital Surfactant
Kawasaki Hirschsprung Apgar Guthrie Crohn Addison Cushing Marfan Noonan Angelman Dravet Edwards
Patau Turner Wilms Meningitis Septicaemia Pneumonia Anaphylaxis Asthma Epilepsy Hypoxia Ischaemic
Encephalopathy Safeguarding Coroner Inquest Postmortem Histology Toxicology Ambulance Paramedic
Constabulary Midwife Midwifery Health Visitor Hospice Chaplaincy Bereavement Nursery Reception
Barnardo Samaritans Childline Winston Lullaby Papyrus Mencap Scope Cerebra Contact Sands Tommy
Bliss Compassionate Friends Cruse Wrexham Cardiff Swansea Aberystwyth Bangor Caerphilly Merthyr
Rhondda Ceredigion Gwynedd Powys Conwy Flintshire Bristol Bath Somerset Gloucester Worcester
Birmingham Coventry Wolverhampton Sandwell Dudley Walsall Solihull Hereford Shropshire Telford""".split()


def test_no_english_word_or_domain_term_is_taken_for_a_misspelt_name():
    """The derived matcher over ~19,000 English words and the domain's terms, each
    written capitalised beside the recorded names of this case: no hit."""
    persons = derived.people(GATE.identifiers)
    parts = {p for person in persons for p in person.parts}
    assert {"wisniewski", "quennell", "gwenllian", "zofia"} <= parts
    words = sorted(w for w in english_words() if w.isalpha() and len(w) >= 4 and is_english_word(w))
    assert len(words) > 10000
    hits = [w for w in [*words, *(t.lower() for t in DOMAIN_TERMS)]
            if derived.misspelling(w.capitalize(), parts)]
    assert hits == []
    text = " ".join(w.capitalize() for w in words[:4000]) + " " + " ".join(DOMAIN_TERMS)
    found = [f for f in GATE.recorded_findings(text) if f.layer == "derived"]
    # Only the nicknames that are words, each a flag (written capitalised, either reading).
    nicknames = {n for name in ("william", "maggie", "dafydd", "hope", "zofia") for n in derived.nickname_forms(name)}
    assert {text[f.start:f.end].lower() for f in found} <= nicknames
    assert {f.severity for f in found} <= {"flag"}
    lower = " ".join([*words, *(t.lower() for t in DOMAIN_TERMS)])
    assert [f for f in GATE.recorded_findings(lower) if f.layer == "derived"] == []


# ------------------------------------------------------------- through the gate

def test_initials_of_the_recorded_people():
    found = derived_in("Seen: Z.W. and Z. W. with ZW; later Z. Wisniewski-O'Neill, and W. May.")
    assert found["Z.W."].severity == "stop" and found["Z.W."].role == "child"
    assert found["Z. W."].severity == "stop"
    assert found["ZW"].severity == "flag"  # either reading is real
    assert found["W. May"].role == "parent:2" and found["W. May"].severity == "stop"
    assert all(f.layer == "derived" and 0 < f.confidence < 1 for f in found.values())


def test_initials_never_a_lone_capital_or_an_abbreviation():
    gate = Gate(case_identifiers(_case(forenames="Graham", surname="Peters"), [("parent_name", "Ethan Davies")]))
    text = "The GP and ED saw her; CT and A&E at 3 PM; I asked; A plan. NHS, G P and E D."
    assert [f for f in gate.recorded_findings(text) if f.layer == "derived"] == []


def test_nicknames_through_the_gate_and_a_nickname_that_is_a_word_only_as_a_name():
    found = derived_in("Billy came with Margaret.")
    assert found["Billy"].role == "parent:2" and found["Billy"].severity == "stop"
    assert derived_in("She saw Bill at school.")["Bill"].severity == "flag"  # a nickname that is a word
    assert found["Margaret"].role == "carer:1"
    assert "will" not in {t.lower() for t in derived_in("We will call. Staff will visit.")}
    assert derived_in("Will went home.")["Will"].severity == "flag"  # sentence-initial: either reading
    assert derived_in("She saw Will at school.")["Will"].severity == "flag"


def test_misspellings_and_mutations_and_scripts_through_the_gate():
    found = derived_in("Wisniewsky and Quenell; Wenllian and Ddafydd; Dmitry and Wei Zhang; Зофия.")
    assert found["Wisniewsky"].role == "child" and found["Wisniewsky"].severity == "stop"
    assert found["Quenell"].role == "relative:1"
    assert found["Wenllian"].role == "sibling:1" and found["Ddafydd"].role == "relative:1"
    assert found["Dmitry"].role == "relative:2" and found["Wei Zhang"].role == "contact:1"
    assert found["Зофия"].role == "child"  # a recorded Latin name written in Cyrillic


def test_a_recorded_non_latin_name_in_latin_and_a_latin_name_in_chinese():
    assert ("Zhang Wei", "contact_name", "stop", "recorded") in recorded("Zhang Wei was there.")
    gate = Gate(case_identifiers(_case(), [("contact_name", "Zhang Wei")]))
    assert any(f[1] == "contact_name" for f in recorded("张伟 was there.", gate))


def test_names_inside_handles_hashtags_and_emails():
    text = "Posts by @zofiaw2010 and #JusticeForZofia; mail zofiagrace@example.com; Zofia2010."
    found = [(text[f.start:f.end], f.start, f.severity, f.role) for f in GATE.recorded_findings(text)
             if f.layer == "derived"]
    at = {start: (word, severity, role) for word, start, severity, role in found}
    assert at[text.index("zofiaw")] == ("zofia", "stop", "child")
    assert at[text.index("Zofia;")] == ("Zofia", "stop", "child")
    assert at[text.index("zofiagrace")] == ("zofia", "stop", "child")
    assert at[text.index("grace@")] == ("grace", "flag", "child")  # "Grace" is also a word
    assert at[text.index("Zofia2010")] == ("Zofia", "stop", "child")
    assert derived_in("Annexe A; the Annex; Hopeful; Hopefully; Graceful; Disgrace") == {}


def test_the_building_of_a_flat_and_the_street_without_its_road_word():
    found = derived_in("She lived in Hollis House; seen on Stapleton and at 12 Stapleton.")
    assert found["Hollis House"].role == "home_address" and found["Hollis House"].severity == "stop"
    spans = [f for f in GATE.recorded_findings("seen on Stapleton and at 12 Stapleton") if f.layer == "derived"]
    assert [f.severity for f in spans] == ["flag", "stop"]
    assert derived_in("Stapleton said so.") == {}  # not after a preposition or a number


def test_a_school_without_its_generic_words_but_not_the_saint_alone():
    assert ("St Anne", "school", "stop", "recorded") in recorded("She attended St Anne's.")
    assert not [f for f in GATE.recorded_findings("Anne's coat") if f.field == "school"]


def test_a_recorded_date_written_in_welsh():
    for text in ("Bu farw ar 3 Mawrth 2024.", "Bu farw ar y 3ydd o Fawrth 2024."):
        [f] = [f for f in GATE.recorded_findings(text) if f.field == "child.date_of_death"]
        assert f.layer == "derived" and f.severity == "stop" and f.role == "child"


# ---------------------------------------------------------------- clean text passes

def test_a_plural_that_makes_a_word_of_a_name_does_not_match():
    """A folded Vietnamese middle name "Thị" -> "thi"; + "s" is "this"."""
    gate = Gate(case_identifiers(_case(forenames="Lan Thị", surname="Nguyễn"), []))
    assert gate.recorded_findings("This was noted; this is all. Is this right?") == []
    assert [t for t, *_ in recorded("Thi was there; Thị's bag.", gate)] == ["Thi", "Thị"]


@pytest.mark.parametrize("text", [
    "Baby slept in a Moses basket beside the bed.",
    "Transferred to Ward 7, then Ward 12b.",
    "You said the review would be in May. You can call us.",
    "Referred to the Roma Support Group and the Parent Line.",
    "Mum and Dad were present at the meeting.",
])
def test_clean_text_the_issue_lists_passes_the_recorded_layers(text):
    gate = Gate(case_identifiers(_case(forenames="Moses", surname="Ward"),
                                 [("sibling_name", "You Line"), ("parent_name", "Roma Ward")]))
    assert gate.recorded_findings(text) == []


def test_the_same_names_still_count_where_written_as_names():
    gate = Gate(case_identifiers(_case(forenames="Moses", surname="Ward"),
                                 [("sibling_name", "You Line"), ("parent_name", "Roma Ward")]))
    assert {t for t, *_ in recorded("She told Moses and Roma that Ward's brother came.", gate)} \
        == {"Moses", "Roma", "Ward"}
    assert "You" in [t for t, *_ in recorded("The sibling, You, was at school.", gate)]
    # An organisation's name does not run across a comma or a line.
    assert "Roma" in [t for t, *_ in recorded("Parents: Roma, Support Group member", gate)]
    assert "Roma" in [t for t, *_ in recorded("Roma\nSupport Group", gate)]
