"""The figures the board is judged on, on the fixture with known counts (SQLite and
PostgreSQL): completeness and timeliness by year, returns on time and answers "not
known" by agency, and the same figures in the annual report's confidential edition."""

from __future__ import annotations

import datetime as dt
import statistics

from cdop.annual_report.content import CONFIDENTIAL, PUBLIC, build_content
from cdop.annual_report.data import extract
from cdop.rules.board import board_figures, not_known_answers
from cdop.store.db import unit_of_work
from cdop.store.models import Agency, AgencyRequest, Case, PortalForm
from tests.support.annual_report import GROUPS, load_known_counts

D = dt.date


def _days(group: str) -> int:
    _, died, *_, reviewed, _c, _m, _l = GROUPS[group]
    return (reviewed - died).days


MEDIAN = statistics.median([d for g in "ABCDE" for d in [_days(g)] * GROUPS[g][0]])


def _returns(settings) -> None:
    """Two agencies asked in 2025/26: Ōakfield Trust (2 asked: one on time through the
    portal with 4 answers, 1 "not known"; one late), St Mary's (1 asked, not returned),
    and one request still pending (not asked: not counted)."""
    with unit_of_work(settings, "test") as uow:
        s = uow.session
        cases = list(s.query(Case).order_by(Case.id).limit(4))
        trust = Agency(code="OAK", name="Ōakfield Trust", agency_type="hospital_trust",
                       request_email="oak@nhs.net")
        marys = Agency(code="STM", name="St Mary's Hospice", agency_type="hospice",
                       request_email="stm@nhs.net")
        s.add_all([trust, marys])
        s.flush()
        on_time = AgencyRequest(case_id=cases[0].id, agency_id=trust.id, status="returned",
                                requested_on=D(2025, 5, 1), due_on=D(2025, 5, 29), returned_on=D(2025, 5, 28))
        late = AgencyRequest(case_id=cases[1].id, agency_id=trust.id, status="returned",
                             requested_on=D(2025, 6, 2), due_on=D(2025, 6, 30), returned_on=D(2025, 8, 25))
        open_ = AgencyRequest(case_id=cases[2].id, agency_id=marys.id, status="sent",
                              requested_on=D(2026, 3, 2), due_on=D(2026, 3, 30))
        pending = AgencyRequest(case_id=cases[3].id, agency_id=marys.id, status="pending")
        s.add_all([on_time, late, open_, pending])
        s.flush()
        s.add(PortalForm(request_id=on_time.id, status="submitted", content={
            "answers": {"q1": "yes", "q2": "not_known", "q3": ["cot", "sofa"], "q4": ""}}))
        uow.commit()


def test_board_figures_by_year_and_agency(settings):
    load_known_counts(settings)
    _returns(settings)
    with unit_of_work(settings) as uow:
        figures = board_figures(uow.session, [2025, 2026], D(2026, 3, 31))
    year = figures.year(2026)
    assert (year.notified, year.reviews, year.within_6, year.within_12) == (16, 24, 11, 21)
    assert year.median_days == MEDIAN
    # Of the 16 deaths notified in 2025/26, those whose review was completed by 31 March.
    assert 0 < year.notified_reviewed <= 16
    rows = {(a.year, a.agency): (a.asked, a.returned, a.on_time, a.answers, a.not_known)
            for a in figures.agencies}
    assert rows == {(2026, "Ōakfield Trust"): (2, 2, 1, 4, 1), (2026, "St Mary's Hospice"): (1, 0, 0, 0, 0)}
    # As known on an earlier day: the late return had not come in yet.
    with unit_of_work(settings) as uow:
        earlier = board_figures(uow.session, [2026], D(2025, 7, 1))
    assert {a.agency: (a.asked, a.returned) for a in earlier.agencies} == {"Ōakfield Trust": (2, 1)}


def test_the_confidential_edition_prints_the_board_figures_and_the_public_one_does_not(settings):
    load_known_counts(settings)
    _returns(settings)
    with unit_of_work(settings) as uow:
        data = extract(uow.session, 2026)
    confidential = build_content(data, area_name="Demo", threshold=7, edition=CONFIDENTIAL)
    public = build_content(data, area_name="Demo", threshold=7, edition=PUBLIC)
    assert not any(t.id.startswith("board_") for t in public.tables)
    timeliness = confidential.table("board_timeliness").published_rows()
    assert timeliness[-1] == ["2025/26", "24", "11", "21", "46%", "88%"]
    assert f"2025/26 {round(MEDIAN)}" in confidential.table("board_timeliness").note
    returns = confidential.table("board_returns").published_rows()
    assert returns == [["St Mary's Hospice", "1", "0", "0", "0", "0", "0%", "-"],
                       ["Ōakfield Trust", "2", "2", "1", "4", "1", "50%", "25%"]]


def test_not_known_answers_counts_given_answers_only():
    assert not_known_answers({"a": "not_known", "b": None, "c": "", "d": ["x", "not_known"]}) == (3, 2)
    assert not_known_answers({}) == (0, 0)
