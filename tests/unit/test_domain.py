import datetime as dt

import pytest

from cdop.rules.ages import age_band
from cdop.rules.stages import InvestigationFacts as I
from cdop.rules.stages import RequestFacts as R
from cdop.rules.stages import Stage, derive_stage, ready_since
from cdop.taxonomy import taxonomy

D = dt.date


def test_stage_is_derived_from_facts():
    assert derive_stage([R("pending")], []) is Stage.NOTIFIED
    assert derive_stage([], []) is Stage.NOTIFIED
    assert derive_stage([R("sent"), R("returned", D(2026, 1, 5))], []) is Stage.GATHERING
    waiting = [I("post_mortem", "in_progress")]
    assert derive_stage([R("returned", D(2026, 1, 5)), R("waived", None, D(2026, 1, 6))], waiting) is Stage.WAITING
    done = [I("post_mortem", "concluded", D(2026, 2, 1)), I("leder", "not_applicable")]
    assert derive_stage([R("returned", D(2026, 1, 5))], done) is Stage.READY
    assert ready_since([R("returned", D(2026, 1, 5))], done) == D(2026, 2, 1)
    assert derive_stage([R("returned", D(2026, 1, 5))], done, closed_on=D(2026, 3, 1)) is Stage.CLOSED


@pytest.mark.parametrize("born, died, band", [
    (D(2026, 1, 1), D(2026, 1, 28), "0-27 days"),
    (D(2026, 1, 1), D(2026, 1, 29), "28-364 days"),
    (D(2025, 1, 2), D(2026, 1, 1), "28-364 days"),
    (D(2025, 1, 1), D(2026, 1, 1), "1-4 years"),
    (D(2016, 6, 1), D(2026, 5, 31), "5-9 years"),
    (D(2011, 1, 1), D(2026, 1, 1), "15-17 years"),
])
def test_age_bands(born, died, band):
    assert age_band(born, died) == band


def test_supplementary_forms_follow_the_rules_in_data():
    tax = taxonomy()
    assert tax.forms_for(age_days=3, expected=True, circumstances=[]) == ["reporting", "neonatal"]
    assert tax.forms_for(age_days=200, expected=False, circumstances=[]) == ["reporting", "sudi"]
    assert tax.forms_for(age_days=200, expected=True, circumstances=[]) == ["reporting"]
    assert tax.forms_for(age_days=5000, expected=False, circumstances=["suicide_self_harm", "drowning"]) == [
        "reporting", "suicide", "drowning"]
    assert [c["rank"] for c in tax.categories] == list(range(1, 11))


@pytest.mark.parametrize("born, event, text", [
    (D(2026, 3, 1), D(2026, 3, 1), "aged 0 days; 9 days before death"),
    (D(2026, 3, 1), D(2026, 3, 10), "aged 9 days; on the day of death"),
    (D(2025, 1, 15), D(2026, 3, 1), "aged 13 months; 9 days before death"),
    (D(2015, 1, 15), D(2025, 12, 1), "aged 10 years; 14 weeks before death"),
    (D(2015, 1, 15), D(2026, 3, 12), "aged 11 years; 2 days after death"),
])
def test_chronology_timing_is_relative_not_a_calendar_date(born, event, text):
    from cdop.rules.ages import event_timing

    assert event_timing(born, D(2026, 3, 10), event) == text
