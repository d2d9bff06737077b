"""Data extraction for the annual report: the CDOP database read with pandas.

The report year N is the year ending 31 March N (1 April N-1 to 31 March N). Only the
columns the report needs are read; identifiable fields are read separately, for the
anonymisation gate only, and never enter a table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import case as sql_case
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from cdop.rules.board import BoardFigures, board_figures
from cdop.store.models import (
    Analysis,
    Case,
    CaseIdentifier,
    PanelMeeting,
    Recommendation,
    RecommendationUpdate,
)
from cdop.store.statuses import RecommendationStatus

TREND_YEARS = 5


def report_period(year: int) -> tuple[dt.date, dt.date]:
    """First and last day of report year `year` (the year ending 31 March `year`)."""
    return dt.date(year - 1, 4, 1), dt.date(year, 3, 31)


def report_year_of(day: dt.date) -> int:
    return day.year + 1 if day.month >= 4 else day.year


def year_label(year: int) -> str:
    """'2025/26' for the year ending 31 March 2026."""
    return f"{year - 1}/{year % 100:02d}"


def latest_closed_year(today: dt.date) -> int:
    """The latest report year whose 31 March is before `today`."""
    return today.year if today >= dt.date(today.year, 4, 1) else today.year - 1


@dataclass
class ReportData:
    year: int
    start: dt.date
    end: dt.date
    reviews: pd.DataFrame  # one row per review completed in the year
    notified_by_year: dict[int, int]  # trend: deaths notified per report year
    reviews_by_year: dict[int, int]  # trend: reviews completed per report year
    recommendations: pd.DataFrame  # agreed on or before the year's end, status at year end
    scope_case_ids: set[int]  # cases whose identifiers the gate checks every output for
    # Every review since the panel began, plain (unencrypted) columns only, counted: for
    # each of HISTORY_DIMENSIONS a frame (report_year, <column>, modifiable, n) -- the
    # pooled, cumulative and per-year tables the disclosure audit ties together.
    history: dict[str, pd.DataFrame] = field(default_factory=dict)
    meetings: list[tuple[dt.date, str, int]] = field(default_factory=list)  # (date, kind, reviews)
    ncmd_timeliness: dict[str, int] = field(default_factory=dict)  # deaths notified in the year
    factors_by_domain: dict[str, int] = field(default_factory=dict)
    actions_taken: dict[int, str] = field(default_factory=dict)  # recommendation id -> progress
    # recommendation id -> what its organisation sent through the portal by the year's end
    # (answer, reasons, action plan, outcome, evidence files) and the national reference.
    responses: dict[int, dict] = field(default_factory=dict)
    ncmd_hours: int = 48
    # The board's completeness and timeliness figures (cdop.rules.board), trend years.
    board: BoardFigures | None = None
    # Reviews of the trend years, plain columns only (THEME_COLUMNS): the themes pooled.
    theme_history: pd.DataFrame | None = None
    # NCMD told within the deadline, by report year (the trend years): pooled where one
    # year's split would be hidden.
    ncmd_by_year: dict[int, dict[str, int]] = field(default_factory=dict)


REVIEW_COLUMNS = [
    "case_id", "date_of_death", "age_band", "sex", "ethnicity", "deprivation_decile",
    "place_of_death", "death_expected", "circumstances", "reviewed_on", "category",
    "modifiable", "learning",
]
RECOMMENDATION_COLUMNS = ["id", "case_id", "organisation", "text", "agreed_on", "due_on", "status"]
# The columns the review tables divide reviews by (each against modifiable factors).
HISTORY_DIMENSIONS = ("category", "age_band", "sex", "ethnicity", "deprivation_decile",
                      "death_expected", "place_of_death")
NCMD_BANDS = ("within", "late", "not_recorded")
THEME_COLUMNS = ["report_year", "category", "age_band", "death_expected", "circumstances", "modifiable"]

def modifiable_factors_by_domain(session: Session, start: dt.date, end: dt.date) -> dict[str, int]:
    """Modifiable factors by domain: reviews completed from `start` to `end` with at
    least one factor graded 2 (may have contributed) in each domain (a review may count
    in several). The count is the analysis's own (cdop.panel.analysis; the rule is
    cdop.rules.modifiable); domains with none are left out."""
    from cdop.panel.analysis import modifiable_factors_by_domain as by_domain

    return {domain: counts["modifiable"] for domain, counts in by_domain(session, start, end).items()
            if counts["modifiable"]}


def _history(session: Session, end: dt.date) -> dict[str, pd.DataFrame]:
    """Every review completed by `end`, counted: one GROUP BY in SQL of report year,
    modifiable factors and the columns the tables divide reviews by (the cases' rows are
    read once), then for each column the counts by (report year, column, modifiable)."""
    keys = ["report_year", "modifiable", *HISTORY_DIMENSIONS]
    first = session.scalar(select(func.min(Analysis.reviewed_on)).where(Analysis.reviewed_on <= end))
    if first is None:
        return {c: pd.DataFrame(columns=["report_year", c, "modifiable", "n"])
                for c in HISTORY_DIMENSIONS}
    years = list(range(report_year_of(first), report_year_of(end) + 1))
    year = _report_year(Analysis.reviewed_on, years).label("report_year")
    columns = [getattr(Analysis if name == "category" else Case, name) for name in HISTORY_DIMENSIONS]
    if session.get_bind().dialect.name == "postgresql":
        return _history_by_grouping_sets(session, end, year, columns)
    counted = _frame(
        session.execute(
            select(year, Analysis.modifiable, *columns, func.count())
            .join(Case, Case.id == Analysis.case_id)
            .where(Analysis.reviewed_on <= end)
            .group_by(year, Analysis.modifiable, *columns)
        ).tuples(),
        [*keys, "n"],
    )
    return {name: counted.groupby(["report_year", name, "modifiable"], dropna=False, sort=False)["n"]
            .sum().reset_index() for name in HISTORY_DIMENSIONS}


def _history_by_grouping_sets(session: Session, end: dt.date, year, columns) -> dict[str, pd.DataFrame]:
    """_history on PostgreSQL: the same counts from one scan, GROUP BY GROUPING SETS, one
    set per column (a few hundred rows in all, where grouping by every column together
    returns about one row per review). GROUPING() tells which set a row counts, so a
    real NULL (no deprivation decile) is kept apart from a column left out."""
    reviews = (select(year, Analysis.modifiable.label("modifiable"),
                      *(c.label(n) for c, n in zip(columns, HISTORY_DIMENSIONS, strict=True)))
               .join(Case, Case.id == Analysis.case_id)
               .where(Analysis.reviewed_on <= end)
               .subquery())
    dims = [reviews.c[name] for name in HISTORY_DIMENSIONS]
    rows = session.execute(
        select(reviews.c.report_year, reviews.c.modifiable, *dims,
               *(func.grouping(d) for d in dims), func.count())
        .group_by(func.grouping_sets(*(tuple_(reviews.c.report_year, d, reviews.c.modifiable)
                                       for d in dims)))
    ).all()
    k = len(dims)
    counted: dict[str, list[tuple]] = {name: [] for name in HISTORY_DIMENSIONS}
    for row in rows:
        report_year, modifiable, values, left_out, n = row[0], row[1], row[2:2 + k], row[2 + k:2 + 2 * k], row[-1]
        i = left_out.index(0)
        counted[HISTORY_DIMENSIONS[i]].append((report_year, values[i], modifiable, n))
    return {name: _frame(counted[name], ["report_year", name, "modifiable", "n"])
            for name in HISTORY_DIMENSIONS}


def _meetings(session: Session, start: dt.date, end: dt.date) -> list[tuple[dt.date, str, int]]:
    """Panel meetings held in the period and the reviews completed at each."""
    reviews = (select(Analysis.meeting_id, func.count().label("n"))
               .group_by(Analysis.meeting_id).subquery())
    rows = session.execute(
        select(PanelMeeting.meets_on, PanelMeeting.kind, func.coalesce(reviews.c.n, 0))
        .outerjoin(reviews, reviews.c.meeting_id == PanelMeeting.id)
        .where(PanelMeeting.meets_on.between(start, end))
        .order_by(PanelMeeting.meets_on, PanelMeeting.id)
    )
    return [(day, kind, int(n)) for day, kind, n in rows]


def _notified(session: Session, start: dt.date, end: dt.date,
              hours: int) -> tuple[set[int], dict[str, int]]:
    """Deaths notified in the period (their ids), and whether NCMD was told within the
    deadline, later, or not recorded. The date of death is encrypted, so the comparison
    is made here, and the date read only for the cases where NCMD was told."""
    from cdop.rules.ncmd import ncmd_deadline

    counts = dict.fromkeys(NCMD_BANDS, 0)
    told: dict[int, dt.datetime] = {}
    ids: set[int] = set()
    for case_id, at in session.execute(
        select(Case.id, Case.ncmd_notified_at).where(Case.notified_on.between(start, end))
    ):
        ids.add(case_id)
        if at is None:
            counts["not_recorded"] += 1
        else:
            told[case_id] = at
    if told:
        for case_id, died in session.execute(
            select(Case.id, Case.date_of_death).where(Case.notified_on.between(start, end),
                                                      Case.ncmd_notified_at.is_not(None))
        ):
            counts["within" if told[case_id] <= ncmd_deadline(died, hours) else "late"] += 1
    return ids, counts


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    # Plain tuples: pandas probes each record it is given (hasattr), and a Row answers a
    # missing attribute slowly.
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)


def _report_year(column, years: list[int]):
    """The report year a date falls in, in SQL (NULL outside `years`): a CASE over the
    years' periods, so the count is a GROUP BY on the date's index range."""
    return sql_case(*[(column.between(*report_period(y)), y) for y in years])


def _count_by_report_year(session: Session, column, years: list[int]) -> dict[int, int]:
    """How many rows fall in each of `years` (report years), by one GROUP BY."""
    first, last = report_period(years[0])[0], report_period(years[-1])[1]
    year = _report_year(column, years).label("report_year")
    counts = dict(session.execute(
        select(year, func.count()).where(column.between(first, last)).group_by(year)).all())
    return {y: int(counts.get(y, 0)) for y in years}


def extract(session: Session, year: int, *, ncmd_hours: int = 48) -> ReportData:
    """The year's data from six set-based SELECTs (plain rows into pandas; the trend
    counts are GROUP BYs in SQL), whatever the number of cases."""
    start, end = report_period(year)
    trend_years = list(range(year - TREND_YEARS + 1, year + 1))
    trend_start = report_period(trend_years[0])[0]

    reviews = _frame(
        session.execute(
            select(
                Case.id, Case.date_of_death, Case.age_band, Case.sex, Case.ethnicity,
                Case.deprivation_decile, Case.place_of_death, Case.death_expected,
                Case.circumstances, Analysis.reviewed_on, Analysis.category,
                Analysis.modifiable, Analysis.learning,
            )
            .join(Analysis, Analysis.case_id == Case.id)
            .where(Analysis.reviewed_on.between(start, end))
            .order_by(Analysis.reviewed_on, Case.id)
        ).tuples(),
        REVIEW_COLUMNS,
    )
    notified_ids, ncmd_timeliness = _notified(session, start, end, ncmd_hours)

    # Five years of recommendations are counted by status; only the year's own are
    # printed, so only their text (encrypted) is read.
    texts = dict(session.execute(
        select(Recommendation.id, Recommendation.text).where(Recommendation.agreed_on.between(start, end))
    ).tuples().all())
    recommendations = _frame(
        ((rec_id, case_id, organisation, texts.get(rec_id), agreed_on, due_on, status)
         for rec_id, case_id, organisation, agreed_on, due_on, status in session.execute(
            select(
                Recommendation.id, Recommendation.case_id, Recommendation.organisation,
                Recommendation.agreed_on, Recommendation.due_on, Recommendation.status,
            )
            .where(Recommendation.agreed_on.between(trend_start, end))
            .order_by(Recommendation.agreed_on, Recommendation.id)
        )),
        RECOMMENDATION_COLUMNS,
    )
    if not recommendations.empty:
        recommendations["status"] = _status_at(session, recommendations, trend_start, end)
        recommendations["report_year"] = [report_year_of(d) for d in recommendations["agreed_on"]]
    else:
        recommendations["report_year"] = pd.Series(dtype="int64")

    made_now = recommendations[recommendations["report_year"] == year] if len(recommendations) else recommendations
    scope = set(int(i) for i in reviews["case_id"]) | notified_ids | set(int(i) for i in made_now["case_id"])
    return ReportData(
        year=year,
        start=start,
        end=end,
        reviews=reviews,
        notified_by_year=_count_by_report_year(session, Case.notified_on, trend_years),
        reviews_by_year=_count_by_report_year(session, Analysis.reviewed_on, trend_years),
        recommendations=recommendations,
        scope_case_ids=scope,
        history=_history(session, end),
        meetings=_meetings(session, start, end),
        ncmd_timeliness=ncmd_timeliness,
        factors_by_domain=modifiable_factors_by_domain(session, start, end),
        actions_taken=_actions_taken(session, [int(i) for i in made_now["id"]], end),
        responses=_responses(session, [int(i) for i in made_now["id"]], end),
        ncmd_hours=ncmd_hours,
        board=board_figures(session, trend_years, end),
        ncmd_by_year={**{y: _notified(session, *report_period(y), ncmd_hours)[1] for y in trend_years[:-1]},
                      year: ncmd_timeliness},
        theme_history=_theme_history(session, trend_years),
    )


def _theme_history(session: Session, years: list[int]) -> pd.DataFrame:
    """Every review completed in `years`, by the plain columns a theme's rule reads."""
    first, last = report_period(years[0])[0], report_period(years[-1])[1]
    year = _report_year(Analysis.reviewed_on, years).label("report_year")
    return _frame(session.execute(
        select(year, Analysis.category, Case.age_band, Case.death_expected, Case.circumstances,
               Analysis.modifiable)
        .join(Case, Case.id == Analysis.case_id)
        .where(Analysis.reviewed_on.between(first, last))).tuples(), THEME_COLUMNS)


