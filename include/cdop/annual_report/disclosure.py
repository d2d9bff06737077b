"""Disclosure control for published count tables.

Rules (the threshold is local policy, `Policy.suppression_threshold`, default 7):

* **Primary suppression.** A count from 1 to the threshold shows the marker instead of
  the number. Zero is *not* suppressed: "none" discloses nothing about a family, and
  hiding structural zeros would make tables unreadable (standard practice, e.g. NHS
  England's sub-national tables). Totals are counts too: a total from 1 to the threshold
  is hidden like any other cell; larger totals are published as they are.
* **Secondary suppression.** A published total gives one equation over its line (row or
  column). A line with exactly one hidden cell would give that cell away, so the next
  smallest published cell of the line is hidden as well (a non-zero inner cell in
  preference to a zero or a total, and a cell the table marks as most needed last). Repeat to a fixed point. Then, since several lines
  together can still pin a cell down (e.g. a "bridge" between two blocks of hidden
  cells), every hidden cell is tested for being determined by the published totals
  (exact linear algebra over all the table's equations); one that is gets a further
  complement, and the loop runs again.
* **Across tables.** A count that appears in more than one table carries the same `key`
  in each; once hidden anywhere it is hidden everywhere, and the tables are processed
  again until nothing changes, so no table reveals what another hides.
* **Derived figures.** A percentage whose numerator or denominator is hidden is hidden.

`determined_cells` is also the generic checker the tests run over every table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

MARKER = "*"

Pos = tuple[int, int]  # (row, column) in the table's extended grid (totals included)


@dataclass(frozen=True)
class Line:
    """One published equation: sum(members) == total."""

    members: tuple[Pos, ...]
    total: Pos


@dataclass(frozen=True)
class Percent:
    """A derived percentage column: numerator cell(s) over a denominator cell, per row."""

    label: str
    numerators: tuple[Pos, ...]
    denominator: Pos


@dataclass
class Table:
    """A count table: inner cells rows x columns, with optional published margins.

    The extended grid adds a "Total" column (row totals) and/or a "Total" row (column
    totals); position (r, c) addresses inner cells and margins alike.
    """

    id: str
    title: str
    row_header: str
    rows: list[str]
    columns: list[str]
    counts: list[list[int]]
    row_totals: bool = False
    column_totals: bool = True
    # For each extended row, percentage columns shown after the counts.
    percents: list[list[Percent]] = field(default_factory=list)
    percent_labels: list[str] = field(default_factory=list)
    keys: dict[Pos, str] = field(default_factory=dict)
    note: str = ""
    disclosure_control: bool = True  # False only for counts that are not of children
    # Cells a reader most needs (e.g. the number of reviews with modifiable factors):
    # chosen as a secondary complement only when nothing else on the line will do.
    prefer_published: set[Pos] = field(default_factory=set)
    hidden: set[Pos] = field(default_factory=set)
    primary: set[Pos] = field(default_factory=set)

    # ------------------------------------------------------------------ the grid
    @property
    def n_rows(self) -> int:
        return len(self.rows) + (1 if self.column_totals else 0)

    @property
    def n_cols(self) -> int:
        return len(self.columns) + (1 if self.row_totals else 0)

    def value(self, pos: Pos) -> int:
        r, c = pos
        R, C = len(self.rows), len(self.columns)
        if r < R and c < C:
            return self.counts[r][c]
        if r < R and c == C:
            return sum(self.counts[r])
        if r == R and c < C:
            return sum(row[c] for row in self.counts)
        return sum(sum(row) for row in self.counts)

    def positions(self) -> list[Pos]:
        return [(r, c) for r in range(self.n_rows) for c in range(self.n_cols)]

    def is_total(self, pos: Pos) -> bool:
        return (self.column_totals and pos[0] == len(self.rows)) or (
            self.row_totals and pos[1] == len(self.columns)
        )

    def lines(self) -> list[Line]:
        R, C = len(self.rows), len(self.columns)
        lines = []
        if self.row_totals:
            for r in range(self.n_rows):
                lines.append(Line(tuple((r, c) for c in range(C)), (r, C)))
        if self.column_totals:
            for c in range(self.n_cols):
                lines.append(Line(tuple((r, c) for r in range(R)), (R, c)))
        return lines

    # ------------------------------------------------------------------ display
    def shown(self, pos: Pos) -> str:
        return MARKER if pos in self.hidden else str(self.value(pos))

    def percent_shown(self, p: Percent, decimals: int = 0) -> str:
        if p.denominator in self.hidden or any(n in self.hidden for n in p.numerators):
            return MARKER
        denominator = self.value(p.denominator)
        if denominator == 0:
            return "-"
        share = 100 * sum(self.value(n) for n in p.numerators) / denominator
        return f"{share:.{decimals}f}%"

    def header(self) -> list[str]:
        head = [self.row_header, *self.columns]
        if self.row_totals:
            head.append("Total")
        return head + list(self.percent_labels)

    def published_rows(self) -> list[list[str]]:
        """The table as published: labels, counts or markers, percentages."""
        out = []
        labels = [*self.rows, "Total"] if self.column_totals else list(self.rows)
        for r, label in enumerate(labels):
            row = [label] + [self.shown((r, c)) for c in range(self.n_cols)]
            percents = self.percents[r] if r < len(self.percents) else []
            row += [self.percent_shown(p) for p in percents]
            row += [""] * (len(self.percent_labels) - len(percents))
            out.append(row)
        return out

    def published_value(self, pos: Pos) -> int | None:
        return None if pos in self.hidden else self.value(pos)


# ------------------------------------------------------------------------ algorithm


def _candidate_order(table: Table, pos: Pos) -> tuple:
    value = table.value(pos)
    return (pos in table.prefer_published, value == 0, table.is_total(pos), value, pos)


def suppress(table: Table, threshold: int, forced: Iterable[Pos] = ()) -> None:
    """Apply primary and secondary suppression to `table` in place (idempotent)."""
    if not table.disclosure_control or threshold <= 0:
        table.hidden = set(forced) if table.disclosure_control else set()
        return
    table.primary = {p for p in table.positions() if 1 <= table.value(p) <= threshold}
    table.hidden |= table.primary | set(forced)
    lines = table.lines()
    while True:
        changed = False
        for line in lines:
            cells = (*line.members, line.total)
            hidden = [p for p in cells if p in table.hidden]
            if len(hidden) == 1:
                visible = [p for p in cells if p not in table.hidden]
                table.hidden.add(min(visible, key=lambda p: _candidate_order(table, p)))
                changed = True
        if changed:
            continue
        exposed = determined_cells(table)
        if not exposed:
            return
        # Complement one exposed cell: hide the smallest published cell on one of its lines.
        target = min(exposed)
        visible = [
            p
            for line in lines
            if target in (*line.members, line.total)
            for p in (*line.members, line.total)
            if p not in table.hidden
        ]
        if not visible:  # cannot happen: a determined cell lies on a line with a published total
            raise RuntimeError(f"table {table.id}: cannot protect cell {target}")
        table.hidden.add(min(visible, key=lambda p: _candidate_order(table, p)))


def protect(tables: Sequence[Table], threshold: int) -> None:
    """Suppress every table, then propagate hidden keys across tables to a fixed point."""
    hidden_keys: set[str] = set()
    while True:
        for table in tables:
            forced = [pos for pos, key in table.keys.items() if key in hidden_keys]
            suppress(table, threshold, forced)
        now = {table.keys[p] for table in tables for p in table.hidden if p in table.keys}
        if now <= hidden_keys:
            return
        hidden_keys |= now


# --------------------------------------------------------------------------- checker


def _equations(tables: Sequence[Table]) -> tuple[list[tuple[str, ...]], list[dict]]:
    """Unknowns (one per key, or per unkeyed hidden cell) and each line's coefficients."""
    unknowns: dict[tuple[str, ...], int] = {}
    rows: list[dict[int, int]] = []
    for table in tables:
        def name(pos: Pos, table: Table = table) -> tuple[str, ...]:
            key = table.keys.get(pos)
            return ("key", key) if key else ("cell", table.id, str(pos))

        for line in table.lines():
            coefficients: dict[int, int] = {}
            for pos, sign in [*((m, 1) for m in line.members), (line.total, -1)]:
                if pos in table.hidden:
                    index = unknowns.setdefault(name(pos), len(unknowns))
                    coefficients[index] = coefficients.get(index, 0) + sign
            coefficients = {k: v for k, v in coefficients.items() if v}
            if coefficients:
                rows.append(coefficients)
    return list(unknowns), rows


