"""Panel-stage rules without I/O: when papers and lists go, neonatal deaths, how a
report's text is read by the gate, the family context vocabulary."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from cdop.confidentiality.documents import visible_text
from cdop.config import Policy
from cdop.intake.family import _parse_context
from cdop.panel.meetings import is_neonatal, pack_date
from cdop.panel.papers import new_deaths_period
from cdop.panel.report_check import check_run_id
from cdop.validation import Problem

D = dt.date


def test_papers_go_seven_working_days_before_a_meeting_skipping_bank_holidays():
    policy = Policy()
    assert pack_date(policy, D(2027, 3, 18)) == D(2027, 3, 9)
    # Easter 2027: Good Friday 26 March and Easter Monday 29 March do not count.
    assert pack_date(policy, D(2027, 4, 6)) == D(2027, 3, 24)
    assert pack_date(Policy(panel_notice_working_days=0), D(2027, 3, 18)) == D(2027, 3, 18)


@pytest.mark.parametrize("today, expected", [
    (D(2027, 3, 8), (D(2027, 3, 8), D(2027, 3, 1), D(2027, 3, 7))),  # the list day itself
    (D(2027, 3, 14), (D(2027, 3, 8), D(2027, 3, 1), D(2027, 3, 7))),  # later that week
    (D(2027, 3, 7), (D(2027, 3, 1), D(2027, 2, 22), D(2027, 2, 28))),
])
def test_the_weekly_list_covers_the_seven_days_before_its_day(today, expected):
    assert new_deaths_period(Policy(), today) == expected
    wednesday = new_deaths_period(Policy(panel_new_deaths_weekday=2), D(2027, 3, 8))
    assert wednesday == (D(2027, 3, 3), D(2027, 2, 24), D(2027, 3, 2))


def test_neonatal_means_under_28_days():
    assert is_neonatal(SimpleNamespace(age_at_death_days=27))
    assert not is_neonatal(SimpleNamespace(age_at_death_days=28))


def test_the_gate_reads_html_as_a_reader_sees_it():
    html = "<style>p{}</style><p>Seen by O&#39;Sullivan&nbsp;family</p><td>12&nbsp;Orchard&nbsp;Way</td>"
    text = visible_text(html)
    assert "O'Sullivan" in text and "12\xa0Orchard\xa0Way" in text and "p{}" not in text


def test_check_run_ids_carry_case_number_version_and_offer_only():
    assert check_run_id("CDOP-2026-0001", 2, "20270201T0920") == "check__CDOP-2026-0001__v2__20270201T0920"


def test_family_context_takes_age_bands_and_offers_only():
    problems: list[Problem] = []
    context = _parse_context({"siblings": ["5-9 years", {"age_band": "18 years and over"}],
                              "key_worker_offered": True, "bereavement_support_offered": "Declined"}, problems)
    assert problems == []
    assert context == {"siblings": ["5-9 years", "18 years and over"], "key_worker_offered": "yes",
                       "bereavement_support_offered": "declined"}
    _parse_context({"siblings": ["aged 7"], "key_worker_offered": "maybe", "names": "x"}, problems)
    assert [p.field for p in problems] == ["names", "siblings[1]", "key_worker_offered"]
