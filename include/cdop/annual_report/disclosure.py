"""Disclosure control for published count tables, against a reader who knows the rules.

Rules (the threshold is local policy, `Policy.suppression_threshold`, default 7):

* **Primary suppression.** A count from 1 to the threshold shows the marker instead of
  the number. Zero is *not* suppressed ("none" discloses nothing about a family), and a
  zero is never hidden as a complement either, so a reader knows every hidden count is
  at least 1 -- the audit below grants the reader that. Totals are counts too: a total
  from 1 to the threshold is hidden like any other cell.
* **What a reader can work out.** With every table of the edition in hand (single-year,
  pooled over years, cumulative: tied together by `Link`s and by the same `key` for the
  same count), each hidden count lies in an interval of whole numbers consistent with
  every published count and total. The *interval audit* computes it exactly (integer
  programs, as tau-Argus audits a table). A hidden count is protected when its interval
  holds at least as many values as the suppression range 1..threshold (a sliding
  protection interval of width threshold - 1, as tau-Argus sets protection levels).
* **Secondary suppression.** A line with one hidden cell gets a complement at once (the
  smallest published non-zero cell: an inner cell before a total, a most-needed cell
  last); then, while the audit finds a narrow interval, the smallest published count
  on an equation with that count is hidden as well (in every table that shows it), and
  the audit runs again, until every hidden count is protected.
* **Derived figures.** A percentage whose numerator or denominator is hidden is hidden.

`intervals`, `narrow_intervals` and `leaks_across_tables` are the checkers the tests
run over every table published together.

The rule is named in policy (`AnnualReportPolicy.disclosure_rule`, see `Rule`): the
threshold rule above, or **NHS England's rule for sub-national tables**: counts from 1
to 7 hidden, every other count rounded to the nearest 5 (totals from the unrounded
counts, then rounded). Under rounding a reader knows each published count only to within
2, so the *rounding audit* (`rounded_intervals`, `rounding_problems`) bounds every hidden
count by the rounded margins instead of exact ones; where one could be narrowed to fewer
values than the protection width, a further count is hidden, as above.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
    # False for a table this edition does not print (the same table for another year of
    # a pool): a reader does not know its counts, but its totals still hold.
    published: bool = True
    # Under a rounding rule, each published count is rounded to the nearest `rounding`
    # (0: published exactly). Set by `Rule.apply`, never on tables outside control.
    rounding: int = 0

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
        return MARKER if pos in self.hidden else str(self.published_value(pos))

    def percent_shown(self, p: Percent, decimals: int = 0) -> str:
        """From the counts as published (rounded, under a rounding rule: a share of the
        true counts beside their rounded values would give the true ones away)."""
        if p.denominator in self.hidden or any(n in self.hidden for n in p.numerators):
            return MARKER
        denominator = self.published_value(p.denominator)
        if denominator == 0:
            return "-"
        share = 100 * sum(self.published_value(n) for n in p.numerators) / denominator
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
        if pos in self.hidden:
            return None
        return round_to(self.value(pos), self.rounding) if self.rounding else self.value(pos)


def round_to(count: int, base: int) -> int:
    """`count` to the nearest multiple of `base` (for 5: 1-2 down, 3-4 up)."""
    return base * ((count + base // 2) // base)


# ------------------------------------------------------------------------ the model

Name = tuple  # ("key", key) for a keyed count, ("cell", table id, row, column) otherwise


@dataclass(frozen=True)
class Link:
    """A published relation between keyed counts: `total` is the sum of `parts` (a count
    pooled over years is the sum of each year's count; a cumulative count, of every
    year's since the panel began). The parts need not be published anywhere."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Interval:
    """What a reader holding every published table can tell about one hidden count: it
    lies in low..high (high may be unbounded), and nothing narrower."""

    name: Name
    low: int
    high: float
    value: int

    @property
    def width(self) -> float:
        return self.high - self.low + 1

    def label(self) -> str:
        return "/".join(str(p) for p in self.name[1:])


def _name(table: Table, pos: Pos) -> Name:
    key = table.keys.get(pos)
    return ("key", key) if key else ("cell", table.id, pos[0], pos[1])


@dataclass
class _Model:
    values: dict[Name, int]
    state: dict[Name, str]  # published | hidden | unpublished
    places: dict[Name, list[tuple[Table, Pos]]]
    equations: list[dict[Name, int]]


def _model(tables: Sequence[Table], links: Sequence[Link]) -> _Model:
    values: dict[Name, int] = {}
    state: dict[Name, str] = {}
    places: dict[Name, list[tuple[Table, Pos]]] = {}
    rank = {"unpublished": 0, "hidden": 1, "published": 2}
    for table in tables:
        for pos in table.positions():
            name = _name(table, pos)
            values[name] = table.value(pos)
            places.setdefault(name, []).append((table, pos))
            if not table.published:
                now = "unpublished"
            else:
                now = "hidden" if pos in table.hidden else "published"
            if name not in state or rank[now] > rank[state[name]]:
                state[name] = now
    equations: list[dict[Name, int]] = []
    for table in tables:
        for line in table.lines():
            eq: dict[Name, int] = {}
            for pos, sign in [*((m, 1) for m in line.members), (line.total, -1)]:
                name = _name(table, pos)
                eq[name] = eq.get(name, 0) + sign
            equations.append({k: v for k, v in eq.items() if v})
    for link in links:
        eq = {("key", link.total): 1}
        for part in link.parts:
            eq[("key", part)] = eq.get(("key", part), 0) - 1
        for name in eq:
            state.setdefault(name, "unpublished")
        equations.append({k: v for k, v in eq.items() if v})
    return _Model(values, state, places, [eq for eq in equations if eq])


def _components(model: _Model) -> list[tuple[list[Name], list[dict[Name, int]]]]:
    """Unknowns joined by an equation, each group with the equations over it."""
    parent: dict[Name, Name] = {}

    def find(x: Name) -> Name:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    unknown = {n for n, s in model.state.items() if s != "published"}
    for eq in model.equations:
        names = [n for n in eq if n in unknown]
        for other in names[1:]:
            parent[find(other)] = find(names[0])
        for n in names[:1]:
            find(n)
    groups: dict[Name, tuple[list[Name], list[dict[Name, int]]]] = {}
    for n in sorted(unknown, key=str):
        groups.setdefault(find(n), ([], []))[0].append(n)
    for eq in model.equations:
        names = [n for n in eq if n in unknown]
        if names:
            groups[find(names[0])][1].append(eq)
    return list(groups.values())


UNBOUNDED = 10**9  # a count this large is "no upper bound" to a reader


def _solve_group(model: _Model, names: list[Name], equations: list[dict[Name, int]],
                 need: int, first_only: bool, full: bool = False,
                 skip: set[Name] = frozenset()) -> list[Interval]:
    """Intervals of the hidden counts in one group of unknowns (see `intervals`): one
    integer program (HiGHS) built once, re-solved with each hidden count as objective.
    With `first_only`, stop at the first interval narrower than `need` values."""
    import highspy

    hidden = [n for n in names if model.state[n] == "hidden" and n not in skip]
    if not equations:
        return [Interval(n, 1, float("inf"), model.values[n]) for n in hidden]
    index = {n: i for i, n in enumerate(names)}
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.addVars(len(names), [1.0 if model.state[n] == "hidden" else 0.0 for n in names],
              [float(UNBOUNDED)] * len(names))
    for eq in equations:
        columns, values, rhs = [], [], 0.0
        for n, coefficient in eq.items():
            if n in index:
                columns.append(index[n])
                values.append(float(coefficient))
            else:
                rhs -= coefficient * model.values[n]
        h.addRow(rhs, rhs, len(columns), columns, values)
    integer = None  # the same program with whole numbers, made when first needed

    def solve(solver, column: int, sense):
        solver.changeColCost(column, 1.0)
        solver.changeObjectiveSense(sense)
        solver.run()
        status = solver.getModelStatus()
        # Read before the model changes (a change clears the solution).
        value = solver.getInfo().objective_function_value
        point = solver.getSolution().col_value if status == highspy.HighsModelStatus.kOptimal else None
        solver.changeColCost(column, 0.0)
        if point is None:  # the true counts are a solution, so this is not infeasible
            raise RuntimeError(f"disclosure audit: the solver stopped ({status})")
        return value, point

    def extreme(column: int, sense) -> float:
        """The least or greatest whole value of one count. The linear relaxation first:
        where its optimum is at whole numbers, that is the integer optimum; otherwise
        the integer program decides."""
        nonlocal integer
        value, point = solve(h, column, sense)
        if all(abs(v - round(v)) < 1e-6 for v in point):
            return value
        if integer is None:
            integer = highspy.Highs()
            integer.setOptionValue("output_flag", False)
            integer.passModel(h.getModel())
            integer.changeColsIntegrality(len(names), list(range(len(names))),
                                          [highspy.HighsVarType.kInteger] * len(names))
        return solve(integer, column, sense)[0]

    out = []
    for n in hidden:
        top = extreme(index[n], highspy.ObjSense.kMaximize)
        high = float("inf") if top >= UNBOUNDED - 0.5 else float(round(top))
        if not full and (high == float("inf") or high < need):
            # Unbounded above: wide enough. Below `need`: too narrow whatever the least
            # value (at least 1). Either way the lower bound adds nothing to the verdict.
            lowest = 1
        else:
            lowest = int(round(extreme(index[n], highspy.ObjSense.kMinimize)))
        found = Interval(n, lowest, high, model.values[n])
        out.append(found)
        if first_only and found.width < need:
            break
    return out


def _audit(tables: Sequence[Table], links: Sequence[Link], need: int, first_only: bool,
           known_wide: set[Name] | None = None, full: bool = False) -> list[Interval]:
    """`known_wide`: hidden counts already found wide enough. Hiding one more count only
    loosens the equations (a known value becomes an unknown of at least 1), so a count
    found wide stays wide while the hidden set grows: it is not solved again."""
    model = _model(tables, links)
    out: list[Interval] = []
    for names, equations in _components(model):
        if not any(model.state[n] == "hidden" and n not in (known_wide or ()) for n in names):
            continue
        skip = known_wide or set()
        found = _solve_group(model, names, equations, need, first_only, full, skip)
        if known_wide is not None:
            known_wide.update(i.name for i in found if i.width >= need)
        out.extend(found)
        if first_only and any(i.width < need for i in found):
            break
    return sorted(out, key=lambda i: str(i.name))


def intervals(tables: Sequence[Table], links: Sequence[Link] = ()) -> list[Interval]:
    """The interval audit: for every hidden count of the published tables, the least and
    greatest whole number consistent with every published count and total of `tables`
    and every link, given that a hidden count is at least 1 (zeros are published as 0)
    and an unpublished one at least 0. Integer programs (HiGHS) per hidden count, over
    the group of unknowns its equations join. The lower bound is
    solved only where it matters for `narrow_intervals`; here it always is."""
    return _audit(tables, links, need=2, first_only=False, full=True)


def narrow_intervals(tables: Sequence[Table], threshold: int,
                     links: Sequence[Link] = (), *, first_only: bool = False,
                     known_wide: set[Name] | None = None) -> list[Interval]:
    """Hidden counts whose interval holds fewer whole numbers than the suppression range
    (1..threshold): a reader who knows the rules could narrow them down."""
    need = max(threshold, 2)  # at the least, no hidden count may be pinned to one value
    return [i for i in _audit(tables, links, need, first_only, known_wide) if i.width < need]


# ------------------------------------------------------------------------ algorithm


def _candidate_order(table: Table, pos: Pos) -> tuple:
    value = table.value(pos)
    return (pos in table.prefer_published, table.is_total(pos), value, pos)


def _primary_and_lines(table: Table, threshold: int, forced: set[Pos]) -> None:
    """Primary suppression, then the quick pass: a line (row or column with its total)
    with exactly one hidden cell gives it away, so the smallest published non-zero cell
    of the line is hidden with it, to a fixed point. Zeros are never hidden: a reader
    knows a hidden count is at least 1, and the audit assumes it."""
    if not table.disclosure_control or threshold <= 0:
        table.primary = set()
        table.hidden = {p for p in forced if table.value(p)} if table.disclosure_control else set()
        return
    table.primary = {p for p in table.positions() if 1 <= table.value(p) <= threshold}
    table.hidden = table.primary | {p for p in forced if table.value(p)}
    lines = table.lines()
    changed = True
    while changed:
        changed = False
        for line in lines:
            cells = (*line.members, line.total)
            hidden = [p for p in cells if p in table.hidden]
            if len(hidden) == 1:
                visible = [p for p in cells if p not in table.hidden and table.value(p)]
                if visible:
                    table.hidden.add(min(visible, key=lambda p: _candidate_order(table, p)))
                    changed = True


def _complement(model: _Model, target: Name) -> Name:
    """The published count to hide next so that `target` gains room: the smallest
    non-zero count (a cell before a total, a most-needed cell last) on an equation with
    it, or failing that on an equation with an unknown joined to it."""
    def hideable(name: Name) -> bool:
        return model.state.get(name) == "published" and model.values[name] > 0 and any(
            t.disclosure_control and t.published for t, _ in model.places.get(name, ()))

    def order(name: Name) -> tuple:
        places = [(t, p) for t, p in model.places[name] if t.published]
        return (any(p in t.prefer_published for t, p in places),
                any(t.is_total(p) for t, p in places), model.values[name], str(name))

    seen, frontier = {target}, [target]
    fallback: Name | None = None  # a most-needed count: taken only if nothing else is near
    depth = 0
    while frontier and depth < 4:
        touching = [eq for eq in model.equations if any(n in eq for n in frontier)]
        candidates = {n for eq in touching for n in eq if hideable(n)}
        if candidates:
            best = min(candidates, key=order)
            if not order(best)[0]:
                return best
            fallback = fallback or best
        frontier = [n for eq in touching for n in eq
                    if n not in seen and model.state.get(n) != "published"]
        seen.update(frontier)
        depth += 1
    if fallback is not None:
        return fallback
    raise RuntimeError(f"disclosure control: nothing left to hide to protect {target}")


def protect(tables: Sequence[Table], threshold: int, links: Sequence[Link] = (),
            forced: Iterable[tuple[Table, Pos]] = ()) -> None:
    """Disclosure control over every table published together (in place, idempotent).

    Primary and quick secondary suppression in each table; a count hidden in one table
    is hidden in all; then the interval audit over all of them (and `links`, and the
    unpublished tables of other years they tie in); while some hidden count can be
    narrowed to fewer values than the suppression range, one more complement is hidden
    and everything runs again."""
    published = [t for t in tables if t.published]
    forced_names: set[Name] = {_name(t, p) for t, p in forced}
    known_wide: set[Name] = set()
    while True:
        hidden_keys: set[str] = set()
        while True:
            for table in published:
                table.hidden = set()
                pinned = {p for p in table.positions()
                          if _name(table, p) in forced_names
                          or table.keys.get(p) in hidden_keys}
                _primary_and_lines(table, threshold, pinned)
            now = {t.keys[p] for t in published for p in t.hidden if p in t.keys}
            if now <= hidden_keys:
                break
            hidden_keys |= now
        if threshold <= 1:
            return
        # What is hidden now stays hidden: the hidden set only grows, so what the audit
        # found wide stays wide (see `_audit`).
        forced_names |= {_name(t, p) for t in published for p in t.hidden}
        narrow = narrow_intervals(tables, threshold, links, known_wide=known_wide)
        if not narrow:
            return
        # A complement for the first narrow count, and for each other one whose
        # equations that complement does not touch (the audit is the costly step).
        model = _model(tables, links)
        touched: set[Name] = set()
        for i, interval in enumerate(narrow):
            if interval.name in touched:
                continue
            try:
                complement = _complement(model, interval.name)
            except RuntimeError:
                if i == 0:
                    raise
                continue
            forced_names.add(complement)
            model.state[complement] = "hidden"
            for eq in model.equations:
                if complement in eq:
                    touched.update(eq)


def suppress(table: Table, threshold: int, forced: Iterable[Pos] = ()) -> None:
    """Disclosure control for one table on its own."""
    protect([table], threshold, forced=[(table, p) for p in forced])


# --------------------------------------------------------------------------- checkers


def _unkeyed(table: Table) -> Table:
    return Table(**{**table.__dict__, "keys": {}})


def determined_cells(table: Table) -> list[Pos]:
    """Hidden cells of one table that its own published totals pin to a single value."""
    found = narrow_intervals([_unkeyed(table)], 2)
    return sorted((int(i.name[2]), int(i.name[3])) for i in found)


def leaks_across_tables(tables: Sequence[Table], threshold: int = 2,
                        links: Sequence[Link] = ()) -> list[str]:
    """Problems a reader could exploit with every table in hand: a key hidden in one
    table but published in another, or a hidden count the interval audit narrows to
    fewer values than `threshold` (2: pinned to one value)."""
    problems = []
    published = [t for t in tables if t.published]
    hidden_keys = {t.keys[p] for t in published for p in t.hidden if p in t.keys}
    for table in published:
        for pos, key in table.keys.items():
            if key in hidden_keys and pos not in table.hidden:
                problems.append(f"{table.id}{pos}: key {key} hidden elsewhere but published here")
    for interval in narrow_intervals(tables, threshold, links):
        high = "any" if interval.high == float("inf") else int(interval.high)
        problems.append(f"hidden count {interval.label()} narrowed to {interval.low}..{high}")
    return problems


def primary_violations(table: Table, threshold: int) -> list[Pos]:
    """Published cells that should have been suppressed (1..threshold)."""
    if not table.disclosure_control or threshold <= 0 or not table.published:
        return []
    return [
        p for p in table.positions() if p not in table.hidden and 1 <= table.value(p) <= threshold
    ]


# ----------------------------------------------------------------- the rounding rule


def _rounded_bounds(model: _Model, hide_up_to: int) -> dict[Name, tuple[float, float]]:
    """What a reader who knows the rounding rule can say of each count before solving: a
    published count shown as v was v - base//2 .. v + base//2 and not 1..hide_up_to (those
    are hidden); a count published exactly is known; a hidden one is at least 1; an
    unpublished one at least 0."""
    bounds: dict[Name, tuple[float, float]] = {}
    for name, state in model.state.items():
        if state == "hidden":
            bounds[name] = (1.0, float(UNBOUNDED))
        elif state == "unpublished":
            bounds[name] = (0.0, float(UNBOUNDED))
        else:
            base = max((t.rounding for t, p in model.places.get(name, ()) if t.published), default=0)
            value = model.values.get(name, 0)
            if not base:
                bounds[name] = (float(value), float(value))
                continue
            shown = round_to(value, base)
            low, high = max(0, shown - base // 2), shown + base // 2
            if shown == 0:
                high = 0 if high <= hide_up_to else high
            else:
                low = max(low, hide_up_to + 1)
            bounds[name] = (float(low), float(high))
    return bounds


class Contradiction(ValueError):
    """No set of true counts fits what is published under the rule (a table published
    without it, or edited after it): the audit cannot pass."""


def _label(name: Name) -> str:
    return name[1] if name[0] == "key" else f"{name[1]}({name[2]}, {name[3]})"


def rounded_intervals(tables: Sequence[Table], links: Sequence[Link] = (), *,
                      hide_up_to: int = 7) -> list[Interval]:
    """The rounding audit's intervals: for every hidden count of the published tables,
    the least and greatest whole number consistent with every published (rounded) count
    and total, every link and the rule itself. Integer programs (HiGHS) over each group
    of counts the equations join, every count an unknown within its bounds."""
    import highspy

    model = _model(tables, links)
    bounds = _rounded_bounds(model, hide_up_to)
    parent: dict[Name, Name] = {}

    def find(x: Name) -> Name:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for eq in model.equations:
        names = list(eq)
        for other in names[1:]:
            parent[find(other)] = find(names[0])
    out: list[Interval] = []
    groups: dict[Name, list[Name]] = {}
    for name in sorted(model.state, key=str):
        groups.setdefault(find(name), []).append(name)
    for names in groups.values():
        hidden = [n for n in names if model.state[n] == "hidden"]
        if not hidden:
            continue
        index = {n: i for i, n in enumerate(names)}
        equations = [eq for eq in model.equations if next(iter(eq)) in index]
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.addVars(len(names), [bounds[n][0] for n in names], [bounds[n][1] for n in names])
        for eq in equations:
            columns = [index[n] for n in eq]
            h.addRow(0.0, 0.0, len(columns), columns, [float(c) for c in eq.values()])
        h.changeColsIntegrality(len(names), list(range(len(names))),
                                [highspy.HighsVarType.kInteger] * len(names))
        for n in hidden:
            ends = []
            for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
                h.changeColCost(index[n], 1.0)
                h.changeObjectiveSense(sense)
                h.run()
                status = h.getModelStatus()
                value = h.getInfo().objective_function_value
                h.changeColCost(index[n], 0.0)
                if status == highspy.HighsModelStatus.kInfeasible:
                    raise Contradiction(f"the published counts around {_label(n)} contradict the rule")
                if status != highspy.HighsModelStatus.kOptimal:
                    raise RuntimeError(f"rounding audit: the solver stopped ({status})")
                ends.append(value)
            high = float("inf") if ends[1] >= UNBOUNDED - 0.5 else float(round(ends[1]))
            out.append(Interval(n, int(round(ends[0])), high, model.values[n]))
    return sorted(out, key=lambda i: str(i.name))


def rounding_problems(tables: Sequence[Table], links: Sequence[Link] = (), *,
                      hide_up_to: int = 7, base: int = 5, protection: int = 3) -> list[str]:
    """The rounding audit: every published count of a controlled table is a multiple of
    `base` or hidden, within base//2 of its true value, every count from 1 to
    `hide_up_to` is hidden, a count hidden in one table is hidden in all, and no hidden
    count can be narrowed from the rounded margins to fewer than `protection` values."""
    problems = []
    published = [t for t in tables if t.published]
    hidden_keys = {t.keys[p] for t in published for p in t.hidden if p in t.keys}
    for table in published:
        if not table.disclosure_control:
            continue
        for pos in table.positions():
            true = table.value(pos)
            if pos in table.hidden:
                continue
            shown = int(table.shown(pos))
            if shown % base:
                problems.append(f"{table.id}{pos}: published count is not a multiple of {base}")
            if abs(shown - true) > base // 2:
                problems.append(f"{table.id}{pos}: published count is more than {base // 2} from the true one")
            if 1 <= true <= hide_up_to:
                problems.append(f"{table.id}{pos}: a count from 1 to {hide_up_to} is published")
            if table.keys.get(pos) in hidden_keys:
                problems.append(f"{table.id}{pos}: key {table.keys[pos]} hidden elsewhere but published here")
    try:
        found = rounded_intervals(tables, links, hide_up_to=hide_up_to)
    except Contradiction as exc:
        return [*problems, str(exc)]
    for interval in found:
        if interval.width < protection:
            high = "any" if interval.high == float("inf") else int(interval.high)
            problems.append(f"hidden count {interval.label()} narrowed to {interval.low}..{high}")
    return problems


def protect_rounded(tables: Sequence[Table], hide_up_to: int, base: int, protection: int,
                    links: Sequence[Link] = ()) -> None:
    """NHS England's rule over every table published together (in place, idempotent):
    counts from 1 to `hide_up_to` hidden (a count hidden in one table in all), every other
    count rounded to the nearest `base`; then, while the rounding audit narrows a hidden
    count to fewer than `protection` values, one more complement is hidden."""
    published = [t for t in tables if t.published]
    forced: set[Name] = set()
    for table in tables:
        table.rounding = base if table.disclosure_control and table.published else 0
    while True:
        hidden_keys: set[str] = set()
        while True:
            for table in published:
                if not table.disclosure_control:
                    table.hidden, table.primary = set(), set()
                    continue
                table.primary = {p for p in table.positions() if 1 <= table.value(p) <= hide_up_to}
                table.hidden = table.primary | {
                    p for p in table.positions() if table.value(p) and (
                        _name(table, p) in forced or table.keys.get(p) in hidden_keys)}
            now = {t.keys[p] for t in published for p in t.hidden if p in t.keys}
            if now <= hidden_keys:
                break
            hidden_keys |= now
        narrow = [i for i in rounded_intervals(tables, links, hide_up_to=hide_up_to)
                  if i.width < protection]
        if not narrow:
            return
        model = _model(tables, links)
        forced.add(_complement(model, narrow[0].name))


@dataclass(frozen=True)
class Rule:
    """A disclosure rule, by the name policy gives it: "threshold" (hide 1..threshold,
    secondary suppression until the interval audit passes) or "nhs_england" (hide
    1..threshold, round the rest to the nearest `base`, audited from rounded margins).
    Threshold 0 hides nothing (the confidential edition)."""

    name: str = "threshold"
    threshold: int = 7
    base: int = 0
    protection: int = 0

    @classmethod
    def from_policy(cls, report_policy, suppression_threshold: int) -> Rule:
        if report_policy.disclosure_rule == "nhs_england":
            return cls("nhs_england", report_policy.hide_up_to, report_policy.rounding_base,
                       report_policy.rounding_protection)
        return cls("threshold", suppression_threshold)

    @property
    def rounds(self) -> bool:
        return self.name == "nhs_england" and self.threshold > 0

    def apply(self, tables: Sequence[Table], links: Sequence[Link] = ()) -> None:
        if self.rounds:
            protect_rounded(tables, self.threshold, self.base, self.protection, links)
        else:
            for table in tables:
                table.rounding = 0
            protect(tables, self.threshold, links)

    def audit(self, tables: Sequence[Table], links: Sequence[Link] = ()) -> list[str]:
        """Every problem a reader holding all of `tables` could exploit (empty: safe)."""
        if self.threshold <= 0:
            return []
        if self.rounds:
            return rounding_problems(tables, links, hide_up_to=self.threshold, base=self.base,
                                     protection=self.protection)
        problems = [f"{t.id}{p}: a count from 1 to {self.threshold} is published"
                    for t in tables for p in primary_violations(t, self.threshold)]
        return problems + leaks_across_tables(tables, self.threshold, links)

    def sentence(self) -> str:
        """The rule in a sentence, for the report's notes."""
        if self.threshold <= 0:
            return "No count is hidden or rounded in this edition."
        if self.rounds:
            return (f"Disclosure rule: NHS England's rule for sub-national tables. Any count "
                    f"from 1 to {self.threshold} is shown as {MARKER}; every other count, totals "
                    f"included, is rounded to the nearest {self.base} (totals are added up from "
                    f"the unrounded counts, then rounded), and percentages are calculated from the "
                    f"rounded counts. Where the rounded totals would narrow a hidden count to fewer "
                    f"than {self.protection} possible values, a further count is hidden.")
        return (f"Disclosure rule: a threshold of {self.threshold} with secondary suppression. "
                f"Any count from 1 to {self.threshold} is shown as {MARKER}, and further counts "
                f"are hidden until each hidden count could still be any of at least "
                f"{self.threshold} values.")
