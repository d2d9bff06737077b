"""Each named disclosure rule on generated tables: after the rule is applied its audit
finds nothing, and the audit finds what a careless edit lets through. Property tests
over random two-way tables with margins (hypothesis)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdop.annual_report.disclosure import (
    MARKER,
    Rule,
    Table,
    intervals,
    round_to,
    rounded_intervals,
)

RULES = [Rule("threshold", 7), Rule("threshold", 3), Rule("nhs_england", 7, 5, 3)]


@st.composite
def tables(draw):
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(1, 3))
    # Small counts most of the time: that is where disclosure happens.
    count = st.one_of(st.integers(0, 9), st.integers(0, 40))
    counts = [[draw(count) for _ in range(cols)] for _ in range(rows)]
    return Table(id="t", title="", row_header="", rows=[f"r{i}" for i in range(rows)],
                 columns=[f"c{j}" for j in range(cols)], counts=counts,
                 row_totals=draw(st.booleans()) or cols > 1, column_totals=True)


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.name}-{r.threshold}")
@FAST
@given(table=tables())
def test_after_the_rule_its_audit_finds_nothing(rule, table):
    rule.apply([table])
    assert rule.audit([table]) == []
    for pos in table.positions():
        true = table.value(pos)
        if 1 <= true <= rule.threshold:
            assert table.shown(pos) == MARKER
        if pos not in table.hidden:
            shown = int(table.shown(pos))
            if rule.rounds:
                assert shown % 5 == 0 and abs(shown - true) <= 2
            else:
                assert shown == true
        if true == 0:
            assert table.shown(pos) == "0"  # zeros are shown under both rules


@FAST
@given(table=tables())
def test_rounded_intervals_hold_the_true_count(table):
    rule = Rule("nhs_england", 7, 5, 3)
    rule.apply([table])
    for interval in rounded_intervals([table]):
        assert interval.low <= interval.value <= interval.high
        assert interval.width >= 3


@FAST
@given(table=tables())
def test_threshold_intervals_hold_the_true_count(table):
    Rule("threshold", 7).apply([table])
    for interval in intervals([table]):
        assert interval.low <= interval.value <= interval.high
        assert interval.width >= 7


@FAST
@given(first=tables())
def test_a_count_in_two_tables_is_hidden_in_both_under_rounding(first):
    second = copy.deepcopy(first)
    second.id = "u"
    for t in (first, second):
        t.keys = {p: f"k{p}" for p in t.positions()}
    rule = Rule("nhs_england", 7, 5, 3)
    rule.apply([first, second])
    assert first.hidden == second.hidden
    assert rule.audit([first, second]) == []


def test_the_rounding_audit_finds_a_narrowed_count():
    # Row: hidden 1, published 8 (shown 10), total 9 (shown 10): alone that leaves 1..4.
    # Column totals publish 1 + 0 exactly if the second row is 0: a reader knows the cell.
    table = Table(id="t", title="", row_header="", rows=["a", "b"], columns=["x", "y"],
                  counts=[[1, 8], [0, 30]], row_totals=True, column_totals=True)
    table.rounding = 5
    table.hidden = {(0, 0)}
    # Column x: 1 + 0 = total 1, and the total is published (a careless edit): pinned.
    problems = Rule("nhs_england", 7, 5, 3).audit([table])
    assert any("a count from 1 to 7 is published" in p for p in problems)
    table.hidden = {(0, 0), (2, 0)}
    # Now x's total is hidden too; row a: x + 10(8..12) = 10(8..12) -> x in 1..4; column
    # x: x + 0 = total x; fine: 4 values.
    assert Rule("nhs_england", 7, 5, 3).audit([table]) == []
    narrow = Rule("nhs_england", 7, 5, 5).audit([table])  # asks for 5 values: 1..4 is not
    assert narrow and all("narrowed to 1..4" in p for p in narrow)


def test_the_rounding_audit_finds_an_unrounded_or_far_count():
    table = Table(id="t", title="", row_header="", rows=["a"], columns=["x"],
                  counts=[[13]], row_totals=False, column_totals=True)
    table.rounding = 0  # published exactly
    problems = Rule("nhs_england", 7, 5, 3).audit([table])
    assert any("not a multiple of 5" in p for p in problems)


def test_round_to_is_the_nearest_multiple():
    assert [round_to(n, 5) for n in range(0, 14)] == [0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10, 10, 10, 15]
    assert all(abs(round_to(n, 5) - n) <= 2 for n in range(500))


def test_the_rule_names_itself():
    assert "NHS England" in Rule("nhs_england", 7, 5, 3).sentence()
    assert "nearest 5" in Rule("nhs_england", 7, 5, 3).sentence()
    assert "threshold of 7" in Rule("threshold", 7).sentence()
    assert "No count is hidden" in Rule("threshold", 0).sentence()
