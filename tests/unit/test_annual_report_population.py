"""The population file (ONS mid-year estimates layout) and the rates drawn from it."""

from __future__ import annotations

import pytest

from cdop.annual_report.population import (
    DEMO_POPULATION,
    children_by_mid_year,
    mid_year_for,
    rate_per_100k,
)
from cdop.validation import InputError

HEAD = "ladcode23,laname23,country,sex,age,population_2024,population_2025\n"


def test_children_are_ages_0_to_17_of_the_chosen_areas_both_sexes(tmp_path):
    rows = [HEAD]
    for code in ("E06000001", "E06000002"):
        for sex in (1, 2):
            for age in range(0, 20):
                rows.append(f"{code},Somewhere,E,{sex},{age},100,110\n")
    path = tmp_path / "mye.csv"
    path.write_text("".join(rows))
    # 18 ages x 2 sexes x 100 in one area; ages 18 and 19 left out; the other area too.
    assert children_by_mid_year(path, ("E06000001",)) == {2024: 3600, 2025: 3960}
    assert children_by_mid_year(path, ("E06000001", "E06000002")) == {2024: 7200, 2025: 7920}


def test_a_bad_row_names_the_row_and_the_column_never_the_value(tmp_path):
    path = tmp_path / "mye.csv"
    path.write_text(HEAD + "E06000001,Somewhere,E,1,0,12x4,100\nE06000001,Somewhere,E,1,abc,1,1\n")
    with pytest.raises(InputError) as caught:
        children_by_mid_year(path, ("E06000001",))
    message = str(caught.value)
    assert "row 2, field 'population_2024'" in message and "row 3, field 'age'" in message
    assert "12x4" not in message and "abc" not in message


def test_a_file_without_the_ons_columns_is_refused(tmp_path):
    path = tmp_path / "mye.csv"
    path.write_text("area,children\nX,100\n")
    with pytest.raises(InputError, match="ladcode"):
        children_by_mid_year(path, ("X",))


def test_the_demo_file_is_fictional_and_gives_a_plausible_child_population():
    text = DEMO_POPULATION.read_text()
    assert text.startswith("# FICTIONAL")
    children = children_by_mid_year(DEMO_POPULATION, ("E06999901", "E06999902"))
    assert 150_000 < children[2025] < 300_000  # about 60 deaths a year: ~30 per 100,000


def test_year_n_uses_the_mid_year_inside_it_and_rates_are_per_100000():
    assert mid_year_for(2026) == 2025  # April 2025 to March 2026 holds mid-2025
    assert rate_per_100k(30, 100_000) == 30.0
    assert rate_per_100k(3, 0) is None
