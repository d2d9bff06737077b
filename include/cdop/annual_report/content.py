"""The report's content: every table (with disclosure control applied), the headline
figures, learning, recommendations and the national comparison, built from ReportData.

Everything a reader sees comes from here, and the content hash that decides whether a
rebuilt report is a new version is taken over it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cdop.annual_report.data import ReportData, year_label
from cdop.annual_report.disclosure import MARKER, Percent, Table, protect
from cdop.rules.ages import AGE_BANDS, age_band
from cdop.taxonomy import taxonomy

NATIONAL_REFERENCE = Path(__file__).resolve().parents[1] / "data" / "national_reference.csv"
MODIFIABLE = ("yes", "no", "insufficient")
MODIFIABLE_COLUMNS = ["Modifiable factors", "No modifiable factors", "Insufficient information"]
ETHNIC_GROUPS = [
    ("white", "White"), ("mixed", "Mixed or multiple"), ("asian", "Asian or Asian British"),
    ("black", "Black, Black British, Caribbean or African"), ("other", "Other ethnic group"),
    ("not_stated", "Not stated"),
]
TIME_BANDS = ["Within 6 months", "6 to 12 months", "More than 12 months"]
STATUS_COLUMNS = [("completed", "Completed"), ("in_progress", "In progress"),
                  ("agreed", "Agreed, not yet started"), ("not_accepted", "Not accepted")]
LEARNING_ITEMS = 12  # learning statements printed (modifiable ones first)
RECOMMENDATIONS_LISTED = 30  # recommendations of the year printed in full


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
    tables: list[Table]
    headline: list[Figure]
    median_days: str
    learning: list[str]
    recommendations_made: list[dict]
    recommendations_made_total: int
    national: list[dict]
    empty: bool
    extra: dict = field(default_factory=dict)

    def table(self, table_id: str) -> Table:
        return next(t for t in self.tables if t.id == table_id)

    def canonical(self) -> dict:
        """Everything published, as plain data (the content hash is taken over this)."""
        return {
            "year": self.year,
            "area": self.area_name,
            "threshold": self.threshold,
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
        }

    def content_hash(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, default=str).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


# ----------------------------------------------------------------------------- helpers


def _count_table(
    table_id: str,
    title: str,
    row_header: str,
    codes: list[str],
    labels: list[str],
    series: pd.Series,
    year: int,
    dimension: str,
    note: str = "",
) -> Table:
    """One column of review counts by `series` value, with the total and % of reviews."""
    counts = series.value_counts()
    table = Table(
        id=table_id, title=title, row_header=row_header, rows=labels, columns=["Reviews"],
        counts=[[int(counts.get(code, 0))] for code in codes],
        row_totals=False, column_totals=True, note=note,
    )
    R = len(codes)
    table.percent_labels = ["% of reviews"]
    table.percents = [[Percent("% of reviews", ((r, 0),), (R, 0))] for r in range(R + 1)]
    table.keys = {(R, 0): f"reviews:{year}"}
    table.keys.update({(r, 0): f"reviews:{year}|{dimension}={code}" for r, code in enumerate(codes)})
    return table


def _modifiable_table(
    table_id: str, title: str, row_header: str, codes: list[str], labels: list[str],
    groups: pd.Series, modifiable: pd.Series, year: int, dimension: str,
) -> Table:
    """Rows by `groups`, columns modifiable yes/no/insufficient, with both margins."""
    frame = pd.DataFrame({"g": groups.values, "m": modifiable.values})
    crosstab = frame.groupby(["g", "m"]).size() if len(frame) else pd.Series(dtype="int64")
    counts = [[int(crosstab.get((code, m), 0)) for m in MODIFIABLE] for code in codes]
    R, C = len(codes), len(MODIFIABLE)
    table = Table(
        id=table_id, title=title, row_header=row_header, rows=labels,
        columns=list(MODIFIABLE_COLUMNS), counts=counts, row_totals=True, column_totals=True,
    )
    table.percent_labels = ["% of reviews", "% with modifiable factors"]
    table.percents = [
        [Percent("% of reviews", ((r, C),), (R, C)), Percent("% with modifiable factors", ((r, 0),), (r, C))]
        for r in range(R + 1)
    ]
    table.keys = {(R, C): f"reviews:{year}"}
    table.keys.update({(r, C): f"reviews:{year}|{dimension}={code}" for r, code in enumerate(codes)})
    table.keys.update({(R, c): f"reviews:{year}|modifiable={m}" for c, m in enumerate(MODIFIABLE)})
    table.prefer_published = {(R, 0), (R, C)}  # reviews with modifiable factors; all reviews
    return table


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def _time_band(died: dt.date, reviewed: dt.date) -> str:
    if reviewed <= _add_months(died, 6):
        return TIME_BANDS[0]
    if reviewed <= _add_months(died, 12):
        return TIME_BANDS[1]
    return TIME_BANDS[2]


def age_band_at_death(date_of_death: dt.date, age_days: int) -> str:
    """The reporting age band (cdop.rules.stages.AGE_BANDS), in completed years as the domain
    rule counts them: the date of birth is the date of death less the age in days."""
    return age_band(date_of_death - dt.timedelta(days=int(age_days)), date_of_death)


def ethnic_group(code: str) -> str:
    if code == "not_stated" or not code:
        return "not_stated"
    prefix = code.split("_", 1)[0]
    return prefix if prefix in ("white", "mixed", "asian", "black") else "other"


def is_sudi(row) -> bool:
    """Sudden unexpected death in infancy: an unexpected death under one year, found
    sudden and unexplained by the panel or notified as sudden and unexpected."""
    return (
        row.age_at_death_days < 365
        and not row.death_expected
        and (row.category == "sudden_unexplained" or "sudden_unexpected" in (row.circumstances or []))
    )


def is_suicide(row) -> bool:
    return row.category == "suicide" or "suicide_self_harm" in (row.circumstances or [])


def read_national_reference(path: Path = NATIONAL_REFERENCE) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines))


# ------------------------------------------------------------------------------ build


def build_content(data: ReportData, *, area_name: str, threshold: int) -> ReportContent:
    year, reviews = data.year, data.reviews
    tax = taxonomy()
    n = len(reviews)
    tables: list[Table] = []

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
        TIME_BANDS, TIME_BANDS, bands, year, "time",
    )
    R = len(TIME_BANDS)
    timing.percent_labels = ["% of reviews", "Cumulative %"]
    timing.percents = [
        [Percent("% of reviews", ((r, 0),), (R, 0)),
         Percent("Cumulative %", tuple((i, 0) for i in range(r + 1)), (R, 0))]
        for r in range(R)
    ] + [[Percent("% of reviews", ((R, 0),), (R, 0))]]
    tables.append(timing)

    # Category of death, with modifiable factors.
    categories = [c["code"] for c in tax.categories]
    category_labels = [c["label"] for c in tax.categories]
    known = reviews["category"].isin(categories) if n else pd.Series(dtype=bool)
    if n and not known.all():
        categories.append("_unknown")
        category_labels.append("Category not recorded")
    category_codes = reviews["category"].where(known, "_unknown") if n else reviews["category"]
    tables.append(_modifiable_table(
        "category", "Reviews completed by category of death, and modifiable factors",
        "Category of death", categories, category_labels, category_codes,
        reviews["modifiable"], year, "category",
    ))

    ages = pd.Series(
        [age_band_at_death(d, a) for d, a in zip(reviews["date_of_death"], reviews["age_at_death_days"], strict=True)],
        dtype="object",
    )
    tables.append(_modifiable_table(
        "age_band", "Reviews completed by age at death, and modifiable factors", "Age at death",
        list(AGE_BANDS), list(AGE_BANDS), ages, reviews["modifiable"], year, "age",
    ))

    sexes = tax.labels("sex")
    tables.append(_count_table("sex", "Reviews completed by sex", "Sex", list(sexes),
                               list(sexes.values()), reviews["sex"], year, "sex"))
    groups = reviews["ethnicity"].map(ethnic_group) if n else reviews["ethnicity"]
    tables.append(_count_table(
        "ethnicity", "Reviews completed by ethnic group", "Ethnic group",
        [c for c, _ in ETHNIC_GROUPS], [label for _, label in ETHNIC_GROUPS], groups, year,
        "ethnicity", note="ONS 2021 census high-level groups.",
    ))
    quintiles = (
        reviews["deprivation_decile"].map(lambda d: "unknown" if pd.isna(d) else str((int(d) + 1) // 2))
        if n else reviews["deprivation_decile"]
    )
    tables.append(_count_table(
        "deprivation", "Reviews completed by deprivation quintile of the child's home",
        "Deprivation quintile",
        ["1", "2", "3", "4", "5", "unknown"],
        ["1 (most deprived)", "2", "3", "4", "5 (least deprived)", "Not known"],
        quintiles, year, "deprivation",
        note="Index of Multiple Deprivation quintile, from the decile recorded at notification.",
    ))
    expected = reviews["death_expected"].map(lambda e: "expected" if e else "unexpected") if n else reviews["death_expected"]
    tables.append(_count_table(
        "expected", "Reviews completed: expected and unexpected deaths", "Death was",
        ["expected", "unexpected"], ["Expected", "Unexpected"], expected, year, "expected",
    ))
    places = tax.labels("place_of_death")
    tables.append(_count_table(
        "place_of_death", "Reviews completed by place of death", "Place of death",
        list(places), list(places.values()), reviews["place_of_death"], year, "place",
    ))

    # Themes.
    rows = list(reviews.itertuples(index=False))
    sudi = [r for r in rows if is_sudi(r)]
    suicide = [r for r in rows if is_suicide(r)]
    themes = Table(
        id="themes", title="Themes: sudden unexpected death in infancy, and suicide",
        row_header="Theme",
        rows=["Sudden unexpected death in infancy (under 1 year)", "Suicide or deliberate self-harm"],
        columns=["Reviews", "With modifiable factors"],
        counts=[[len(group), sum(1 for r in group if r.modifiable == "yes")] for group in (sudi, suicide)],
        row_totals=False, column_totals=False,
        note="A review may fall under a theme whatever its category of death.",
    )
    themes.percent_labels = ["% with modifiable factors"]
    themes.percents = [[Percent("% with modifiable factors", ((r, 1),), (r, 0))] for r in range(2)]
    tables.append(themes)

    # Recommendations: counts of actions addressed to organisations, not of children,
    # so they are published in full.
    recs = data.recommendations
    rec_years = list(range(year - 4, year + 1))
    rec_counts = []
    for y in rec_years:
        in_year = recs[recs["report_year"] == y] if len(recs) else recs
        rec_counts.append([int((in_year["status"] == code).sum()) if len(in_year) else 0
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

    protect(tables, threshold)

    made = recs[recs["report_year"] == year] if len(recs) else recs
    listed = [
        {"organisation": r.organisation, "recommendation": r.text, "due": f"{r.due_on:%B %Y}",
         "status": dict(STATUS_COLUMNS).get(r.status, r.status)}
        for r in made.head(RECOMMENDATIONS_LISTED).itertuples(index=False)
    ]

    category_table = next(t for t in tables if t.id == "category")
    age_table = next(t for t in tables if t.id == "age_band")
    C = len(MODIFIABLE)
    RC = len(category_table.rows)
    headline = [
        Figure("Deaths notified", trend.shown((len(years) - 1, 0))),
        Figure("Reviews completed", trend.shown((len(years) - 1, 1))),
        Figure("Reviews with modifiable factors", category_table.shown((RC, 0))),
        Figure("Reviews with modifiable factors (%)",
               category_table.percent_shown(Percent("", ((RC, 0),), (RC, C)))),
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

    learning = _learning(reviews)
    national = _national(tables, year, age_table, category_table, trend)
    return ReportContent(
        year=year, label=year_label(year), area_name=area_name, threshold=threshold,
        start=data.start, end=data.end, tables=tables, headline=headline, median_days=median,
        learning=learning, recommendations_made=listed, recommendations_made_total=len(made),
        national=national, empty=n == 0,
    )


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


def _national(tables, year, age_table: Table, category_table: Table, trend: Table) -> list[dict]:
    """This area's figures next to the latest national figure for each measure."""
    latest: dict[str, dict] = {}
    for row in read_national_reference():
        if row["measure"] not in latest or row["period"] > latest[row["measure"]]["period"]:
            latest[row["measure"]] = row
    last = len(trend.rows) - 1
    C, RA, RC = len(MODIFIABLE), len(age_table.rows), len(category_table.rows)
    local = {
        "deaths_notified": trend.shown((last, 0)),
        "reviews_completed": trend.shown((last, 1)),
        "modifiable_share": category_table.percent_shown(Percent("", ((RC, 0),), (RC, C)), 1),
        "under_one_share": age_table.percent_shown(Percent("", ((0, C), (1, C)), (RA, C)), 1),
        "death_rate_per_100k": "not calculated",
    }
    labels = {
        "deaths_notified": "Deaths notified",
        "reviews_completed": "Reviews completed",
        "modifiable_share": "Reviews with modifiable factors (%)",
        "under_one_share": "Reviews of children under one year (%)",
        "death_rate_per_100k": "Child deaths per 100,000 children",
    }
    out = []
    for measure, label in labels.items():
        ref = latest.get(measure)
        if ref is None:
            continue
        value = ref["value"] + ("%" if ref["unit"] == "percent" else "")
        out.append({"measure": label, "this_area": local[measure], "this_area_year": year_label(year),
                    "england": value, "england_year": ref["period"], "source": ref["source"]})
    return out
