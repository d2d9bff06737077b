"""The figures a child death review partnership board is judged on, by report year
(April to March) and by agency: completeness (deaths notified against deaths reviewed;
the share of answers "not known" in the agencies' returns) and timeliness (median days
from death to the completion of the review, the share completed within 6 and 12 months,
returns on time by agency).

The measures are plain functions; `board_figures` reads what they need from the
database in a few set-based SELECTs (the date of death is encrypted, so the days from
death to review are counted here, for the reviews of the years asked for only)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdop.store.models import Agency, AgencyRequest, Analysis, Case, PortalForm
from cdop.store.statuses import FormStatus, RequestStatus

NOT_KNOWN = "not_known"


def report_period(year: int) -> tuple[dt.date, dt.date]:
    """1 April `year - 1` to 31 March `year`."""
    return dt.date(year - 1, 4, 1), dt.date(year, 3, 31)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day where it has no such day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def within_months(died: dt.date, reviewed: dt.date, months: int) -> bool:
    return reviewed <= add_months(died, months)


def share(part: int, whole: int) -> float | None:
    """Percentage, or None when there is nothing to divide by."""
    return None if not whole else 100 * part / whole


def median_days(pairs: Iterable[tuple[dt.date, dt.date]]) -> float | None:
    days = [(reviewed - died).days for died, reviewed in pairs]
    return statistics.median(days) if days else None


def not_known_answers(answers: dict) -> tuple[int, int]:
    """(answers given, answers "not known") in one return's answers; a question left
    blank is not an answer."""
    given = unknown = 0
    for value in answers.values():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if v in (None, ""):
                continue
            given += 1
            unknown += v == NOT_KNOWN
    return given, unknown


@dataclass(frozen=True)
class YearFigures:
    year: int
    notified: int  # deaths notified in the year
    notified_reviewed: int  # of those, reviews completed by the date asked about
    reviews: int  # reviews completed in the year
    median_days: float | None  # death to review completion, reviews of the year
    within_6: int
    within_12: int


@dataclass(frozen=True)
class AgencyFigures:
    year: int
    agency: str
    asked: int  # reporting forms asked for in the year (sent)
    returned: int
    on_time: int  # returned on or before the date due
    answers: int  # answers in the returns made through the portal
    not_known: int


@dataclass(frozen=True)
class BoardFigures:
    as_of: dt.date
    years: list[YearFigures]
    agencies: list[AgencyFigures]

    def year(self, year: int) -> YearFigures:
        return next(y for y in self.years if y.year == year)


def board_figures(session: Session, years: list[int], as_of: dt.date) -> BoardFigures:
    """The board's figures for each of `years` (report years), as known on `as_of`."""
    by_year = []
    for year in years:
        start, end = report_period(year)
        notified = session.scalar(select(func.count(Case.id)).where(Case.notified_on.between(start, end))) or 0
        reviewed = session.scalar(
            select(func.count(Case.id)).join(Analysis, Analysis.case_id == Case.id)
            .where(Case.notified_on.between(start, end), Analysis.reviewed_on <= as_of)) or 0
        pairs = [(died, on) for died, on in session.execute(
            select(Case.date_of_death, Analysis.reviewed_on).join(Analysis, Analysis.case_id == Case.id)
            .where(Analysis.reviewed_on.between(start, min(end, as_of))))]
        by_year.append(YearFigures(
            year=year, notified=notified, notified_reviewed=reviewed, reviews=len(pairs),
            median_days=median_days(pairs),
            within_6=sum(within_months(d, r, 6) for d, r in pairs),
            within_12=sum(within_months(d, r, 12) for d, r in pairs)))
    agencies: list[AgencyFigures] = []
    if years:
        first, last = report_period(years[0])[0], report_period(years[-1])[1]
        rows = session.execute(
            select(Agency.name, AgencyRequest.requested_on, AgencyRequest.due_on,
                   AgencyRequest.returned_on, AgencyRequest.status, PortalForm.content)
            .join(Agency, Agency.id == AgencyRequest.agency_id)
            .outerjoin(PortalForm, (PortalForm.request_id == AgencyRequest.id)
                       & (PortalForm.status == FormStatus.SUBMITTED))
            .where(AgencyRequest.requested_on.between(first, min(last, as_of)),
                   AgencyRequest.status != RequestStatus.PENDING)
        ).all()
        counts: dict[tuple[int, str], list[int]] = {}
        for name, requested, due, returned, status, content in rows:
            year = requested.year + 1 if requested.month >= 4 else requested.year
            c = counts.setdefault((year, name), [0, 0, 0, 0, 0])
            c[0] += 1
            if status == RequestStatus.RETURNED and returned is not None and returned <= as_of:
                c[1] += 1
                c[2] += due is None or returned <= due
            if content:
                given, unknown = not_known_answers(content.get("answers") or {})
                c[3] += given
                c[4] += unknown
        agencies = [AgencyFigures(year, name, *c) for (year, name), c in sorted(counts.items())]
    return BoardFigures(as_of, by_year, agencies)
