"""Disclosure control: primary and secondary suppression, across tables, and the checker."""

from __future__ import annotations

import random

import pytest

from cdop.annual_report.disclosure import (
    MARKER,
    Percent,
    Table,
    determined_cells,
    leaks_across_tables,
    primary_violations,
    protect,
    suppress,
)


def column(counts: list[int], **kw) -> Table:
    return Table(id="t", title="t", row_header="r", rows=[f"r{i}" for i in range(len(counts))],
                 columns=["n"], counts=[[c] for c in counts], row_totals=False,
                 **{"column_totals": True, **kw})


def grid(counts: list[list[int]], **kw) -> Table:
    return Table(id=kw.pop("id", "g"), title="g", row_header="r",
                 rows=[f"r{i}" for i in range(len(counts))],
                 columns=[f"c{j}" for j in range(len(counts[0]))], counts=counts,
                 row_totals=True, column_totals=True, **kw)


def published(table: Table) -> list[list[str]]:
    return [row[1:] for row in table.published_rows()]


def test_counts_from_one_to_threshold_are_hidden_zero_and_larger_are_not():
    table = column([0, 1, 7, 8, 20, 30], column_totals=False)
    suppress(table, 7)
    assert published(table) == [["0"], [MARKER], [MARKER], ["8"], ["20"], ["30"]]


def test_threshold_is_policy():
    table = column([3, 20, 30], column_totals=False)
    suppress(table, 2)
    assert published(table) == [["3"], ["20"], ["30"]]
    suppress(table, 0)
    assert table.hidden == set()


def test_a_single_hidden_cell_in_a_column_gets_the_next_smallest_hidden_too():
    table = column([3, 20, 30, 0])
    suppress(table, 7)
    # 3 alone would be 53 - 20 - 30 - 0; the next smallest non-zero (20) goes too; the
    # zero is not a useful complement (a reader would guess it) and the total stays.
    assert published(table) == [[MARKER], [MARKER], ["30"], ["0"], ["53"]]
    assert determined_cells(table) == []


def test_zero_is_the_complement_only_when_nothing_else_is_left():
    table = column([3, 0])
    suppress(table, 7)
    # The total (3) is itself a small count, so it is hidden too: nothing is recoverable.
    assert published(table) == [[MARKER], ["0"], [MARKER]]
    assert determined_cells(table) == []


def test_small_totals_are_hidden_like_any_count():
    table = grid([[2, 1], [10, 12]])
    suppress(table, 7)
    assert (0, 2) in table.hidden  # the row total 3
    assert primary_violations(table, 7) == []
    assert determined_cells(table) == []


def test_rows_and_columns_iterate_to_a_fixed_point():
    table = grid([[5, 20, 30], [25, 40, 45], [30, 35, 50]])
    suppress(table, 7)
    # 5 is hidden; its row and its column each need a complement (20 and 25), which then
    # leave column 1 and row 1 with one hidden cell each: 40 follows, closing the rectangle.
    assert {(0, 0), (0, 1), (1, 0), (1, 1)} <= table.hidden
    for line in table.lines():
        hidden = [p for p in (*line.members, line.total) if p in table.hidden]
        assert len(hidden) != 1
    assert determined_cells(table) == []
    assert table.published_value((2, 2)) == 50


def test_checker_finds_a_cell_pinned_down_by_several_lines():
    # Two rectangles of hidden cells joined by one cell (a "bridge"): every line has two
    # or more hidden cells, yet the bridge is determined by the totals taken together.
    counts = [[9, 9, 0, 0], [9, 9, 9, 0], [0, 0, 9, 9], [0, 0, 9, 9]]
    table = grid(counts)
    table.hidden = {(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3), (3, 2), (3, 3)}
    assert (1, 2) in determined_cells(table)
    suppress(table, 7)  # the algorithm adds a complement until nothing is determined
    assert determined_cells(table) == []


def test_a_key_hidden_in_one_table_is_hidden_in_every_table():
    first = column([3, 20, 30])
    first.id = "first"
    first.keys = {(1, 0): "reviews|x=b"}
    second = grid([[10, 10], [15, 5]], id="second")  # row 1 total 20 is the same count
    second.keys = {(1, 2): "reviews|x=b"}
    protect([first, second], 7)
    assert (1, 0) in first.hidden  # 20: the complement of 3 in the first table
    assert (1, 2) in second.hidden  # so the same count is hidden in the second
    assert leaks_across_tables([first, second]) == []
    assert determined_cells(second) == []


def test_percentages_built_on_a_hidden_count_are_hidden():
    table = column([3, 20, 30])
    table.percent_labels = ["%"]
    table.percents = [[Percent("%", ((r, 0),), (3, 0))] for r in range(4)]
    suppress(table, 7)
    rows = table.published_rows()
    assert rows[0][-1] == MARKER and rows[1][-1] == MARKER
    assert rows[2][-1] == "57%" and rows[3][-1] == "100%"


def test_tables_without_disclosure_control_are_published_in_full():
    table = column([3, 20, 30], disclosure_control=False)
    suppress(table, 7)
    assert table.hidden == set()


@pytest.mark.parametrize("seed", range(60))
def test_random_tables_leave_nothing_recoverable(seed):
    rng = random.Random(seed)
    rows, cols = rng.randint(1, 6), rng.randint(1, 4)
    counts = [[rng.choice([0, 0, 1, 2, 3, 5, 7, 8, 9, 12, 20, 40]) for _ in range(cols)]
              for _ in range(rows)]
    table = grid(counts) if cols > 1 else column([r[0] for r in counts])
    suppress(table, 7)
    assert primary_violations(table, 7) == []
    assert determined_cells(table) == []
    for line in table.lines():
        assert len([p for p in (*line.members, line.total) if p in table.hidden]) != 1
    # Published values are the true counts.
    for pos in table.positions():
        if pos not in table.hidden:
            assert table.published_value(pos) == table.value(pos)
