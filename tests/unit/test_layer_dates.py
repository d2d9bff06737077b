"""The dates layer: in a case document every calendar date that is not the document's
own stops the release, written in English or in Welsh; weekdays, ages, months, years and
periods are not calendar dates, and other documents (the annual report) are not searched."""

from __future__ import annotations

import datetime as dt

import pytest

from cdop.confidentiality.detectors import policy_for
from cdop.confidentiality.layers.dates import date_findings

CASE_REPORT = policy_for("case_report", allowed_dates=[dt.date(2024, 6, 12)])


def _dates(text, policy=CASE_REPORT):
    return [text[f.start:f.end] for f in date_findings(text, policy)]


@pytest.mark.parametrize("text, date", [
    ("Gurpreet was seen by the health visitor on 3 March 2024.", "3 March 2024"),
    ("Discharged 2024-03-03 with a plan.", "2024-03-03"),
    ("Letter dated 03/03/24 from the GP.", "03/03/24"),
    ("On the 3rd of March Mum rang 111.", "3rd of March"),
    ("Seen March 3, 2024, by the consultant.", "March 3, 2024"),
    ("Ymwelodd yr ymwelydd iechyd ar 3 Mawrth 2024.", "3 Mawrth 2024"),
    ("Cafodd Siân ei gweld ar y 3ydd o Fawrth 2024.", "3ydd o Fawrth 2024"),
    ("Dydd Llun 4 Ionawr aeth Ioan i'r ysbyty.", "4 Ionawr"),
    ("Y 1af o Fai 2023 oedd y tro olaf.", "1af o Fai 2023"),
    ("Ganwyd ar 21ain Rhagfyr 2019.", "21ain Rhagfyr 2019"),
    ("Ar yr 2il o Orffennaf 2022 symudodd y teulu.", "2il o Orffennaf 2022"),
    ("Ar y 15fed o Dachwedd cafwyd adolygiad.", "15fed o Dachwedd"),
])
def test_calendar_dates_in_english_and_welsh_stop_a_case_document(text, date):
    found = date_findings(text, CASE_REPORT)
    assert [text[f.start:f.end] for f in found] == [date]
    assert all(f.severity == "stop" and f.kind == "date" and f.layer == "dates" for f in found)


@pytest.mark.parametrize("text", [
    "The panel met on Wednesday; Dydd Mawrth was the follow-up.",
    "Zofia was aged 3 months; her brother is 4 years old.",
    "In March 2024 the service changed its referral route.",
    "Deaths in 2023/24 were reviewed; 2024 saw 12 reviews.",
    "Category 3 applied; the 1st and 2nd reviews were held.",
    "Mawrth is also the Welsh for Tuesday and for Mars.",
    "Ward 7, bed 12; Apgar 3 at 1 minute and 7 at 5 minutes.",
    "The meeting on 12 June 2024 agreed the summary.",  # the document's own date
])
def test_what_is_not_a_calendar_date_or_is_the_documents_own_is_clean(text):
    assert _dates(text) == []


def test_a_document_without_relative_timing_is_not_searched_for_dates():
    text = "Reviews held on 3 March 2024 and 3 Mawrth 2024."
    assert _dates(text, policy_for("annual_report")) == []
    assert len(_dates(text)) == 2


def test_an_impossible_date_is_not_a_date():
    assert _dates("Reading 31/02/24 and 30 Chwefror 2024 were typos.") == []


def test_the_end_of_the_reporting_year_is_a_period_not_a_date():
    assert _dates("Deaths in the year ending 31 March were reviewed; the period to 31 March too.") == []
    assert _dates("She was seen on 31 March by the GP.") == ["31 March"]
