"""Disclosure control: primary and secondary suppression, across tables, and the checker."""

from __future__ import annotations

import random

import pytest

from cdop.annual_report.disclosure import (
    MARKER,
    Link,
    Percent,
    Table,
    determined_cells,
    intervals,
    leaks_across_tables,
    narrow_intervals,
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


# ---------------------------------------------------------------- the interval audit


def demo_category_table() -> Table:
    """The demo's category table shape: "Chromosomal, genetic and congenital anomalies"
    has 1 review with modifiable factors, 13 without, 1 with insufficient information."""
    counts = [[0, 9, 0], [1, 13, 1], [2, 20, 0], [0, 8, 0], [3, 0, 0]]
    return Table(id="category", title="c", row_header="Category",
                 rows=["Perinatal", "Chromosomal, genetic and congenital anomalies", "Infection",
                       "Chronic", "Suicide"],
                 columns=["Modifiable", "Not modifiable", "Insufficient"], counts=counts,
                 row_totals=True, column_totals=True)


def test_two_hidden_cells_summing_to_two_are_each_one_to_a_reader_who_knows_zeros_show():
    table = demo_category_table()
    table.hidden = {(1, 0), (1, 2)} | {(r, c) for r in range(5) for c in range(3)
                                       if 1 <= table.counts[r][c] <= 7}
    by_name = {(i.name[2], i.name[3]): i for i in intervals([table])}
    # 13 of 15 shown: the two hidden cells sum to 2 and each is at least 1.
    assert (by_name[(1, 0)].low, by_name[(1, 0)].high) == (1, 1)
    assert (by_name[(1, 2)].low, by_name[(1, 2)].high) == (1, 1)
    assert narrow_intervals([table], 7)


def test_the_demo_row_is_protected_against_an_interval_audit():
    table = demo_category_table()
    suppress(table, 7)
    assert {(1, 0), (1, 2)} <= table.hidden
    # Every hidden count could be any of at least 7 values (the range 1..7), given
    # every published count and total, zeros shown as 0.
    for interval in intervals([table]):
        assert interval.low <= interval.value <= interval.high
        assert interval.width >= 7, interval
    assert narrow_intervals([table], 7) == []


@pytest.mark.parametrize("seed", range(25))
def test_random_tables_hold_every_hidden_count_to_the_suppression_range(seed):
    rng = random.Random(1000 + seed)
    rows, cols = rng.randint(2, 5), rng.randint(2, 4)
    counts = [[rng.choice([0, 0, 1, 2, 3, 5, 8, 9, 12, 20]) for _ in range(cols)]
              for _ in range(rows)]
    table = grid(counts)
    suppress(table, 5)
    assert primary_violations(table, 5) == []
    for interval in intervals([table]):
        assert interval.low <= interval.value <= interval.high
        assert interval.width >= 5, (counts, interval)
    assert all(table.value(p) > 0 for p in table.hidden)  # zeros are never hidden


def test_pooled_and_single_year_tables_are_audited_together():
    """A pooled table (three years) beside this year's: a cell the single-year table
    hides must not come back as pooled minus the other years, with the years' totals
    published in a trend table."""
    def year_table(year: int, counts, published=True) -> Table:
        t = grid(counts, id=f"y{year}")
        t.published = published
        t.keys = {(r, c): f"{year}|{r}|{c}" for r in range(3) for c in range(3)}
        return t

    this = year_table(2026, [[2, 30], [10, 12]])
    others = [year_table(y, [[0, 25], [11, 9]], published=False) for y in (2024, 2025)]
    pooled = grid([[2, 80], [32, 30]], id="pooled")
    pooled.keys = {(r, c): f"pool|{r}|{c}" for r in range(3) for c in range(3)}
    trend = Table(id="trend", title="t", row_header="y", rows=["2024", "2025", "2026"],
                  columns=["Reviews"], counts=[[45], [45], [54]], row_totals=False,
                  column_totals=False)
    trend.keys = {(0, 0): "2024|2|2", (1, 0): "2025|2|2", (2, 0): "2026|2|2"}
    links = [Link(f"pool|{r}|{c}", tuple(f"{y}|{r}|{c}" for y in (2024, 2025, 2026)))
             for r in range(3) for c in range(3)]
    tables = [this, *others, pooled, trend]
    protect(tables, 7, links)
    assert (0, 0) in this.hidden and (0, 0) in pooled.hidden
    for interval in intervals(tables, links):
        assert interval.width >= 7, interval
    assert leaks_across_tables(tables, 7, links) == []
    # The unpublished years' tables are never printed.
    assert all(t.published for t in tables if t.hidden)
