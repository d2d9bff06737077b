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


# ------------------------------------------------------------ recorded, every form

HARD = SimpleNamespace(
    forenames="Łukasz Piotr", surname="Wiśniewski-Ó Briain", date_of_birth="2016-04-17",
    date_of_death=dt.date(2026, 2, 1), nhs_number=None, postcode=None,
    address="Flat 3, 14 Mill Lane, Bath", notifier_name=None,
)
HARD_GATE = Gate(case_identifiers(HARD, [
    ("mother_name", "Siobhán O’Neill"), ("sibling_name", "May Quennell"), ("father_name", "Will Hope"),
    ("school", "Widcombe Church of England Junior School"), ("school", "The Oak Academy"),
    ("previous_address", "Rose Cottage, Kingsdown Road, Box"), ("grandmother_name", "Æsa Weiß"),
]))


@pytest.mark.parametrize("text, field", [
    ("Lukasz was seen", "child.forenames"),          # Ł without its diacritic
    ("the Wisniewskis", "child.surname"),            # half a double-barrelled name, plural
    ("Mr O Briain", "child.surname"), ("the OBriain family", "child.surname"),
    ("Piotr attended", "child.forenames"),
    ("Mrs O'Neill", "mother_name"), ("Mrs ONeill", "mother_name"), ("Ms O Neill", "mother_name"),
    ("Siobhan rang", "mother_name"),                 # a parent's forename alone
    ("Quennell's mother", "sibling_name"), ("the Quennells", "sibling_name"),
    ("Quennells' home", "sibling_name"),
    ("Aesa Weiss", "grandmother_name"), ("Mrs Weiss", "grandmother_name"),
    ("seen on Mill Lane", "child.address"), ("at 14 Mill Lane", "child.address"),
    ("Rose Cottage", "previous_address"), ("Kingsdown Road", "previous_address"),
    ("at Widcombe Junior", "school"), ("at Widcombe", "school"), ("Oak Academy", "school"),
    ("died 1/2/26", "child.date_of_death"), ("died 01.02.26", "child.date_of_death"),
    ("1st February 2026", "child.date_of_death"), ("Feb 1 2026", "child.date_of_death"),
    ("2026-02-01", "child.date_of_death"), ("17/04/16", "child.date_of_birth"),
    ("May's mother", "sibling_name"), ("with Will Hope", "father_name"), ("saw Will", "father_name"),
])
def test_recorded_identifiers_are_found_in_every_form(text, field):
    assert field in HARD_GATE.scan(text)


@pytest.mark.parametrize("text", [
    "in May 2026", "on 1 May", "April and May saw most deaths", "staff may wish to review",
    "Will there be a follow-up?", "we will hope for the best", "an oak tree", "the Oak tree",
    "at the mill", "Hope is that the learning spreads.", "May we ask the GP?",
])
def test_names_that_are_words_pass_when_used_as_words(text):
    assert HARD_GATE.scan(text) == []


def test_a_word_name_at_sentence_start_or_naming_a_room_is_a_flag_not_a_stop():
    assert HARD_GATE.scan("May attended with her aunt.") == []
    assert [f.field for f in HARD_GATE.flags("May attended with her aunt.")] == ["sibling_name"]
    assert HARD_GATE.scan("The family used the Will Suite.") == []


def test_findings_give_positions_in_the_raw_text():
    text = "Line one.\nSeen by Łukasz's aunt at 07700 900123."
    found = HARD_GATE.findings(text)
    spans = {f.field: text[f.start:f.end] for f in found}
    assert spans["child.forenames"].startswith("Łukasz")
    assert spans["unrecorded.phone"] == "07700 900123"


# ---------------------------------------------------------------- what nobody recorded

from cdop.confidentiality.detectors import nhs_number_valid, policy_for, unrecorded_findings  # noqa: E402


def _kinds(text, policy=None):
    return sorted({f.field for f in unrecorded_findings(text, policy)})


