"""Modifiable factors from the factor lines' grades, as the analysis form defines them."""

from __future__ import annotations

import pytest

from cdop.rules.modifiable import case_modifiable
from cdop.taxonomy import factor_codes, taxonomy


@pytest.mark.parametrize(("grades", "insufficient", "expected"), [
    ([2], False, "yes"),
    ([0, 1, 2], False, "yes"),
    ([2], True, "yes"),  # a factor that may have contributed outweighs "insufficient"
    ([1, 1], False, "no"),
    ([0, 1], False, "no"),
    ([], False, "no"),
    ([1], True, "insufficient"),
    ([], True, "insufficient"),
    ([0, 0], False, "insufficient"),  # nothing known of any factor
])
def test_a_case_has_modifiable_factors_iff_a_factor_is_graded_2(grades, insufficient, expected):
    assert case_modifiable(grades, insufficient_information=insufficient) == expected


def test_every_domain_has_factor_codes_and_an_other_and_grades_are_0_to_2():
    codes = factor_codes()
    assert sorted(codes.grades) == [0, 1, 2]
    assert set(codes.by_domain) == set(taxonomy().labels("factor_domain"))
    for domain, factors in codes.by_domain.items():
        assert "other" in factors, domain  # where migrated lines without a code go
        assert all(code.isidentifier() and code.islower() for code in factors), domain