def _status_at(session: Session, recs: pd.DataFrame, agreed_from: dt.date, end: dt.date) -> list[str]:
    """Each recommendation's status as at the year's end, from its updates; a
    recommendation with no update at all keeps its recorded status. Reading history
    rather than today's status makes a rebuild of the same year give the same report.
    The updates of every recommendation in `recs` (those agreed from `agreed_from` to
    `end`) come in one SELECT."""
    latest: dict[int, str] = {}
    any_update: set[int] = set()
    rows = session.execute(
        select(RecommendationUpdate.recommendation_id, RecommendationUpdate.recorded_on,
               RecommendationUpdate.status)
        .join(Recommendation, Recommendation.id == RecommendationUpdate.recommendation_id)
        .where(Recommendation.agreed_on.between(agreed_from, end))
        .order_by(RecommendationUpdate.recorded_on, RecommendationUpdate.id)
    )
    for rec_id, recorded_on, status in rows:
        any_update.add(rec_id)
        if recorded_on <= end:
            latest[rec_id] = status
    return [
        latest.get(int(i), RecommendationStatus.AGREED.value) if int(i) in any_update else status
        for i, status in zip(recs["id"], recs["status"], strict=True)
    ]


def _actions_taken(session: Session, rec_ids: list[int], end: dt.date) -> dict[int, str]:
    """The latest progress recorded on each recommendation by `end` (the follow-up's
    own words, gate-checked with the rest of the report)."""
    latest: dict[int, str] = {}
    for chunk in range(0, len(rec_ids), 900):
        for rec_id, progress in session.execute(
            select(RecommendationUpdate.recommendation_id, RecommendationUpdate.progress)
            .where(RecommendationUpdate.recommendation_id.in_(rec_ids[chunk:chunk + 900]),
                   RecommendationUpdate.recorded_on <= end)
            .order_by(RecommendationUpdate.recorded_on, RecommendationUpdate.id)
        ):
            latest[rec_id] = " ".join((progress or "").split())
    return latest


