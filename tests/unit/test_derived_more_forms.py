"""More forms of the recorded identifiers: initials of a full name (middle names, both
parts of a double surname), clipped names and diminutives beyond the nicknames data set,
names inside user names by a short form or a clipped surname, a Latin name written in
another script, a recorded date as other languages and the US write it, and a site's name
without its generic words. Each is tested as a function, through the gate (layer
"derived", the recorded role, a confidence below 1), and against clean text."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from cdop.confidentiality import derived
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.identifiers import case_identifiers, site_head


def _case(**kw):
    base = dict(forenames="Bartosz Ignacy", surname="Nowicki-Zając", date_of_birth="2011-02-17",
                date_of_death=dt.date(2025, 10, 19), nhs_number="9434765919", postcode="CB6 1AA",
                address="Plot 2, Larkspur Rise Park Homes, Fen Road, Ely", notifier_name=None)
    return SimpleNamespace(**(base | kw))


FAMILY = [("parent_name", "Yasmin Haddad"), ("parent_name", "Bogumił Nowicki"),
          ("relative_name", "Meiling Zhou"), ("sibling_name", "Hardeep Amar Nowicki")]
GATE = Gate(case_identifiers(_case(), FAMILY))


def derived_in(text: str, gate: Gate = GATE):
    """The derived findings, by the text they cover."""
    return {text[f.start:f.end]: f for f in gate.recorded_findings(text) if f.layer == "derived"}


def found_at_all(text: str, gate: Gate = GATE) -> list[str]:
    return [text[f.start:f.end] for f in gate.recorded_findings(text)]


# ---------------------------------------------------------------------- initials

def test_full_initials_take_middle_names_and_each_part_of_a_double_surname():
    person = derived.Person("child.name", "child", "Bartosz", ("Nowicki", "Zając"), (), ("Ignacy",))
    assert {"BINZ", "BNZ", "BIN", "BIZ", "BN" + "Z"} <= derived.full_initials(person)
    assert all(3 <= len(i) <= 5 for i in derived.full_initials(person))
    two = derived.Person("parent_name", "parent:1", "Yasmin", ("Haddad",), ())
    assert derived.full_initials(two) == set()  # two letters: the older patterns' case


def test_dotted_full_initials_stop_and_undotted_ones_flag():
    f = derived_in("Review: B.I.N.Z. attended with his father.")["B.I.N.Z."]
    assert (f.field, f.severity, f.role, f.layer) == ("child.name", "stop", "child", "derived")
    assert derived_in("Key worker: B. I. N. seen in clinic.")["B. I. N."].severity == "stop"
    f = derived_in("BINZ - two detentions this term.")["BINZ"]
    assert (f.severity, f.role) == ("flag", "child") and f.confidence < 1
    f = derived_in("Seen: H.A.N. with mum.")["H.A.N."]
    assert (f.field, f.role) == ("sibling_name", "sibling:1")


@pytest.mark.parametrize("text", [
    "The GP, the ED and A&E were told; NHS 111 had been called.",
    "CDOP, CAMHS and the MASH met; the LAC review followed.",
    "BIN collection day was Tuesday.",  # an undotted run that is a word stays a word
    "He was BNZ-positive on the test.",  # joined to a word by a hyphen
    "Ask the DSL and the SENCO about the EHCP.",
])
def test_abbreviations_and_words_in_capitals_are_not_initials(text):
    assert not [f for f in GATE.recorded_findings(text) if f.layer == "derived"]


def test_undotted_initials_that_are_an_abbreviation_are_left_out():
    gate = Gate(case_identifiers(_case(forenames="Nadia Hana", surname="Sorensen"), []))
    assert not derived_in("NHS number checked.", gate)
    assert "N.H.S." in derived_in("Letter to N.H.S. at home.", gate)  # dotted: a person's


# ----------------------------------------------------------------- short forms

def test_first_syllable_stems_and_the_last_syllable_of_a_long_name():
    assert derived.name_stems("bartosz") == {"bar", "bart"}
    assert derived.name_stems("bogumil") == {"bog"}
    assert derived.name_stems("amy") == set()
    assert derived.last_syllable("ignacy") is None  # "cy": under 3 letters
    assert derived.last_syllable("malakai") == "kai"
    assert derived.last_syllable("hardeep") is None  # two syllables


def test_short_forms_are_a_stem_with_an_ending_from_many_languages():
    parts = ["bartosz", "bogumil", "yasmin", "hardeep"]
    assert derived.short_form("bartek", parts) == "bartosz"  # Polish -ek
    assert derived.short_form("barty", parts) == "bartosz"
    assert derived.short_form("bogi", parts) == "bogumil"
    assert derived.short_form("yassy", parts) == "yasmin"  # the stem's consonant doubled
    assert derived.short_form("yazzy", parts) == "yasmin"  # s voiced as z
    assert derived.short_form("harry", parts) == "hardeep"  # as many a Har- is called at work
    assert derived.short_form("hardware", parts) is None
    assert derived.short_form("bartosz", parts) is None  # the part itself
    assert derived.short_form("barter", parts) is None


def test_short_forms_through_the_gate_as_flags_with_a_low_confidence():
    f = derived_in("Bartek was quiet at school on Mondays.")["Bartek"]
    assert (f.field, f.severity, f.role, f.layer) == ("child.name", "flag", "child", "derived")
    assert f.confidence <= 0.5
    assert derived_in("His dad, Bogi, came to the meeting.")["Bogi"].role == "parent:2"


def test_a_short_form_that_is_a_word_counts_only_as_a_name():
    gate = Gate(case_identifiers(_case(forenames="Chiamaka", surname="Obi"), [("parent_name", "Destin Obi")]))
    assert not derived_in("Bog myrtle grew by the path to the river.", Gate(case_identifiers(
        _case(forenames="Bogumił", surname="Lis"), [])))
    assert not derived_in("Des Moines was where the conference was held.", gate)  # a capitalised run
    assert "Des" in derived_in("His father, Des, attended.", gate)
    assert not derived_in("the chia seeds and a des res", gate)  # lower case: words


def test_a_stem_that_is_a_word_never_counts():
    gate = Gate(case_identifiers(_case(forenames="Ottilie", surname="Parkinson"), []))
    for text in ("They met in Hyde Park after school.", "Park staff found the bag.",
                 "The family walked to the park and the Park Run."):
        assert not derived_in(text, gate), text
    assert "Parkie" in derived_in("Friends called her Parkie.", gate)  # not a word ("Parky" is: cold)


@pytest.mark.parametrize("text", [
    "Barter arrangements were not relevant.", "May the panel note the Bar Council's advice.",
    "The Bart's Health NHS Trust report was received.", "Yes, the GP saw him in March.",
])
def test_clean_text_near_the_short_forms_passes(text):
    assert not [f for f in GATE.recorded_findings(text) if f.layer == "derived"]


# ---------------------------------------------------------------------- handles

def test_handles_with_a_short_form_or_a_clipped_surname():
    f = derived_in("Snapchat account bartek_bn11 was examined.")["bartek"]
    assert (f.field, f.severity, f.role) == ("child.name", "flag", "child")
    assert "nowic" in derived_in("The user nowic_2011 posted a tribute.")
    assert "Bartek" in derived_in("The hashtag #RIPBartek was shared.")


@pytest.mark.parametrize("text", [
    "See @nhs_england and #CDOP2025 for the guidance.", "File saved as report_v2.docx.",
    "The bog_walks99 account belongs to a walking club.",  # a short form that is a word, alone
    "covid_19 testing was negative.",
])
def test_handle_like_clean_tokens_pass(text):
    assert not [f for f in GATE.recorded_findings(text) if f.layer == "derived"]


# ----------------------------------------------------------------- other scripts

def test_skeletons_keep_the_consonants_an_abjad_or_abugida_writes():
    assert derived.skeleton("yasmin") == derived.skeleton("ysmyn") == "smn"
    assert derived.skeleton("hardeep") == derived.skeleton("hrdip") == "hrdp"
    assert derived.skeleton("zhenya") == derived.skeleton("jenia") == "jn"


def test_a_latin_name_written_in_another_script_is_flagged():
    f = derived_in("Mum wrote ياسمين on the form.")["ياسمين"]
    assert (f.field, f.severity, f.role, f.layer) == ("parent_name", "flag", "parent:1", "derived")
    assert derived_in("His brother's name on the card: ਹਰਦੀਪ.")["ਹਰਦੀਪ"].role == "sibling:1"
    assert derived_in("Grandmother's name 周美玲 was on the letter.")["美玲"].role == "relative:1"


@pytest.mark.parametrize("text", ["The word مدرسة means school.", "A card said 谢谢 in Chinese.",
                                  "Привет from the family in Kyiv."])
def test_other_script_text_that_names_nobody_recorded_passes(text):
    assert not [f for f in GATE.recorded_findings(text) if f.layer == "derived"]


# ------------------------------------------------------------------------- dates

def test_a_recorded_date_as_other_languages_write_it():
    forms = derived.foreign_date_forms(dt.date(2026, 2, 17))
    assert {"17 lutego 2026", "2026 m vasario 17 d", "17 februarie 2026", "17 de fevereiro de 2026",
            "17 subat 2026"} <= forms
    assert "17 february 2026" not in forms  # the English forms are the recorded pattern's
    assert "2024nian12yue3ri" in derived.foreign_date_forms(dt.date(2024, 12, 3))


def test_foreign_and_us_dates_through_the_gate():
    f = derived_in("Polish certificate: zmarł 19 października 2025.")["19 października 2025"]
    assert (f.field, f.kind, f.severity, f.role) == ("child.date_of_death", "date", "stop", "child")
    assert "19 octombrie 2025" in found_at_all("Certificatul: 19 octombrie 2025.")
    assert "10/19/2025" in found_at_all("US summary dated 10/19/2025.")
    assert "2011年2月17日" in found_at_all("出生 2011年2月17日 (birth).")


def test_another_day_and_an_ambiguous_us_order_are_not_the_recorded_date():
    assert not found_at_all("Polish certificate: 18 października 2025.")
    gate = Gate(case_identifiers(_case(date_of_death=dt.date(2025, 2, 11)), []))
    assert not found_at_all("Seen on 02/11/2025 in clinic.", gate)  # 2 November as the UK reads it


# -------------------------------------------------------------------- sites

def test_a_site_without_its_generic_words():
    assert site_head("Larkspur Rise Park Homes") == "Larkspur Rise"
    assert site_head("Meadow Caravan Site") is None  # one word names too many places
    assert site_head("Harrow Court") is None


def test_a_plot_and_its_site_through_the_gate():
    f = derived_in("Fire reported at Larkspur Rise overnight.")["Larkspur Rise"]
    assert (f.field, f.role, f.layer) == ("child.address", "home_address", "derived") and f.confidence < 1
    assert "Plot 2" in found_at_all("Called to Plot 2 at 02:30.")
    assert not found_at_all("The larkspur rise in the garden was noted.")  # lower case: words