def determined_unknowns(tables: Sequence[Table]) -> list[tuple[str, ...]]:
    """Hidden values (keys or cells) that the published totals of `tables` pin down exactly.

    Gauss-Jordan elimination over the rationals: a hidden value is determined iff it is
    a pivot variable whose reduced row involves no free variable.
    """
    names, equations = _equations(tables)
    matrix = [{k: Fraction(v) for k, v in eq.items()} for eq in equations]
    pivots: dict[int, dict[int, Fraction]] = {}  # pivot variable -> its reduced row
    for row in matrix:
        # Reduce the new row by the existing pivots.
        for var, prow in pivots.items():
            if var in row:
                factor = row[var]
                for k, v in prow.items():
                    row[k] = row.get(k, Fraction(0)) - factor * v
                row = {k: v for k, v in row.items() if v}
        if not row:
            continue
        var = min(row)
        lead = row[var]
        row = {k: v / lead for k, v in row.items()}
        # Eliminate the new pivot from the existing rows.
        for other, prow in pivots.items():
            if var in prow:
                factor = prow[var]
                for k, v in row.items():
                    prow[k] = prow.get(k, Fraction(0)) - factor * v
                pivots[other] = {k: v for k, v in prow.items() if v}
        pivots[var] = row
    return [names[var] for var, row in pivots.items() if set(row) == {var}]


def determined_cells(table: Table) -> list[Pos]:
    """Hidden cells of one table that its own published totals give away."""
    found = determined_unknowns([_unkeyed(table)])
    return sorted(_pos(name) for name in found)


def _unkeyed(table: Table) -> Table:
    copy = Table(**{**table.__dict__, "keys": {}})
    return copy


def _pos(name: tuple[str, ...]) -> Pos:
    r, c = name[2].strip("()").split(",")
    return int(r), int(c)


def leaks_across_tables(tables: Sequence[Table]) -> list[str]:
    """Problems a reader could exploit with every table in hand: a key hidden in one
    table but published in another, or a hidden value the totals of all tables pin down."""
    problems = []
    hidden_keys = {t.keys[p] for t in tables for p in t.hidden if p in t.keys}
    for table in tables:
        for pos, key in table.keys.items():
            if key in hidden_keys and pos not in table.hidden:
                problems.append(f"{table.id}{pos}: key {key} hidden elsewhere but published here")
    for name in determined_unknowns(tables):
        problems.append(f"hidden value {'/'.join(name[1:])} is determined by published totals")
    return problems


def primary_violations(table: Table, threshold: int) -> list[Pos]:
    """Published cells that should have been suppressed (1..threshold)."""
    if not table.disclosure_control or threshold <= 0:
        return []
    return [
        p for p in table.positions() if p not in table.hidden and 1 <= table.value(p) <= threshold
    ]
