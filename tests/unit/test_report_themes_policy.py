"""The annual report's policy: the disclosure rule's settings and themes as data."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cdop.config import DEFAULT_THEMES, AnnualReportPolicy, Theme


def test_a_theme_with_an_unknown_code_is_refused_naming_the_theme():
    with pytest.raises(ValidationError, match="'Knife crime': unknown category code"):
        Theme(name="Knife crime", categories=("stabbing",))
    with pytest.raises(ValidationError, match="unknown circumstance code"):
        Theme(name="Knife crime", circumstances=("knife",))
    with pytest.raises(ValidationError, match="unknown age band"):
        Theme(name="Teenagers", age_bands=("teenagers",))


def test_theme_names_are_unique_and_rounding_must_leave_zero_knowable():
    with pytest.raises(ValidationError, match="a name of its own"):
        AnnualReportPolicy(themes=(Theme(name="A"), Theme(name="A")))
    with pytest.raises(ValidationError, match="hide_up_to must be at least half"):
        AnnualReportPolicy(disclosure_rule="nhs_england", hide_up_to=2, rounding_base=10)
    with pytest.raises(ValidationError):
        AnnualReportPolicy(disclosure_rule="round_to_3")


def test_a_review_is_in_a_theme_by_its_rule():
    sudi, suicide, neonatal = DEFAULT_THEMES
    assert sudi.holds("sudden_unexplained", [], "28-364 days", False)
    assert sudi.holds("infection", ["sudden_unexpected"], "0-27 days", False)
    assert not sudi.holds("sudden_unexplained", [], "1-4 years", False)  # not an infant
    assert not sudi.holds("sudden_unexplained", [], "28-364 days", True)  # expected
    assert suicide.holds("trauma", ["suicide_self_harm"], "15-17 years", False)
    assert neonatal.holds("perinatal", [], "0-27 days", True)
    assert not neonatal.holds("perinatal", [], "28-364 days", True)
    # A theme the office defines: trauma deaths of teenagers, from the policy file's data.
    teen_trauma = Theme(name="Trauma, 10 to 17", categories=("trauma",), age_bands=("10-14 years", "15-17 years"))
    assert teen_trauma.holds("trauma", [], "15-17 years", False)
    assert not teen_trauma.holds("trauma", [], "5-9 years", False)
