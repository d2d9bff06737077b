"""The annual report under each named disclosure rule, end to end on the fixture with
known counts: built, released, the rule named in both editions, every public table
audited under its rule, the charts drawing what the tables beside them publish."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

import pytest

from cdop.annual_report import build_annual_report
from cdop.annual_report.charts import _beside
from cdop.annual_report.content import CONFIDENTIAL, build_content
from cdop.annual_report.data import extract
from cdop.annual_report.disclosure import MARKER, Rule, rounded_intervals
from cdop.confidentiality.documents import pdf_text
from cdop.store.db import unit_of_work
from tests.support.annual_report import load_known_counts

TODAY = dt.date(2026, 6, 2)


def with_rule(settings, rule: str, threshold: int = 7):
    policy = settings.policy
    report = policy.annual_report.model_copy(update={"disclosure_rule": rule})
    return dataclasses.replace(settings, policy=policy.model_copy(
        update={"annual_report": report, "suppression_threshold": threshold}))


def headline(directory) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO((directory / "tables" / "headline.csv").read_text())))
    return dict(rows[1:])


def test_nhs_england_rule_hides_1_to_7_rounds_the_rest_and_says_so(settings):
    load_known_counts(settings)
    rounded = with_rule(settings, "nhs_england")
    result = build_annual_report(rounded, 2026, today=TODAY)
    figures = headline(result.directory)
    # 22 and 16 deaths notified, 24 reviews: published as 20, 15 and 25.
    assert figures["Deaths notified"] == "15"
    assert figures["Reviews completed"] == "25"
    trend = list(csv.reader(io.StringIO((result.directory / "tables" / "trend.csv").read_text())))
    assert trend[-2:] == [["2024/25", "20", MARKER], ["2025/26", "15", "25"]]
    # The rate is of the published 15, and flagged: fewer than 20 deaths.
    rates = list(csv.reader(io.StringIO((result.directory / "tables" / "rates.csv").read_text())))
    assert rates[-1][-1] == f"{15 / 210_161 * 100_000:.1f} u"
    assert rates[-2][-1] == f"{20 / 209_995 * 100_000:.1f}"  # 20 published: not flagged
    text = " ".join(pdf_text((result.directory / "annual-report-2026.pdf").read_bytes()).split())
    assert "Disclosure rule: NHS England's rule for sub-national tables" in text
    assert "rounded to the nearest 5" in text
    assert "marked u (unreliable" in text

    with unit_of_work(settings) as uow:
        data = extract(uow.session, 2026)
    policy = rounded.policy.annual_report
    content = build_content(data, area_name="Demo", threshold=7, report_policy=policy)
    assert content.rule == Rule("nhs_england", 7, 5, 3)
    assert content.rule.audit(content.audit_tables, content.links) == []
    for table in content.tables:
        for row in table.published_rows():
            for cell in row[1:1 + table.n_cols]:
                assert cell == MARKER or int(cell) % 5 == 0 or not table.disclosure_control, (table.id, row)
    # Every hidden count stays any of at least 3 values from the rounded margins.
    assert all(i.width >= 3 for i in rounded_intervals(content.audit_tables, content.links))
    # The confidential edition names the public edition's rule and rounds nothing.
    confidential = build_content(data, area_name="Demo", threshold=7, report_policy=policy,
                                 edition=CONFIDENTIAL)
    assert confidential.extra["rule_public"] == content.rule.sentence()
    assert confidential.table("trend").published_rows()[-1] == ["2025/26", "16", "24"]


def test_threshold_rule_says_so_and_passes_the_interval_audit(settings):
    load_known_counts(settings)
    result = build_annual_report(with_rule(settings, "threshold", 7), 2026, today=TODAY)
    figures = headline(result.directory)
    assert figures["Deaths notified"] == "16" and figures["Reviews completed"] == "24"
    text = " ".join(pdf_text((result.directory / "annual-report-2026.pdf").read_bytes()).split())
    assert "Disclosure rule: a threshold of 7 with secondary suppression" in text
    with unit_of_work(settings) as uow:
        content = build_content(extract(uow.session, 2026), area_name="Demo", threshold=7)
    assert content.rule == Rule("threshold", 7)
    assert content.rule.audit(content.audit_tables, content.links) == []


@pytest.mark.parametrize("rule,threshold", [("threshold", 7), ("threshold", 3), ("nhs_england", 7)])
def test_charts_draw_the_table_they_sit_beside(settings, rule, threshold):
    load_known_counts(settings)
    configured = with_rule(settings, rule, threshold)
    with unit_of_work(settings) as uow:
        content = build_content(extract(uow.session, 2026), area_name="Demo", threshold=threshold,
                                report_policy=configured.policy.annual_report)
    for table_id in ("category", "age_band"):
        drawn = _beside(content, table_id)
        if table_id in content.pooled:
            # The text prints the pooled table right above the chart: the chart draws it.
            assert drawn.id == content.pooled[table_id]
        else:
            assert drawn.id == table_id


def _tell_ncmd(settings, year: int, how_many: int) -> None:
    """NCMD told within a day of the death for `how_many` deaths notified in `year`."""
    from sqlalchemy import select

    from cdop.annual_report.data import report_period
    from cdop.store.models import Case

    with unit_of_work(settings, "test") as uow:
        start, end = report_period(year)
        cases = uow.session.scalars(select(Case).where(Case.notified_on.between(start, end))
                                    .order_by(Case.id)).all()[:how_many]
        assert len(cases) == how_many
        for case in cases:
            case.ncmd_notified_at = dt.datetime.combine(case.date_of_death, dt.time(9, 0)) + dt.timedelta(days=1)
        uow.commit()


def test_ncmd_within_48_hours_is_pooled_where_the_year_would_hide_it(settings):
    load_known_counts(settings)
    _tell_ncmd(settings, 2026, 3)  # 3 of 16: hidden, and 13 with it
    _tell_ncmd(settings, 2025, 10)  # 10 of 22 the year before
    with unit_of_work(settings) as uow:
        data = extract(uow.session, 2026)
    content = build_content(data, area_name="Demo", threshold=7)
    assert content.table("ncmd").published_rows()[0][1:] == [MARKER, MARKER]
    pooled = content.table("ncmd_pooled")
    assert content.pooled["ncmd"] == "ncmd_pooled"
    # 2023/24 to 2025/26: 13 told in time of 38 notified (none in 2023/24).
    assert pooled.published_rows()[0][1:] == ["13", "34%"]
    assert pooled.published_rows()[-1][1:] == ["38", "100%"]
    figure = next(f for f in content.headline if "48 hours" in f.label)
    assert figure.shown == "34%" and "3 years pooled, 2023/24 to 2025/26" in figure.label
    assert content.rule.audit(content.audit_tables, content.links) == []
    # Under rounding the year's 3 is hidden too; pooled, 13 of 38 are published as 15 of
    # 40, and the share is of the rounded counts.
    policy = with_rule(settings, "nhs_england").policy.annual_report
    rounded = build_content(data, area_name="Demo", threshold=7, report_policy=policy)
    assert rounded.rule.audit(rounded.audit_tables, rounded.links) == []
    assert rounded.table("ncmd_pooled").published_rows()[0][1:] == ["15", "38%"]
    figure = next(f for f in rounded.headline if "48 hours" in f.label)
    assert figure.shown == "38%" and "pooled" in figure.label


def test_a_theme_the_office_defines_is_counted_pooled_and_protected(settings):
    from cdop.config import DEFAULT_THEMES, Theme

    load_known_counts(settings)
    chromosomal = Theme(name="Chromosomal, genetic and congenital anomalies", categories=("congenital",))
    configured = settings.policy.annual_report.model_copy(update={"themes": (*DEFAULT_THEMES, chromosomal)})
    with unit_of_work(settings) as uow:
        data = extract(uow.session, 2026)
    for rule in ("threshold", "nhs_england"):
        policy = configured.model_copy(update={"disclosure_rule": rule})
        content = build_content(data, area_name="Demo", threshold=7, report_policy=policy)
        assert content.table("themes").rows[-1] == chromosomal.name
        assert content.rule.audit(content.audit_tables, content.links) == []
        # 8 congenital reviews in 2025/26, none the two years before.
        year, pooled = content.table("themes"), content.table("themes_pooled")
        expected = "8" if rule == "threshold" else "10"
        assert year.published_rows()[-1][1] == expected
        assert pooled.published_rows()[-1][1] == expected
