"""The report's content: every table (with disclosure control applied), the headline
figures, learning, recommendations and the national comparison, built from ReportData,
for one edition: **public** (disclosure-controlled, with pooled tables where one year
would be mostly hidden) or **confidential** (for the child death review partners:
counts in full).

Everything a reader sees comes from here, and the content hash that decides whether a
rebuilt report is a new version is taken over it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cdop.annual_report.data import HISTORY_DIMENSIONS, NCMD_BANDS, ReportData, year_label
from cdop.annual_report.disclosure import MARKER, Link, Percent, Rule, Table
from cdop.annual_report.population import mid_year_for, rate_per_100k
from cdop.config import AnnualReportPolicy, ConfigError
from cdop.rules.ages import AGE_BANDS
from cdop.rules.board import BoardFigures, within_months
from cdop.store.statuses import RecommendationStatus
from cdop.taxonomy import taxonomy

NATIONAL_REFERENCE = Path(__file__).resolve().parents[1] / "data" / "national_reference.csv"
PUBLIC, CONFIDENTIAL = "public", "confidential"
MODIFIABLE = ("yes", "no", "insufficient")
MODIFIABLE_COLUMNS = ["Modifiable factors", "No modifiable factors", "Insufficient information"]
ETHNIC_GROUPS = [
    ("white", "White"), ("mixed", "Mixed or multiple"), ("asian", "Asian or Asian British"),
    ("black", "Black, Black British, Caribbean or African"), ("other", "Other ethnic group"),
    ("not_stated", "Not stated"),
]
TIME_BANDS = ["Within 6 months", "6 to 12 months", "More than 12 months"]
NCMD_LABELS = {"within": "Within the deadline", "late": "After the deadline",
               "not_recorded": "Not recorded"}
STATUS_COLUMNS = [(RecommendationStatus.COMPLETED, "Completed"), (RecommendationStatus.IN_PROGRESS, "In progress"),
                  (RecommendationStatus.AGREED, "Agreed, not yet started"),
                  (RecommendationStatus.NOT_ACCEPTED, "Not accepted")]
LEARNING_ITEMS = 12  # learning statements printed (modifiable ones first)
RECOMMENDATIONS_LISTED = 30  # recommendations of the year printed in full
ONS_MIN_DEATHS = 3  # ONS computes no rate from fewer deaths
ONS_RELIABLE_DEATHS = 20  # ONS flags a rate from fewer deaths "u" (unreliable)
UNRELIABLE = "u"
TREND_SHADOW_YEARS = 4  # earlier years whose totals the trend table publishes


@dataclass
class Figure:
    """A headline figure: a number or percentage that may be hidden."""

    label: str
    shown: str


@dataclass
class ReportContent:
    year: int
    label: str
    area_name: str
    threshold: int
    start: dt.date
    end: dt.date
    tables: list[Table]  # as published, in order
    headline: list[Figure]
    median_days: str
    learning: list[str]
    recommendations_made: list[dict]
    recommendations_made_total: int
    national: list[dict]
    empty: bool
    extra: dict = field(default_factory=dict)
    edition: str = PUBLIC
    # What the disclosure audit ran over: the published tables, the unpublished tables
    # of other years they tie in, and the links between them.
    audit_tables: list[Table] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    pooled: dict[str, str] = field(default_factory=dict)  # single-year table id -> pooled id
    rates: list[dict] = field(default_factory=list)
    national_note: str = ""
    meetings_held: int = 0
    first_year: int | None = None
    governance: dict = field(default_factory=dict)
    rule: Rule = field(default_factory=Rule)  # the disclosure rule this edition used

    def table(self, table_id: str) -> Table:
        return next(t for t in self.tables if t.id == table_id)

    def has(self, table_id: str) -> bool:
        return any(t.id == table_id for t in self.tables)

    def canonical(self) -> dict:
        """Everything published, as plain data (the content hash is taken over this)."""
        return {
            "year": self.year,
            "edition": self.edition,
            "area": self.area_name,
            "threshold": self.threshold,
            "rule": self.rule.sentence(),
            "tables": [
                {"id": t.id, "title": t.title, "header": t.header(), "rows": t.published_rows(),
                 "note": t.note}
                for t in self.tables
            ],
            "headline": [[f.label, f.shown] for f in self.headline],
            "median_days": self.median_days,
            "learning": self.learning,
            "recommendations_made": self.recommendations_made,
            "recommendations_made_total": self.recommendations_made_total,
            "national": self.national,
            "national_note": self.national_note,
            "rates": self.rates,
            "governance": self.governance,
            "meetings_held": self.meetings_held,
        }

    def content_hash(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, default=str).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


# ----------------------------------------------------------------------------- helpers


def _counts(frame: pd.DataFrame, columns: list[str]) -> dict:
    if frame.empty:
        return {}
    return frame.groupby(columns).size().to_dict()


def _count_table(table_id: str, title: str, row_header: str, codes: list[str],
                 labels: list[str], values: pd.Series, scope: str, dimension: str,
                 note: str = "", published: bool = True, column: str = "Reviews",
                 share: str = "% of reviews") -> Table:
    """One column of review counts by value, with the total and % of reviews. Every cell
    carries a key: the same count in another table (or year, or pool) is the same key."""
    counts = values.value_counts() if len(values) else pd.Series(dtype="int64")
    table = Table(
        id=table_id, title=title, row_header=row_header, rows=list(labels), columns=[column],
        counts=[[int(counts.get(code, 0))] for code in codes],
        row_totals=False, column_totals=True, note=note, published=published,
    )
    R = len(codes)
    table.percent_labels = [share]
    table.percents = [[Percent(share, ((r, 0),), (R, 0))] for r in range(R + 1)]
    table.keys = {(R, 0): f"reviews:{scope}"}
    table.keys.update({(r, 0): f"reviews:{scope}|{dimension}={code}" for r, code in enumerate(codes)})
    return table


def _modifiable_table(table_id: str, title: str, row_header: str, codes: list[str],
                      labels: list[str], frame: pd.DataFrame, scope: str, dimension: str,
                      published: bool = True, note: str = "") -> Table:
    """Rows by `dimension`, columns modifiable yes/no/insufficient, with both margins;
    `frame` has columns `g` (the dimension's code) and `m` (modifiable)."""
    crosstab = _counts(frame, ["g", "m"])
    counts = [[int(crosstab.get((code, m), 0)) for m in MODIFIABLE] for code in codes]
    R, C = len(codes), len(MODIFIABLE)
    table = Table(
        id=table_id, title=title, row_header=row_header, rows=list(labels),
        columns=list(MODIFIABLE_COLUMNS), counts=counts, row_totals=True, column_totals=True,
        published=published, note=note,
    )
    table.percent_labels = ["% of reviews", "% with modifiable factors"]
    table.percents = [
        [Percent("% of reviews", ((r, C),), (R, C)), Percent("% with modifiable factors", ((r, 0),), (r, C))]
        for r in range(R + 1)
    ]
    table.keys = {(R, C): f"reviews:{scope}"}
    table.keys.update({(r, C): f"reviews:{scope}|{dimension}={code}" for r, code in enumerate(codes)})
    table.keys.update({(R, c): f"reviews:{scope}|modifiable={m}" for c, m in enumerate(MODIFIABLE)})
    table.keys.update({(r, c): f"reviews:{scope}|{dimension}={code}|modifiable={m}"
                       for r, code in enumerate(codes) for c, m in enumerate(MODIFIABLE)})
    table.prefer_published = {(R, 0), (R, C)}  # reviews with modifiable factors; all reviews
    return table


def _time_band(died: dt.date, reviewed: dt.date) -> str:
    if within_months(died, reviewed, 6):
        return TIME_BANDS[0]
    if within_months(died, reviewed, 12):
        return TIME_BANDS[1]
    return TIME_BANDS[2]


INFANT_BANDS = AGE_BANDS[:2]  # under one year (completed years, as the bands count)


def ethnic_group(code: str) -> str:
    if code == "not_stated" or not code:
        return "not_stated"
    prefix = code.split("_", 1)[0]
    return prefix if prefix in ("white", "mixed", "asian", "black") else "other"


def read_national_reference(path: Path = NATIONAL_REFERENCE) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines))


