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
