"""The references layer: numbers nobody recorded, validated where a check exists and
anchored on their context words where none does. Every one stops the release."""

from __future__ import annotations

import pytest

from cdop.confidentiality.layers.references import (
    nhs_number_valid,
    ni_number_valid,
    reference_findings,
)


def _found(text):
    return [(text[f.start:f.end], f.kind) for f in reference_findings(text)]


def test_every_reference_finding_stops_and_says_its_layer():
    found = reference_findings("Police log number 2024/556 and NI number AB 12 34 56 C; NHS 943 476 5919.")
    assert found and all(f.severity == "stop" and f.layer == "references" and f.role is None for f in found)
    assert {f.field for f in found} == {"unrecorded.police_reference", "unrecorded.ni_number",
                                        "unrecorded.nhs_number"}


@pytest.mark.parametrize("value", ["AB123456C", "AB 12 34 56 C", "JY 00 11 22 D", "CE123456A"])
def test_a_national_insurance_number_in_hmrc_format_is_valid(value):
    assert ni_number_valid(value)


@pytest.mark.parametrize("value", [
    "DA123456A",  # D may not be the first letter
    "AD123456A",  # nor the second
    "AO123456A",  # O may not be the second letter
    "QQ123456C",  # Q is never used (the "QQ 12 34 56 C" of HMRC's examples)
    "BG123456A", "GB123456A", "NK123456A", "KN123456A", "TN123456A", "NT123456A", "ZZ123456A",
    "AB123456E",  # the suffix is A-D
    "AB12345C",  # six digits
])
def test_hmrc_prefix_and_suffix_rules_are_kept(value):
    assert not ni_number_valid(value)


def test_ni_numbers_in_agency_text():
    text = ("Mum (Siân) gave her National Insurance number as JY 00 11 22 D; the form's example "
            "QQ 12 34 56 C and the sort code 12-34-56 are not numbers of anyone.")
    assert _found(text) == [("JY 00 11 22 D", "ni_number")]


def test_a_lower_case_ni_number_needs_its_context_word():
    assert _found("his NI no: ab123456c") == [("ab123456c", "ni_number")]
    assert _found("the code ab123456c was printed on the box") == []


@pytest.mark.parametrize("text, reg", [
    ("A silver Vauxhall, AB12 CDE, was seen leaving.", "AB12 CDE"),
    ("The car (WR69 KXT) was parked on the drive.", "WR69 KXT"),
    ("Registration DA51XYZ recorded by the officer.", "DA51XYZ"),
    ("Dad's van, registration P123 ABC, had no MOT.", "P123 ABC"),  # prefix: needs context
    ("The vehicle reg ABC 123D was traced.", "ABC 123D"),  # suffix: needs context
])
def test_vehicle_registrations(text, reg):
    assert (reg, "vehicle_registration") in _found(text)


def test_an_older_format_without_a_vehicle_word_is_left_alone():
    # "P123 ABC" could be anything without a vehicle word before it; "BS16 1LE" is a
    # postcode (the places layer's), "Ward B3" a ward.
    assert _found("Item P123 ABC on the stock list; seen on Ward B3.") == []


def test_a_second_nhs_number_is_found_by_its_check_digit():
    text = "The twin's NHS number 401 023 2137 was on the same letter; 401 023 2138 is a typo."
    assert _found(text) == [("401 023 2137", "nhs_number")]
    assert nhs_number_valid("4010232137") and not nhs_number_valid("4010232138")


@pytest.mark.parametrize("text, value, kind", [
    ("Hospital number: RXH1234567 (Royal Alexandra Children's Hospital).", "RXH1234567", "hospital_number"),
    ("Ionuț's hospital no. K0456712 was on the discharge letter.", "K0456712", "hospital_number"),
    ("MRN 00412345 was used on the ED card.", "00412345", "hospital_number"),
    ("Unit number: 7781234.", "7781234", "hospital_number"),
    ("The letter quoted RA71234567 at the top.", "RA71234567", "hospital_number"),
    ("West Mercia Police crime reference 22/45123/24 was given to Mum.", "22/45123/24", "police_reference"),
    ("Police attended under CAD 1234 of 03/04/24.", "1234 of 03/04/24", "police_reference"),
    ("Incident number 456-2024 was opened by the control room.", "456-2024", "police_reference"),
    ("The log number is 2405 (Storm).", "2405", "police_reference"),
    ("Niche occurrence 47240012345 was linked.", "47240012345", "police_reference"),
    ("The coroner's reference 2024-0456 appears on the inquest papers.", "2024-0456", "coroner_reference"),
    ("Coroner's case no. COR/123/24 was opened.", "COR/123/24", "coroner_reference"),
])
def test_anchored_references(text, value, kind):
    assert (value, kind) in _found(text)


