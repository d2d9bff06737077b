"""Data extraction for the annual report: the CDOP database read with pandas.

The report year N is the year ending 31 March N (1 April N-1 to 31 March N). Only the
columns the report needs are read; identifiable fields are read separately, for the
anonymisation gate only, and never enter a table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.store.models import Analysis, Case, CaseIdentifier, Recommendation, RecommendationUpdate

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


REVIEW_COLUMNS = [
    "case_id", "date_of_death", "age_at_death_days", "sex", "ethnicity", "deprivation_decile",
    "place_of_death", "death_expected", "circumstances", "reviewed_on", "category",
    "modifiable", "learning",
]
RECOMMENDATION_COLUMNS = ["id", "case_id", "organisation", "text", "agreed_on", "due_on", "status"]


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def _count_by_report_year(dates: pd.Series, years: list[int]) -> dict[int, int]:
    if dates.empty:
        return dict.fromkeys(years, 0)
    stamps = pd.to_datetime(dates)
    report_years = stamps.dt.year + (stamps.dt.month >= 4).astype(int)
    counts = report_years.value_counts()
    return {y: int(counts.get(y, 0)) for y in years}


def extract(session: Session, year: int) -> ReportData:
    start, end = report_period(year)
    trend_years = list(range(year - TREND_YEARS + 1, year + 1))
    trend_start = report_period(trend_years[0])[0]

    reviews = _frame(
        session.execute(
            select(
                Case.id, Case.date_of_death, Case.age_at_death_days, Case.sex, Case.ethnicity,
                Case.deprivation_decile, Case.place_of_death, Case.death_expected,
                Case.circumstances, Analysis.reviewed_on, Analysis.category,
                Analysis.modifiable, Analysis.learning,
            )
            .join(Analysis, Analysis.case_id == Case.id)
            .where(Analysis.reviewed_on.between(start, end))
            .order_by(Analysis.reviewed_on, Case.id)
        ),
        REVIEW_COLUMNS,
    )
    notified_dates = _frame(
        session.execute(select(Case.notified_on).where(Case.notified_on.between(trend_start, end))),
        ["notified_on"],
    )["notified_on"]
    reviewed_dates = _frame(
        session.execute(
            select(Analysis.reviewed_on).where(Analysis.reviewed_on.between(trend_start, end))
        ),
        ["reviewed_on"],
    )["reviewed_on"]
    notified_ids = set(
        session.scalars(select(Case.id).where(Case.notified_on.between(start, end)))
    )

    recommendations = _frame(
        session.execute(
            select(
                Recommendation.id, Recommendation.case_id, Recommendation.organisation,
                Recommendation.text, Recommendation.agreed_on, Recommendation.due_on,
                Recommendation.status,
            )
            .where(Recommendation.agreed_on.between(trend_start, end))
            .order_by(Recommendation.agreed_on, Recommendation.id)
        ),
        RECOMMENDATION_COLUMNS,
    )
    if not recommendations.empty:
        recommendations["status"] = _status_at(session, recommendations, end)
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
        notified_by_year=_count_by_report_year(notified_dates, trend_years),
        reviews_by_year=_count_by_report_year(reviewed_dates, trend_years),
        recommendations=recommendations,
        scope_case_ids=scope,
    )


def _status_at(session: Session, recs: pd.DataFrame, end: dt.date) -> list[str]:
    """Each recommendation's status as at the year's end, from its updates; a
    recommendation with no update at all keeps its recorded status. Reading history
    rather than today's status makes a rebuild of the same year give the same report."""
    ids = [int(i) for i in recs["id"]]
    latest: dict[int, str] = {}
    any_update: set[int] = set()
    for chunk in range(0, len(ids), 900):
        part = ids[chunk: chunk + 900]
        rows = session.execute(
            select(RecommendationUpdate.recommendation_id, RecommendationUpdate.recorded_on,
                   RecommendationUpdate.status)
            .where(RecommendationUpdate.recommendation_id.in_(part))
            .order_by(RecommendationUpdate.recorded_on, RecommendationUpdate.id)
        )
        for rec_id, recorded_on, status in rows:
            any_update.add(rec_id)
            if recorded_on <= end:
                latest[rec_id] = status
    return [
        latest.get(int(i), "agreed") if int(i) in any_update else status
        for i, status in zip(recs["id"], recs["status"], strict=True)
    ]


def scope_identifiers(session: Session, case_ids: set[int]):
    """The anonymisation gate's identifiers for every case in scope and its contacts."""
    from cdop.confidentiality.identifiers import case_identifiers

    extra: dict[int, list[tuple[str, str]]] = {}
    found = []
    ids = sorted(case_ids)
    for chunk in range(0, len(ids), 900):
        part = ids[chunk: chunk + 900]
        for case_id, field, value in session.execute(
            select(CaseIdentifier.case_id, CaseIdentifier.field, CaseIdentifier.value)
            .where(CaseIdentifier.case_id.in_(part))
        ):
            extra.setdefault(case_id, []).append((field, value))
        for case in session.execute(
            select(Case.id, Case.forenames, Case.surname, Case.date_of_birth, Case.nhs_number,
                   Case.postcode, Case.address, Case.notifier_name)
            .where(Case.id.in_(part))
        ):
            found.extend(case_identifiers(case, extra.get(case.id, ())))
    return tuple(found)