@pytest.mark.parametrize("text, kind", [
    ("postcode SW1A 1AA", "unrecorded.postcode"), ("at sw1a1aa", "unrecorded.postcode"),
    ("BS1 4DJ", "unrecorded.postcode"), ("M1 1AE.", "unrecorded.postcode"),
    ("NHS 943 476 5919", "unrecorded.nhs_number"), ("943-476-5919", "unrecorded.nhs_number"),
    ("4010232137", "unrecorded.nhs_number"),
    ("07700 900123", "unrecorded.phone"), ("+44 7700 900456", "unrecorded.phone"),
    ("0117 496 0123", "unrecorded.phone"), ("(020) 7946 0321", "unrecorded.phone"),
    ("write to jo.bloggs@gmail.com", "unrecorded.email"),
    ("12 Acacia Avenue", "unrecorded.address"), ("Flat 3, 14 Mill Lane", "unrecorded.address"),
    ("Dr Kowalczyk saw him", "unrecorded.name"), ("Mrs Abernethy", "unrecorded.name"),
    ("his grandfather Tadeusz", "unrecorded.name"), ("mother's friend, Jolanta", "unrecorded.name"),
    ("Sarah attended", "unrecorded.name"),
])
def test_identifiers_nobody_recorded_are_found(text, kind):
    assert kind in _kinds(text)


def test_names_are_flags_and_the_rest_stop():
    severities = {f.field: f.severity for f in unrecorded_findings("Dr Kowalczyk, 07700 900123")}
    assert severities == {"unrecorded.name": "flag", "unrecorded.phone": "stop"}


@pytest.mark.parametrize("text", [
    "Seen by the GP at GP practice A.", "Taken to the Royal United Hospital.",
    "Avon and Somerset Police attended.", "Mum and Dad were present.", "The Coroner opened an inquest.",
    "Category 8: perinatal/neonatal event.", "Reviewed in March 2026.", "Will there be a follow-up?",
    "There is hope.", "Staff may wish to review.", "The family were offered the Grace Suite.",
    "Faith leaders were contacted.", "Admitted to Sunny Ward.", "Ward 12 staff were debriefed.",
    "Seen 3 days before the death; 48 hours on the unit; 111 advised; 999 called.",
    "Ref 1234567890 is not an NHS number.", "Form B1 2nd edition.",
])
def test_ordinary_domain_text_passes_without_a_flag(text):
    assert _kinds(text) == []


def test_nhs_modulus_11():
    assert nhs_number_valid("9434765919") and nhs_number_valid("4010232137")
    assert not nhs_number_valid("9434765918") and not nhs_number_valid("1234567890")
    assert not nhs_number_valid("0000000000")


def test_calendar_dates_stop_only_documents_with_relative_timing_and_their_own_dates_pass():
    text = "Seen on 3 March 2026; again 04/03/26 and 2026-03-05. Built 10 March 2026."
    assert "unrecorded.date" not in _kinds(text, policy_for("annual_report"))
    report = policy_for("case_report", allowed_dates={dt.date(2026, 3, 10)})
    dates = [text[f.start:f.end] for f in unrecorded_findings(text, report) if f.kind == "date"]
    assert sorted(dates) == ["04/03/26", "2026-03-05", "3 March 2026"]
    assert _kinds("Reviewed in March 2026, period 2025/26.", report) == []


def test_emails_the_document_may_carry_pass():
    policy = policy_for("email", allowed_emails={"cdop.office@example.nhs.net"})
    assert _kinds("write to cdop.office@example.nhs.net", policy) == []
    assert _kinds("or to jo@gmail.com", policy) == ["unrecorded.email"]


def test_the_gate_reports_unrecorded_kinds_never_values():
    with pytest.raises(IdentifierFound) as err:
        Gate(()).check("note", "call 07700 900123 or BS1 4DJ")
    assert "unrecorded.phone" in str(err.value) and "07700" not in str(err.value)
