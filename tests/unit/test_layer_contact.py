"""The contact layer: UK phone numbers and email addresses nobody recorded stop the
release, unless the document may carry them (the office's own)."""

from __future__ import annotations

from cdop.confidentiality.detectors import policy_for
from cdop.confidentiality.layers.contact import contact_findings


def _found(text, policy=None):
    policy = policy or policy_for("case_report")
    return [(text[f.start:f.end], f.kind) for f in contact_findings(text, policy, [])]


def test_phones_and_emails_stop_with_their_layer():
    text = "Siân's mobile is 07700 900123; her email siân.o'neill@example.com; the landline +44 117 496 0123."
    found = contact_findings(text, policy_for("case_report"), [])
    assert {f.kind for f in found} == {"phone", "email"}
    assert all(f.severity == "stop" and f.layer == "contact" for f in found)
    assert ("07700 900123", "phone") in _found(text) and ("+44 117 496 0123", "phone") in _found(text)


def test_the_offices_own_number_and_domain_are_allowed():
    policy = policy_for("case_report", office_domains=["cdop.example.nhs.net"], allowed_phones=["01234 567890"])
    assert _found("Call 01234 567890 or write to office@cdop.example.nhs.net.", policy) == []


def test_numbers_that_are_not_phones_are_clean():
    assert _found("Ward 7, bed 12; the 2023/24 figures; 1,234 contacts; Apgar 9 at 10 minutes.") == []


def test_a_family_abroad_has_its_phone_number_found_too():
    text = ("Grandmother in Cluj: +40 721 234 567; uncle in Lagos 00234 803 123 4567; "
            "cousin in Hanoi +84 912 345 678; aunt in Boston (617) 555-0143 or 617-555-0143.")
    assert [s for s, k in _found(text) if k == "phone"] == [
        "+40 721 234 567", "00234 803 123 4567", "+84 912 345 678", "(617) 555-0143", "617-555-0143"]


def test_an_invalid_nhs_number_written_3_3_4_is_not_a_us_phone():
    assert _found("NHS number 943 476 5918 (a typo) and ref 2023-24-0001.") == []