def _hidden_share(table: Table) -> float:
    cells = [(r, c) for r in range(len(table.rows)) for c in range(len(table.columns))
             if table.value((r, c))]
    return sum(1 for p in cells if p in table.hidden) / len(cells) if cells else 0.0


# ---------------------------------------------------------------- dimensions of a review


@dataclass(frozen=True)
class Dimension:
    """A way of dividing reviews that the report tabulates for one year and, where one
    year would be mostly hidden, pooled over several years."""

    table_id: str
    title: str
    row_header: str
    codes: tuple[str, ...]
    labels: tuple[str, ...]
    value: Callable[[pd.DataFrame], pd.Series]  # the code of each review in a history frame
    modifiable: bool  # tabulated against modifiable factors (else a single count column)
    note: str = ""
    column: str = ""  # the history's column (ReportData.history) the codes come from


def _dimensions(history: dict[str, pd.DataFrame]) -> list[Dimension]:
    tax = taxonomy()
    categories = [c["code"] for c in tax.categories]
    category_labels = [c["label"] for c in tax.categories]
    recorded = history["category"]
    if len(recorded) and not recorded["category"].isin(categories).all():
        categories.append("_unknown")
        category_labels.append("Category not recorded")
    known = set(categories)
    sexes = tax.labels("sex")
    places = tax.labels("place_of_death")

    def quintile(f: pd.DataFrame) -> pd.Series:
        return f["deprivation_decile"].map(
            lambda d: "unknown" if pd.isna(d) else str((int(d) + 1) // 2))

    return [
        Dimension("category", "Reviews completed by category of death, and modifiable factors",
                  "Category of death", tuple(categories), tuple(category_labels),
                  lambda f: f["category"].where(f["category"].isin(known), "_unknown"), True, column="category"),
        Dimension("age_band", "Reviews completed by age at death, and modifiable factors",
                  "Age at death", AGE_BANDS, AGE_BANDS, lambda f: f["age_band"], True, column="age_band"),
        Dimension("sex", "Reviews completed by sex", "Sex", tuple(sexes), tuple(sexes.values()),
                  lambda f: f["sex"], False, column="sex"),
        Dimension("ethnicity", "Reviews completed by ethnic group", "Ethnic group",
                  tuple(c for c, _ in ETHNIC_GROUPS), tuple(label for _, label in ETHNIC_GROUPS),
                  lambda f: f["ethnicity"].map(ethnic_group), False,
                  "ONS 2021 census high-level groups.", column="ethnicity"),
        Dimension("deprivation", "Reviews completed by deprivation quintile of the child's home",
                  "Deprivation quintile", ("1", "2", "3", "4", "5", "unknown"),
                  ("1 (most deprived)", "2", "3", "4", "5 (least deprived)", "Not known"),
                  quintile, False,
                  "Index of Multiple Deprivation quintile, from the decile recorded at notification.", column="deprivation_decile"),
        Dimension("expected", "Reviews completed: expected and unexpected deaths", "Death was",
                  ("expected", "unexpected"), ("Expected", "Unexpected"),
                  lambda f: f["death_expected"].map(lambda e: "expected" if e else "unexpected"),
                  False, column="death_expected"),
        Dimension("place_of_death", "Reviews completed by place of death", "Place of death",
                  tuple(places), tuple(places.values()), lambda f: f["place_of_death"], False, column="place_of_death"),
    ]


def _dimension_table(dim: Dimension, frame: pd.DataFrame, scope: str, *, table_id: str,
                     title: str, published: bool = True, note: str = "") -> Table:
    """`frame`: the history's counts for the dimension's column, one row per review again."""
    frame = frame.loc[frame.index.repeat(frame["n"].astype("int64"))] if len(frame) else frame
    values = dim.value(frame) if len(frame) else pd.Series(dtype="object")
    if dim.modifiable:
        pairs = pd.DataFrame({"g": values.values, "m": frame["modifiable"].values}) if len(frame) \
            else pd.DataFrame({"g": [], "m": []})
        return _modifiable_table(table_id, title, dim.row_header, list(dim.codes),
                                 list(dim.labels), pairs, scope, dim.table_id, published,
                                 note or dim.note)
    return _count_table(table_id, title, dim.row_header, list(dim.codes), list(dim.labels),
                        values, scope, dim.table_id, note or dim.note, published)


def _scope(first: int, last: int) -> str:
    return str(last) if first == last else f"{first}-{last}"


def _span_label(first: int, last: int) -> str:
    return year_label(last) if first == last else f"{year_label(first)} to {year_label(last)}"


def _linked(published: Table, parts: list[Table]) -> list[Link]:
    """Each cell of `published` is the sum of the same cell of `parts`."""
    return [Link(key, tuple(p.keys[pos] for p in parts)) for pos, key in published.keys.items()]


class _Shadows:
    """Tables of other years that this edition does not print but whose totals tie the
    printed ones together (unknown to a reader, made once per year and dimension)."""

    def __init__(self, history: dict[str, pd.DataFrame]):
        self.history = history
        self.made: dict[tuple[str, str], Table] = {}

    def table(self, dim: Dimension, first: int, last: int) -> Table:
        scope = _scope(first, last)
        key = (dim.table_id, scope)
        if key not in self.made:
            frame = _years(self.history[dim.column], first, last)
            self.made[key] = _dimension_table(dim, frame, scope, table_id=f"{dim.table_id}@{scope}",
                                              title="", published=False)
        return self.made[key]


# ------------------------------------------------------------------------------ build


def recommendation_response(sent: dict | None, edition: str) -> dict:
    """What a recommendation's organisation sent (its answer, action plan, outcome and
    evidence) as the edition shows it. The confidential edition shows all of it: the
    reasons and each action with its owner's role and target date. The public one shows the
    answer, the plan as a count of actions and its last target month, and the outcome
    (an organisation's own account of what changed, gate-checked with the rest of the
    report, as the action taken always was); never the reasons or the owners."""
    sent = sent or {}
    answer = {"accepted": "Accepted", "declined": "Declined"}.get(sent.get("response") or "", "No answer by 31 March")
    plan = sent.get("plan") or []
    shown: dict = {"national_reference": sent.get("national_reference"), "answer": answer, "plan": [],
                   "plan_summary": None, "reasons": None, "outcome": sent.get("outcome"),
                   "evidence_files": sent.get("evidence_files", 0)}
    if plan:
        last = max(dt.date.fromisoformat(a["target_on"]) for a in plan)
        shown["plan_summary"] = f"{len(plan)} action{'' if len(plan) == 1 else 's'}, the last due {last:%B %Y}"
    if edition == CONFIDENTIAL:
        shown["reasons"] = sent.get("reasons")
        shown["plan"] = [{"action": a["action"], "owner_role": a["owner_role"],
                          "target": f"{dt.date.fromisoformat(a['target_on']):%d %B %Y}"} for a in plan]
    if shown["outcome"]:
        shown["action"] = shown["outcome"]  # closed by evidence: the outcome is the action taken
    return shown


def build_content(data: ReportData, *, area_name: str, threshold: int, edition: str = PUBLIC,
                  report_policy: AnnualReportPolicy | None = None,
                  children: dict[int, int] | None = None) -> ReportContent:
    """The content of one edition. The confidential edition is built with threshold 0
    (nothing hidden); `children` is the population aged 0-17 by mid-year."""
    policy = report_policy or AnnualReportPolicy()
    public_rule = Rule.from_policy(policy, threshold)
    extra = {"pool_years": policy.pool_years, "threshold_public": public_rule.threshold,
             "rule_public": public_rule.sentence()}
    rule = public_rule if edition == PUBLIC else Rule("threshold", 0)
    threshold = rule.threshold
    year, reviews = data.year, data.reviews
    history = data.history or _history_from(data)
    n = len(reviews)
    tables: list[Table] = []
    shadows = _Shadows(history)
    links: list[Link] = []

    # Trend: deaths notified and reviews completed, five years.
    years = sorted(data.notified_by_year)
    trend = Table(
        id="trend", title="Deaths notified and reviews completed, last five years",
        row_header="Year (April to March)", rows=[year_label(y) for y in years],
        columns=["Deaths notified", "Reviews completed"],
        counts=[[data.notified_by_year[y], data.reviews_by_year[y]] for y in years],
        row_totals=False, column_totals=False,
    )
    trend.keys = {(i, 0): f"notified:{y}" for i, y in enumerate(years)}
    trend.keys.update({(i, 1): f"reviews:{y}" for i, y in enumerate(years)})
    tables.append(trend)

    # Time from death to review completion.
    bands = pd.Series(
        [_time_band(d, r) for d, r in zip(reviews["date_of_death"], reviews["reviewed_on"], strict=True)],
        dtype="object",
    )
    timing = _count_table(
        "time_to_review", "Time from death to completion of the review", "Time taken",
        TIME_BANDS, TIME_BANDS, bands, str(year), "time",
    )
    R = len(TIME_BANDS)
    timing.percent_labels = ["% of reviews", "Cumulative %"]
    timing.percents = [
        [Percent("% of reviews", ((r, 0),), (R, 0)),
         Percent("Cumulative %", tuple((i, 0) for i in range(r + 1)), (R, 0))]
        for r in range(R)
    ] + [[Percent("% of reviews", ((R, 0),), (R, 0))]]
    tables.append(timing)

    # Meetings held, and the reviews completed at each.
    tables.append(_meetings_table(data))
    # NCMD told of each death within the deadline.
    ncmd = _ncmd_table(data, year)
    tables.append(ncmd)

    # The review's dimensions, for the year (and pooled where the year is mostly hidden).
    dimensions = _dimensions(history)
    single = {dim.table_id: _dimension_table(dim, _years(history[dim.column], year, year), str(year),
                                             table_id=dim.table_id,
                                             title=dim.title) for dim in dimensions}
    pool_first = year - policy.pool_years + 1
    pooled_ids: dict[str, str] = {}
    # NCMD told within the deadline, pooled where the rule hides the year's split (the
    # board's headline figure); each year's split is an unpublished table it sums.
    if edition == PUBLIC and threshold > 0 and data.ncmd_by_year:
        rule.apply([trend, ncmd])
        if (0, 0) in ncmd.hidden:
            pool = [y for y in range(pool_first, year + 1) if y in data.ncmd_by_year]
            parts = [ncmd] + [_ncmd_table(data, y, data.ncmd_by_year[y], published=False)
                              for y in pool if y != year]
            pooled_ncmd = _ncmd_table(data, year, _summed([data.ncmd_by_year[y] for y in pool]),
                                      scope=_scope(pool[0], year), table_id="ncmd_pooled",
                                      title=f"{ncmd.title}: {len(pool)} years pooled, {_span_label(pool[0], year)}")
            links += _linked(pooled_ncmd, parts)
            shadows.made.update({("ncmd", t.id): t for t in parts[1:]})
            tables.append(pooled_ncmd)
            pooled_ids["ncmd"] = "ncmd_pooled"
    if edition == PUBLIC and threshold > 0:
        trial = [trend, timing, *single.values()]
        rule.apply(trial)
        for dim in dimensions:
            if _hidden_share(single[dim.table_id]) > policy.pool_when_hidden_share:
                pooled_ids[dim.table_id] = f"{dim.table_id}_pooled"
    by_id = {dim.table_id: dim for dim in dimensions}
    for dim in dimensions:
        tables.append(single[dim.table_id])
        if dim.table_id in pooled_ids:
            frame = _years(history[dim.column], pool_first, year)
            pooled = _dimension_table(
                dim, frame, _scope(pool_first, year), table_id=pooled_ids[dim.table_id],
                title=f"{dim.title}: {policy.pool_years} years pooled, {_span_label(pool_first, year)}",
                note="Pooled over several years so that small numbers still say something.")
            pooled.prefer_published = set()  # this year's own totals come first
            parts = [single[dim.table_id] if y == year else shadows.table(dim, y, y)
                     for y in range(pool_first, year + 1)]
            links += _linked(pooled, parts)
            tables.append(pooled)
        if dim.table_id == "age_band":
            tables.append(_factors_table(data, year))

    # Themes (policy data), for the year and pooled over `pool_years` years; each
    # earlier year's counts are an unpublished table the pooled one is the sum of.
    theme_frame = data.theme_history if data.theme_history is not None else _theme_frame(reviews, year)
    themes = _themes_table(policy, theme_frame, year, year, "themes",
                           "Themes: reviews completed in the year")
    tables.append(themes)
    pooled_themes = _themes_table(
        policy, theme_frame, pool_first, year, "themes_pooled",
        f"Themes: {policy.pool_years} years pooled, {_span_label(pool_first, year)}")
    theme_parts = [themes] + [_themes_table(policy, theme_frame, y, y, f"themes@{y}", "", published=False)
                              for y in range(pool_first, year)]
    links += _linked(pooled_themes, theme_parts)
    shadows.made.update({("themes", str(y)): t for y, t in zip(range(pool_first, year), theme_parts[1:], strict=True)})
    tables.append(pooled_themes)

    # Cumulative: every review since the panel began, by category.
    first_year = int(history["category"]["report_year"].min()) if len(history["category"]) else year
    category = by_id["category"]
    cumulative = _dimension_table(
        category, history["category"], _scope(first_year, year), table_id="cumulative",
        title=f"Reviews completed since the panel's first recorded review, {_span_label(first_year, year)}, "
              "by category of death",
        note="All years together: the figures for single years are in each year's report.")
    cumulative.prefer_published = set()  # this year's own totals come first
    early = year - TREND_SHADOW_YEARS
    parts = [single["category"]] + [shadows.table(category, y, y) for y in range(max(first_year, early), year)]
    if first_year < early:
        parts.append(shadows.table(category, first_year, early - 1))
    if first_year < year:
        links += _linked(cumulative, parts)
        tables.append(cumulative)

    # Recommendations: counts of actions addressed to organisations, not of children,
    # so they are published in full.
    recs = data.recommendations
    rec_years = list(range(year - 4, year + 1))
    rec_counts = []
    for y in rec_years:
        in_year = recs[recs["report_year"] == y] if len(recs) else recs
        rec_counts.append([int((in_year["status"] == code.value).sum()) if len(in_year) else 0
                           for code, _ in STATUS_COLUMNS])
    progress = Table(
        id="recommendations", title="Recommendations made, and their progress at 31 March",
        row_header="Year agreed", rows=[year_label(y) for y in rec_years],
        columns=[label for _, label in STATUS_COLUMNS], counts=rec_counts,
        row_totals=True, column_totals=True, disclosure_control=False,
        note=("Status as at the end of the report year. These count actions addressed to "
              "organisations, not children, and are not suppressed."),
    )
    tables.append(progress)

    # The figures the board is judged on: counts in full, the confidential edition only.
    if edition == CONFIDENTIAL and data.board is not None:
        tables.extend(_board_tables(data.board, year))

    # Shadow tables of earlier years whose totals the trend table publishes tie in too.
    for dim in dimensions:
        if dim.modifiable:
            for y in range(max(first_year, early), year):
                shadows.table(dim, y, y)
    audit_tables = tables + list(shadows.made.values())
    rule.apply(audit_tables, links)

    made = recs[recs["report_year"] == year] if len(recs) else recs
    listed = [
        {"organisation": r.organisation, "recommendation": r.text, "due": f"{r.due_on:%B %Y}",
         "status": dict(STATUS_COLUMNS).get(r.status, r.status),
         # Not "... by 31 March": in the PDF's flowing text the date ran into the next
         # row's organisation and read as a place ("by 31 March Benchmark ICB"), which the
         # gate rightly stops in a text it cannot tell from one written so.
         "action": data.actions_taken.get(int(r.id), "No progress recorded in the year")}
        | recommendation_response(data.responses.get(int(r.id)), edition)
        for r in made.head(RECOMMENDATIONS_LISTED).itertuples(index=False)
    ]

    category_table = single["category"]
    age_table = single["age_band"]
    C = len(MODIFIABLE)
    RC = len(category_table.rows)
    pooled_category = next((t for t in tables if t.id == pooled_ids.get("category")), None)
    pool_span = _span_label(pool_first, year)

    def shown_or_pooled(label: str, single_shown: str, pooled_shown: Callable[[Table], str]) -> Figure:
        """The year's figure; where the rule hides it, the same figure pooled over
        `pool_years` years when the pooled table publishes it."""
        if single_shown == MARKER and pooled_category is not None:
            pooled = pooled_shown(pooled_category)
            if pooled != MARKER:
                return Figure(f"{label} ({policy.pool_years} years pooled, {pool_span})", pooled)
        return Figure(label, single_shown)

    RN = len(NCMD_BANDS)
    ncmd_label = f"Deaths notified to the National Child Mortality Database within {data.ncmd_hours} hours (%)"
    ncmd_figure = Figure(ncmd_label, ncmd.percent_shown(Percent("", ((0, 0),), (RN, 0))))
    pooled_ncmd = next((t for t in tables if t.id == "ncmd_pooled"), None)
    if ncmd_figure.shown == MARKER and pooled_ncmd is not None:
        shown = pooled_ncmd.percent_shown(Percent("", ((0, 0),), (RN, 0)))
        if shown != MARKER:
            ncmd_figure = Figure(f"{ncmd_label} ({pooled_ncmd.title.rsplit(': ', 1)[-1]})", shown)
    headline = [
        Figure("Deaths notified", trend.shown((len(years) - 1, 0))),
        Figure("Reviews completed", trend.shown((len(years) - 1, 1))),
        ncmd_figure,
        shown_or_pooled("Reviews with modifiable factors", category_table.shown((RC, 0)),
                        lambda t: t.shown((len(t.rows), 0))),
        shown_or_pooled("Reviews with modifiable factors (%)",
                        category_table.percent_shown(Percent("", ((RC, 0),), (RC, C))),
                        lambda t: t.percent_shown(Percent("", ((len(t.rows), 0),),
                                                          (len(t.rows), C)))),
        Figure("Reviews completed within 6 months of the death",
               timing.percent_shown(Percent("", ((0, 0),), (R, 0)))),
        Figure("Reviews completed within 12 months of the death",
               timing.percent_shown(Percent("", ((0, 0), (1, 0)), (R, 0)))),
    ]
    median = "-"
    if n and (R, 0) not in timing.hidden:
        days = pd.Series([(r - d).days for d, r in zip(reviews["date_of_death"], reviews["reviewed_on"], strict=True)])
        median = f"{int(round(days.median()))} days"
    elif n:
        median = MARKER
    headline.append(Figure("Median time from death to review completion", median))

    rates = _rates(trend, years, children or {})
    national, national_note = _national(year, age_table, category_table, rates)
    return ReportContent(
        year=year, label=year_label(year), area_name=area_name, threshold=threshold,
        start=data.start, end=data.end, tables=tables, headline=headline, median_days=median,
        learning=_learning(reviews), recommendations_made=listed,
        recommendations_made_total=len(made), national=national, empty=n == 0,
        edition=edition, audit_tables=audit_tables, links=links, pooled=pooled_ids,
        rates=rates, national_note=national_note, meetings_held=len(data.meetings),
        first_year=first_year, extra=extra, rule=rule,
        governance={"chair": policy.chair, "foreword": policy.foreword,
                    "membership": [(m.agency, m.role) for m in policy.membership]},
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _board_tables(board: BoardFigures, year: int) -> list[Table]:
    """Completeness and timeliness by year, and returns by agency for the year (rows of
    counts with their shares; the confidential edition only, so not suppressed)."""
    years = [y for y in board.years if y.reviews or y.notified]
    completeness = Table(
        id="board_completeness", title="Completeness: deaths notified and reviewed",
        row_header="Year notified (April to March)", rows=[year_label(y.year) for y in years] or ["None"],
        columns=["Deaths notified", "Of them, reviews completed"],
        counts=[[y.notified, y.notified_reviewed] for y in years] or [[0, 0]],
        row_totals=False, column_totals=False, disclosure_control=False,
        note=f"Reviews completed by {board.as_of:%d %B %Y}.")
    completeness.percent_labels = ["% reviewed"]
    completeness.percents = [[Percent("% reviewed", ((r, 1),), (r, 0))] for r in range(len(completeness.rows))]
    timeliness = Table(
        id="board_timeliness", title="Timeliness: time from death to completion of the review",
        row_header="Year reviewed (April to March)", rows=[year_label(y.year) for y in years] or ["None"],
        columns=["Reviews completed", "Within 6 months", "Within 12 months"],
        counts=[[y.reviews, y.within_6, y.within_12] for y in years] or [[0, 0, 0]],
        row_totals=False, column_totals=False, disclosure_control=False,
        note="Median days from death to review: " + "; ".join(
            f"{year_label(y.year)} {'-' if y.median_days is None else round(y.median_days)}" for y in years) + ".")
    timeliness.percent_labels = ["% within 6 months", "% within 12 months"]
    timeliness.percents = [[Percent("% within 6 months", ((r, 1),), (r, 0)),
                            Percent("% within 12 months", ((r, 2),), (r, 0))]
                           for r in range(len(timeliness.rows))]
    agencies = [a for a in board.agencies if a.year == year]
    returns = Table(
        id="board_returns", title=f"Agencies' returns asked for in {year_label(year)}: on time and complete",
        row_header="Agency", rows=[a.agency for a in agencies] or ["No return asked for"],
        columns=["Returns asked for", "Returned", "Returned on time", "Answers", "Answered not known"],
        counts=[[a.asked, a.returned, a.on_time, a.answers, a.not_known] for a in agencies] or [[0] * 5],
        row_totals=False, column_totals=False, disclosure_control=False,
        note="Answers are those in the returns made through the portal.")
    returns.percent_labels = ["% on time", "% not known"]
    returns.percents = [[Percent("% on time", ((r, 2),), (r, 0)), Percent("% not known", ((r, 4),), (r, 3))]
                        for r in range(len(returns.rows))]
    return [completeness, timeliness, returns]


def _theme_frame(reviews: pd.DataFrame, year: int) -> pd.DataFrame:
    """The year's reviews as the themes read them (ReportData made without a history)."""
    frame = reviews[["category", "age_band", "death_expected", "circumstances", "modifiable"]].copy()
    frame.insert(0, "report_year", year)
    return frame


def _themes_table(policy: AnnualReportPolicy, frame: pd.DataFrame, first: int, last: int,
                  table_id: str, title: str, published: bool = True) -> Table:
    """Reviews in each theme of the policy, and those with modifiable factors, completed
    from report year `first` to `last`."""
    for theme in policy.themes:
        if set(theme.age_bands) - set(AGE_BANDS):
            raise ConfigError(f"policy setting 'annual_report.themes' ('{theme.name}'): "
                              f"age bands are {', '.join(AGE_BANDS)}")
    in_span = frame[frame["report_year"].between(first, last)] if len(frame) else frame
    rows = list(in_span.itertuples(index=False))
    counts = []
    for theme in policy.themes:
        group = [r for r in rows if theme.holds(r.category, r.circumstances, r.age_band, r.death_expected)]
        counts.append([len(group), sum(1 for r in group if r.modifiable == "yes")])
    table = Table(
        id=table_id, title=title, row_header="Theme", rows=[t.name for t in policy.themes],
        columns=["Reviews", "With modifiable factors"], counts=counts,
        row_totals=False, column_totals=False, published=published,
        note="A review may fall under a theme whatever its category of death, and under "
             "more than one theme.",
    )
    R = len(policy.themes)
    table.percent_labels = ["% with modifiable factors"]
    table.percents = [[Percent("% with modifiable factors", ((r, 1),), (r, 0))] for r in range(R)]
    scope = _scope(first, last)
    table.keys = {(r, c): f"theme:{scope}|{i}|{col}" for r in range(R)
                  for c, col in enumerate(("reviews", "modifiable")) for i in [policy.themes[r].name]}
    return table


def _history_from(data: ReportData) -> dict[str, pd.DataFrame]:
    """A history from the year's reviews alone (ReportData made without one), counted
    as cdop.annual_report.data reads it."""
    frame = data.reviews.copy()
    frame["report_year"] = data.year
    out = {}
    for name in HISTORY_DIMENSIONS:
        keys = ["report_year", name, "modifiable"]
        out[name] = (frame[keys].groupby(keys, dropna=False).size().reset_index(name="n")
                     if len(frame) else pd.DataFrame(columns=[*keys, "n"]))
    return out


def _years(frame: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    return frame[frame["report_year"].between(first, last)] if len(frame) else frame


def _meetings_table(data: ReportData) -> Table:
    rows = [f"{day:%d %B %Y}" + (" (neonatal)" if kind == "neonatal" else "")
            for day, kind, _ in data.meetings]
    table = Table(
        id="meetings", title="Panel meetings held, and the reviews completed at each",
        row_header="Meeting", rows=rows or ["No meeting held"], columns=["Reviews completed"],
        counts=[[n] for _, _, n in data.meetings] or [[0]], row_totals=False, column_totals=True,
        note="Reviews completed at a meeting of the panel; a review may also be completed "
             "between meetings.",
    )
    return table


def _summed(splits: list[dict[str, int]]) -> dict[str, int]:
    return {band: sum(s.get(band, 0) for s in splits) for band in NCMD_BANDS}


def _ncmd_table(data: ReportData, year: int, counts: dict[str, int] | None = None, *,
                scope: str | None = None, table_id: str | None = None, title: str | None = None,
                published: bool = True) -> Table:
    """NCMD told within the deadline, for one year (`year`; its counts by default the
    report year's) or pooled (`scope` a span of years)."""
    counts = counts if counts is not None else (data.ncmd_timeliness or dict.fromkeys(NCMD_BANDS, 0))
    table = _count_table(
        table_id or ("ncmd" if published else f"ncmd@{year}"),
        title or f"Deaths notified: the National Child Mortality Database told within {data.ncmd_hours} hours",
        "NCMD told", list(NCMD_BANDS), [NCMD_LABELS[b] for b in NCMD_BANDS],
        pd.Series([b for b, k in counts.items() for _ in range(k)], dtype="object"),
        f"notified-{scope or year}", "ncmd", column="Deaths notified", share="% of deaths notified",
        published=published,
        note=f"The deadline is {data.ncmd_hours} hours from the end of the day of death.")
    table.keys[(len(NCMD_BANDS), 0)] = f"notified:{scope or year}"
    return table


def _factors_table(data: ReportData, year: int) -> Table:
    domains = taxonomy().labels("factor_domain")
    table = Table(
        id="factors", title="Modifiable factors by domain", row_header="Domain",
        rows=list(domains.values()), columns=["Reviews with a modifiable factor in the domain"],
        counts=[[data.factors_by_domain.get(code, 0)] for code in domains],
        row_totals=False, column_totals=False,
        note="A review may have modifiable factors in more than one domain.",
    )
    table.keys = {(r, 0): f"reviews:{year}|domain={code}" for r, code in enumerate(domains)}
    return table


def _rates(trend: Table, years: list[int], children: dict[int, int]) -> list[dict]:
    """Deaths notified per 100,000 children aged 0-17 in each trend year (mid-year
    population of the year the period starts in), by ONS's rules: no rate from a hidden
    count or from fewer than 3 deaths, and a rate from fewer than 20 flagged "u"
    (unreliable). The rate is of the count as published (rounded, under a rounding
    rule: a rate of the true count beside the population would give it back)."""
    out = []
    for i, y in enumerate(years):
        population = children.get(mid_year_for(y))
        deaths = trend.published_value((i, 0))
        if population is None:
            shown = "no population figure"
        elif deaths is None:
            shown = MARKER
        elif deaths < ONS_MIN_DEATHS:
            shown = f"not calculated (fewer than {ONS_MIN_DEATHS} deaths)"
        else:
            shown = f"{rate_per_100k(deaths, population):.1f}"
            # Of the published count: a flag from the true one would narrow a rounded one.
            if deaths < ONS_RELIABLE_DEATHS:
                shown += f" {UNRELIABLE}"
        out.append({"year": year_label(y), "deaths": trend.shown((i, 0)),
                    "children": f"{population:,}" if population else "-",
                    "mid_year": f"mid-{mid_year_for(y)}", "rate": shown})
    return out


def _learning(reviews: pd.DataFrame) -> list[str]:
    """Learning statements of the year, modifiable ones first, each once. They are not
    linked to a category or any table cell, so they cannot undo a suppression."""
    if reviews.empty:
        return []
    with_text = reviews[reviews["learning"].fillna("").str.strip() != ""]
    ordered = pd.concat([with_text[with_text["modifiable"] == "yes"],
                         with_text[with_text["modifiable"] != "yes"]])
    seen: dict[str, None] = {}
    for text in ordered["learning"]:
        seen.setdefault(" ".join(str(text).split()), None)
    return list(seen)[:LEARNING_ITEMS]


NATIONAL_MEASURES = {
    "death_rate_per_100k": "Child deaths per 100,000 children",
    "modifiable_share": "Reviews with modifiable factors (%)",
    "under_one_share": "Reviews of children under one year (%)",
}


def _national(year: int, age_table: Table, category_table: Table,
              rates: list[dict]) -> tuple[list[dict], str]:
    """This area beside England for the same year, as rates and shares (counts of a
    whole country beside a county's say nothing). Every England figure of a year this
    report has local figures for is compared; shares only for the report year itself."""
    C, RA, RC = len(MODIFIABLE), len(age_table.rows), len(category_table.rows)
    label = year_label(year)
    local_share = {
        "modifiable_share": category_table.percent_shown(Percent("", ((RC, 0),), (RC, C)), 1),
        "under_one_share": age_table.percent_shown(Percent("", ((0, C), (1, C)), (RA, C)), 1),
    }
    local_rate = {r["year"]: r["rate"] for r in rates}
    out = []
    for ref in read_national_reference():
        measure, period = ref["measure"], ref["period"]
        if measure not in NATIONAL_MEASURES:
            continue
        if measure == "death_rate_per_100k" and period in local_rate:
            here = local_rate[period]
        elif measure in local_share and period == label:
            here = local_share[measure]
        else:
            continue
        value = ref["value"] + ("%" if ref["unit"] == "percent" else "")
        out.append({"measure": NATIONAL_MEASURES[measure], "year": period, "this_area": here,
                    "england": value, "source": ref["source"]})
    out.sort(key=lambda r: (r["year"], r["measure"]))
    periods = {r["period"] for r in read_national_reference()}
    note = "" if label in periods else (
        f"The national data file has no figures for {label} yet (the National Child Mortality "
        "Database publishes each year's data release in the following year); each comparison "
        "is of the same year.")
    return out, note