@pytest.mark.parametrize("text", [
    "The CAD system was unavailable for an hour.",
    "The daily log was kept by the ward clerk.",
    "The hospital number was not known to the GP.",
    "A crime reference was not issued.",
    "Seen on Ward 7, bed 12 at 14:30; Apgar 9 at 5 minutes.",
    "Category 3 death; 12 agencies returned forms in 2024/25.",
])
def test_context_words_without_a_reference_are_clean(text):
    assert _found(text) == []


@pytest.mark.parametrize("text, value, kind", [
    ("The post-mortem was carried out under PM number PM24/0417.", "PM24/0417", "coroner_reference"),
    ("The coroner's office reference is 2231/2024 for this child.", "2231/2024", "coroner_reference"),
    ("The inquest (ref. INQ 0112/24) was opened.", "INQ 0112/24", "coroner_reference"),
    ("Coroners ref: NWK-24-0193.", "NWK-24-0193", "coroner_reference"),
    ("The Athena reference KS-24-0049912 was linked.", "KS-24-0049912", "police_reference"),
    ("Police log 0917 records the call.", "0917", "police_reference"),
    ("Children's social care reference: CSC 0041177.", "CSC 0041177", "other_reference"),
    ("The Early Help case ref is EH/23/0588.", "EH/23/0588", "other_reference"),
    ("The family court case number is LV24C00871.", "LV24C00871", "other_reference"),
    ("The ambulance service incident reference ICR 24-220981 was shared.", "ICR 24-220981", "other_reference"),
    ("Your ref: MASH/2024/1176.", "MASH/2024/1176", "other_reference"),
])
def test_labelled_references_by_whose_they_are(text, value, kind):
    assert (value, kind) in _found(text)


@pytest.mark.parametrize("text", [
    "Our reference: CDOP-2026-0001.",  # the office's own case number
    "The hospital reference for 2019 guidance was updated.",
    "The crime number was issued in 2024.",
    "Mum rang the police number 101 twice.",
    "Ambulance service number 999 calls rose this winter.",
    "Education case number 12 was closed.",
    "The court case of 2019 was not relevant.",
    "The police log was reviewed on 12/03/24 at 14:30.",
])
def test_labels_before_dates_years_and_short_numbers_are_clean(text):
    assert _found(text) == []


@pytest.mark.parametrize("text, value, kind", [
    ("Hosp no: H0441278 was on the wristband.", "H0441278", "hospital_number"),
    ("The PAS number 4417720 was on the ED card.", "4417720", "hospital_number"),
    ("Hospital: K1234567 was on the band.", "K1234567", "hospital_number"),
    ("The CRIS reference 6108812/24 relates to it.", "6108812/24", "police_reference"),
    ("Ref: SC/4412/24 (please quote it).", "SC/4412/24", "other_reference"),
    ("The Liquidlogic ID 2281904 is the social care record.", "2281904", "other_reference"),
    ("The post-mortem examination (PM/24/0331) was done.", "PM/24/0331", "other_reference"),
    ("Police gave the family 52/30011/24 for the burglary.", "52/30011/24", "other_reference"),
    ("It was logged as INC-2024-55102 by the control room.", "INC-2024-55102", "other_reference"),
    ("Her RUH number 6612904 was on the form.", "6612904", "other_reference"),
])
def test_references_by_system_label_and_by_shape(text, value, kind):
    assert (value, kind) in _found(text)


def test_an_operation_name_is_a_flag_and_a_national_scheme_is_not():
    found = reference_findings("Operation Kestrel was opened; Operation Encompass notices were sent.")
    assert [(f.kind, f.severity) for f in found] == [("police_reference", "flag")]


@pytest.mark.parametrize("text", [
    "COVID-19 restrictions applied; the SARS-CoV-2 test was negative.",
    "NICE guideline NG143 and the ICD-10 code were recorded.",
    "The 2023/24 and 2024/25 annual reports both mention it.",
    "Case CDOP-2026-0014 was reviewed with CDOP-2026-0015.",
    "He scored 12/15/20 across three tests.",
    "The NHS number was not known; Patient: seen in clinic.",
    "Police: attended at 14:30 on 03/04/2024.",
])
def test_shapes_that_are_not_references_are_clean(text):
    assert _found(text) == []