def _responses(session: Session, rec_ids: list[int], end: dt.date) -> dict[int, dict]:
    """What each recommendation's organisation had sent by the end of `end` (a step sent
    later is not shown, so a rebuild of the same year gives the same report)."""
    from cdop.store.models import RecommendationEvidence

    cutoff = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    out: dict[int, dict] = {}
    for chunk in range(0, len(rec_ids), 900):
        ids = rec_ids[chunk:chunk + 900]
        files = dict(session.execute(
            select(RecommendationEvidence.recommendation_id, func.count(RecommendationEvidence.id))
            .where(RecommendationEvidence.recommendation_id.in_(ids), RecommendationEvidence.added_at < cutoff)
            .group_by(RecommendationEvidence.recommendation_id)).tuples().all())
        for rec in session.scalars(select(Recommendation).where(Recommendation.id.in_(ids))):
            answered = rec.responded_at is not None and rec.responded_at < cutoff
            planned = rec.plan_submitted_at is not None and rec.plan_submitted_at < cutoff
            reported = rec.outcome_reported_at is not None and rec.outcome_reported_at < cutoff
            out[rec.id] = {
                "national_reference": rec.national_reference,
                "response": rec.response if answered else None,
                "reasons": " ".join((rec.response_reasons or "").split()) if answered else None,
                "plan": list(rec.plan or []) if planned else [],
                "outcome": " ".join((rec.outcome or "").split()) if reported else None,
                "evidence_files": files.get(rec.id, 0),
            }
    return out


