"""The board's figures page: completeness and timeliness by report year and returns by
agency (cdop.rules.board, the same measures the annual report's confidential edition
prints), as rows the page shows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from cdop.rules.board import BoardFigures, board_figures, share

YEARS_SHOWN = 5


def report_year_of(day: dt.date) -> int:
    return day.year + 1 if day.month >= 4 else day.year


def year_label(year: int) -> str:
    return f"{year - 1}/{year % 100:02d}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def board_page(session: Session, today: dt.date) -> dict:
    """Five report years up to the one `today` is in (the last one so far), as known today."""
    last = report_year_of(today)
    figures: BoardFigures = board_figures(session, list(range(last - YEARS_SHOWN + 1, last + 1)), today)
    years = [{
        "year": year_label(y.year), "so_far": y.year == last,
        "notified": y.notified, "reviewed": y.notified_reviewed,
        "reviewed_share": _pct(share(y.notified_reviewed, y.notified)),
        "reviews": y.reviews,
        "median_days": "-" if y.median_days is None else f"{round(y.median_days)}",
        "within_6": _pct(share(y.within_6, y.reviews)), "within_12": _pct(share(y.within_12, y.reviews)),
    } for y in reversed(figures.years)]
    agencies = [{
        "year": year_label(a.year), "agency": a.agency, "asked": a.asked, "returned": a.returned,
        "on_time": a.on_time, "on_time_share": _pct(share(a.on_time, a.asked)),
        "answers": a.answers, "not_known": a.not_known,
        "not_known_share": _pct(share(a.not_known, a.answers)),
    } for a in sorted(figures.agencies, key=lambda a: (-a.year, a.agency))]
    return {"years": years, "agencies": agencies}