def scope_identifiers(session: Session, case_ids: set[int]):
    """The anonymisation gate's identifiers for every case in scope and its contacts."""
    return year_identifiers(scope_identifiers_by_case(session, case_ids))


def year_identifiers(by_case: dict[int, tuple]) -> tuple:
    """The year gate's identifiers from `scope_identifiers_by_case`: all but the child's
    date of death (its exact date is not among what the year's outputs are checked for)."""
    return tuple(i for identifiers in by_case.values() for i in identifiers if i.field != "child.date_of_death")


def scope_identifiers_by_case(session: Session, case_ids: set[int]) -> dict[int, tuple]:
    """Each case's identifiers (its case gate's: the child's, with the date of death, and
    its family's and contacts'), each decrypted once: the year gate takes them all
    (`year_identifiers`), the flags in a case's published text its own
    (cdop.confidentiality.year_gate.report_flags)."""
    from cdop.confidentiality.identifiers import case_identifiers

    extra: dict[int, list[tuple[str, str]]] = {}
    found: dict[int, tuple] = {}
    ids = sorted(case_ids)
    for chunk in range(0, len(ids), 900):
        part = ids[chunk: chunk + 900]
        for case_id, field_name, value in session.execute(
            select(CaseIdentifier.case_id, CaseIdentifier.field, CaseIdentifier.value)
            .where(CaseIdentifier.case_id.in_(part))
            .order_by(CaseIdentifier.id)
        ):
            extra.setdefault(case_id, []).append((field_name, value))
        for case in session.execute(
            select(Case.id, Case.forenames, Case.surname, Case.date_of_birth, Case.date_of_death,
                   Case.nhs_number, Case.postcode, Case.address, Case.notifier_name)
            .where(Case.id.in_(part))
            .order_by(Case.id)
        ):
            found[case.id] = case_identifiers(case, extra.get(case.id, ()))
    return found
