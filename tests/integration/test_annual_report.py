"""The annual report on a fixture with known counts, on SQLite and PostgreSQL: every value
of every table, suppression, the PDF, the gate, versions and the email at a real SMTP
server."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics

import pytest
from sqlalchemy import select, update

from cdop.annual_report import build_annual_report, due_report_year
from cdop.annual_report.content import build_content
from cdop.annual_report.data import extract, scope_identifiers
from cdop.annual_report.disclosure import (
    MARKER,
    determined_cells,
    leaks_across_tables,
    primary_violations,
)
from cdop.confidentiality.documents import pdf_text
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.year_gate import ReportBlocked
from cdop.mail import delivery
from cdop.mail.mailer import SmtpMailer
from cdop.store.db import unit_of_work
from cdop.store.models import Analysis, AnnualReport, Case, OutboxMessage
from tests.conftest import cli
from tests.support.annual_report import (
    GROUPS,
    LEARNING_PERINATAL,
    LEARNING_SUDI,
    LEARNING_SUICIDE,
    PARENT_NAME,
    add_case,
    add_review,
    load_known_counts,
    with_threshold,
)

D = dt.date
TODAY = D(2026, 6, 2)


def read_tables(directory) -> dict[str, list[list[str]]]:
    return {
        f.stem: list(csv.reader(io.StringIO(f.read_text(encoding="utf-8"))))
        for f in sorted((directory / "tables").glob("*.csv"))
    }


def body(rows):
    """Rows without the header."""
    return rows[1:]


MOD = ["Modifiable factors", "No modifiable factors", "Insufficient information"]

# Every value of every table, no suppression (threshold 0).
EXPECTED_RAW = {
    "trend": [
        ["Year (April to March)", "Deaths notified", "Reviews completed"],
        ["2021/22", "0", "0"], ["2022/23", "0", "0"], ["2023/24", "0", "0"],
        ["2024/25", "22", "1"], ["2025/26", "16", "24"],
    ],
    "time_to_review": [
        ["Time taken", "Reviews", "% of reviews", "Cumulative %"],
        ["Within 6 months", "11", "46%", "46%"],
        ["6 to 12 months", "10", "42%", "88%"],
        ["More than 12 months", "3", "12%", "100%"],
        ["Total", "24", "100%", ""],
    ],
    "category": [
        ["Category of death", *MOD, "Total", "% of reviews", "% with modifiable factors"],
        ["Deliberately inflicted injury, abuse or neglect", "0", "0", "0", "0", "0%", "-"],
        ["Suicide or deliberate self-inflicted harm", "2", "0", "0", "2", "8%", "100%"],
        ["Trauma and other external factors, including medical/surgical complications or error",
         "0", "0", "0", "0", "0%", "-"],
        ["Malignancy", "0", "0", "0", "0", "0%", "-"],
        ["Acute medical or surgical condition", "0", "0", "0", "0", "0%", "-"],
        ["Chronic medical condition", "0", "0", "0", "0", "0%", "-"],
        ["Chromosomal, genetic and congenital anomalies", "0", "8", "0", "8", "33%", "0%"],
        ["Perinatal/neonatal event", "0", "10", "0", "10", "42%", "0%"],
        ["Infection", "0", "0", "1", "1", "4%", "0%"],
        ["Sudden unexpected, unexplained death", "3", "0", "0", "3", "12%", "100%"],
        ["Total", "5", "18", "1", "24", "100%", "21%"],
    ],
    "age_band": [
        ["Age at death", *MOD, "Total", "% of reviews", "% with modifiable factors"],
        ["0-27 days", "0", "10", "0", "10", "42%", "0%"],
        ["28-364 days", "3", "8", "0", "11", "46%", "27%"],
        ["1-4 years", "0", "0", "1", "1", "4%", "0%"],
        ["5-9 years", "0", "0", "0", "0", "0%", "-"],
        ["10-14 years", "0", "0", "0", "0", "0%", "-"],
        ["15-17 years", "2", "0", "0", "2", "8%", "100%"],
        ["Total", "5", "18", "1", "24", "100%", "21%"],
    ],
    "sex": [
        ["Sex", "Reviews", "% of reviews"],
        ["Male", "14", "58%"], ["Female", "10", "42%"], ["Indeterminate", "0", "0%"],
        ["Not known", "0", "0%"], ["Total", "24", "100%"],
    ],
    "ethnicity": [
        ["Ethnic group", "Reviews", "% of reviews"],
        ["White", "12", "50%"], ["Mixed or multiple", "1", "4%"],
        ["Asian or Asian British", "8", "33%"],
        ["Black, Black British, Caribbean or African", "3", "12%"],
        ["Other ethnic group", "0", "0%"], ["Not stated", "0", "0%"], ["Total", "24", "100%"],
    ],
    "deprivation": [
        ["Deprivation quintile", "Reviews", "% of reviews"],
        ["1 (most deprived)", "13", "54%"], ["2", "8", "33%"], ["3", "0", "0%"], ["4", "0", "0%"],
        ["5 (least deprived)", "1", "4%"], ["Not known", "2", "8%"], ["Total", "24", "100%"],
    ],
    "expected": [
        ["Death was", "Reviews", "% of reviews"],
        ["Expected", "18", "75%"], ["Unexpected", "6", "25%"], ["Total", "24", "100%"],
    ],
    "place_of_death": [
        ["Place of death", "Reviews", "% of reviews"],
        ["Hospital", "19", "79%"], ["Hospice", "0", "0%"], ["Usual residence", "3", "12%"],
        ["Public place", "2", "8%"], ["Other", "0", "0%"], ["Total", "24", "100%"],
    ],
    "themes": [
        ["Theme", "Reviews", "With modifiable factors", "% with modifiable factors"],
        ["Sudden unexpected death in infancy (under 1 year)", "3", "3", "100%"],
        ["Suicide or deliberate self-harm", "2", "2", "100%"],
    ],
    "recommendations": [
        ["Year agreed", "Completed", "In progress", "Agreed, not yet started", "Not accepted", "Total"],
        ["2021/22", "0", "0", "0", "0", "0"], ["2022/23", "0", "0", "0", "1", "1"],
        ["2023/24", "0", "0", "0", "0", "0"], ["2024/25", "1", "0", "0", "0", "1"],
        ["2025/26", "0", "1", "0", "0", "1"], ["Total", "1", "1", "0", "1", "3"],
    ],
    "learning": [["Learning"], [LEARNING_SUDI], [LEARNING_SUICIDE], [LEARNING_PERINATAL]],
    "recommendations_made": [
        ["Organisation", "Recommendation", "Due", "Status at 31 March"],
        ["Demo Integrated Care Board", "Repeat safer sleep advice at every move.", "June 2026",
         "In progress"],
    ],
}


def _days(group: str) -> int:
    _, died, *_, reviewed, _c, _m, _l = GROUPS[group]
    return (reviewed - died).days


MEDIAN = statistics.median(
    [d for g in "ABCDE" for d in [_days(g)] * GROUPS[g][0]]
)


def test_every_value_of_every_table_without_suppression(settings):
    load_known_counts(settings)
    result = build_annual_report(with_threshold(settings, 0), 2026, today=TODAY)
    tables = read_tables(result.directory)
    for name, expected in EXPECTED_RAW.items():
        assert tables[name] == expected, name
    assert tables["headline"] == [
        ["Measure", "Value"],
        ["Deaths notified", "16"], ["Reviews completed", "24"],
        ["Reviews with modifiable factors", "5"], ["Reviews with modifiable factors (%)", "21%"],
        ["Reviews completed within 6 months of the death", "46%"],
        ["Reviews completed within 12 months of the death", "88%"],
        ["Median time from death to review completion", f"{round(MEDIAN)} days"],
    ]
    national = {row[0]: row[1:4] for row in body(tables["national_comparison"])}
    assert national == {
        "Deaths notified": ["16", "3577", "2023/24"],
        "Reviews completed": ["24", "2575", "2020/21"],
        "Reviews with modifiable factors (%)": ["20.8%", "28%", "2017/18"],
        "Reviews of children under one year (%)": ["87.5%", "65%", "2017/18"],
        "Child deaths per 100,000 children": ["not calculated", "29.8", "2023/24"],
    }
    # Every table the report publishes is a file here, and nothing else.
    assert set(tables) == set(EXPECTED_RAW) | {"headline", "national_comparison"}


def test_suppressed_tables_hide_small_counts_and_nothing_is_recoverable(settings):
    load_known_counts(settings)
    raw = read_tables(build_annual_report(with_threshold(settings, 0), 2026, today=TODAY).directory)
    result = build_annual_report(settings, 2026, today=TODAY)
    assert result.version == 2  # different content from the unsuppressed build
    tables = read_tables(result.directory)

    # Exact published values of the simpler tables.
    assert body(tables["trend"]) == [["2021/22", "0", "0"], ["2022/23", "0", "0"],
                                     ["2023/24", "0", "0"], ["2024/25", "22", MARKER],
                                     ["2025/26", "16", "24"]]
    # 3 is hidden, and 10 with it (else 24 - 11 - 10 gives it away); percentages follow.
    assert body(tables["time_to_review"]) == [
        ["Within 6 months", "11", "46%", "46%"], ["6 to 12 months", MARKER, MARKER, MARKER],
        ["More than 12 months", MARKER, MARKER, MARKER], ["Total", "24", "100%", ""]]
    # 6 is hidden; with only two rows, 18 must go too (24 - 18 = 6).
    assert body(tables["expected"]) == [["Expected", MARKER, MARKER], ["Unexpected", MARKER, MARKER],
                                        ["Total", "24", "100%"]]
    assert body(tables["sex"]) == [["Male", "14", "58%"], ["Female", "10", "42%"],
                                   ["Indeterminate", "0", "0%"], ["Not known", "0", "0%"],
                                   ["Total", "24", "100%"]]
    assert body(tables["themes"]) == [
        ["Sudden unexpected death in infancy (under 1 year)", MARKER, MARKER, MARKER],
        ["Suicide or deliberate self-harm", MARKER, MARKER, MARKER]]
    # Recommendations count actions, not children: published in full.
    assert tables["recommendations"] == EXPECTED_RAW["recommendations"]

    # Every value of every table: the true count, or the marker where the count is small
    # (always) or a complement; zeros always shown; totals shown unless small.
    for name in ("time_to_review", "category", "age_band", "sex", "ethnicity", "deprivation",
                 "expected", "place_of_death", "themes", "trend"):
        for got_row, raw_row in zip(tables[name][1:], raw[name][1:], strict=True):
            assert got_row[0] == raw_row[0]  # the row label
            for got, true in zip(got_row[1:], raw_row[1:], strict=True):
                if true.isdigit():
                    if 1 <= int(true) <= 7:
                        assert got == MARKER, (name, got_row)
                    elif int(true) == 0:
                        assert got == "0", (name, got_row)
                    else:
                        assert got in (true, MARKER), (name, got_row)
                elif got != MARKER:
                    assert got == true, (name, got_row)
    assert tables["category"][-1][4] == "24"  # the grand total is never a complement here

    # The generic checker over every table the report produces, alone and together.
    with unit_of_work(settings) as uow:
        content = build_content(extract(uow.session, 2026), area_name="Demo Area", threshold=7)
    assert len(content.tables) == 11
    for table in content.tables:
        assert primary_violations(table, 7) == [], table.id
        assert determined_cells(table) == [], table.id
    assert leaks_across_tables(content.tables) == []
    published = {t.id: [t.header(), *t.published_rows()] for t in content.tables}
    assert published == {k: v for k, v in tables.items() if k in published}


def test_pdf_renders_with_text_and_no_identifier(settings):
    load_known_counts(settings)
    result = build_annual_report(settings, 2026, today=TODAY)
    from pypdf import PdfReader

    pdf = (result.directory / "annual-report-2026.pdf").read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 4
    text = pdf_text(pdf)
    for phrase in ("Demo Area Child Death Overview Panel", "Deaths notified and reviews completed",
                   "Category of death", "Comparison with England", "Safer sleep advice",
                   "Counts from 1 to 7"):
        assert phrase in " ".join(text.split()), phrase
    html = (result.directory / "annual-report-2026.html").read_text()
    assert html.count('src="data:image/png;base64,') == 3  # self-contained: charts embedded
    assert "<link" not in html and "http" not in html.split("<body>")[1]
    # No identifier of any case in the year, nor of their families, anywhere.
    with unit_of_work(settings) as uow:
        ids = set(uow.session.scalars(select(Case.id)))
        identifiers = scope_identifiers(uow.session, ids)
    assert any(i.value == PARENT_NAME for i in identifiers)
    gate = Gate(identifiers)
    assert gate.scan(text) == []
    assert gate.scan(html) == []
    for f in (result.directory / "tables").glob("*.csv"):
        for row in csv.reader(io.StringIO(f.read_text())):
            for cell in row:
                assert gate.scan(cell) == [], f.name


def test_a_year_with_no_reviews_gives_a_valid_report_that_says_so(settings):
    load_known_counts(settings)
    result = build_annual_report(settings, 2024, today=TODAY)
    text = " ".join(pdf_text((result.directory / "annual-report-2024.pdf").read_bytes()).split())
    assert "No child death reviews were completed in this year." in text
    tables = read_tables(result.directory)
    assert tables["headline"][2] == ["Reviews completed", "0"]
    assert tables["category"][-1] == ["Total", "0", "0", "0", "0", "-", "-"]
    assert body(tables["learning"]) == []
    assert "No learning was recorded" in text


def test_identifier_in_learning_blocks_release_naming_the_fields(settings):
    load_known_counts(settings, learning_a=None)
    with unit_of_work(settings) as uow:
        analysis = uow.session.scalars(select(Analysis).order_by(Analysis.id)).first()
        case = uow.session.get(Case, analysis.case_id)
        analysis.modifiable = "yes"
        analysis.learning = f"The mother of {case.forenames} {case.surname} was not offered support."
        uow.commit()
    with pytest.raises(ReportBlocked) as caught:
        build_annual_report(settings, 2026, today=TODAY)
    message = str(caught.value)
    assert "annual-report-2026.html: child.forenames, child.name, child.surname" in message
    assert "tables/learning.csv" in message and "annual-report-2026.pdf" in message
    assert case.surname not in message
    assert not (settings.home / "annual_reports" / "2026").exists()
    with unit_of_work(settings) as uow:
        row = uow.session.scalar(select(AnnualReport))
        assert row.status == "blocked" and row.version is None
        assert "email: child.surname" not in row.gate_findings  # the email has no learning
        assert "tables/learning.csv: child.surname" in row.gate_findings
        assert uow.session.scalar(select(OutboxMessage)) is None


def _deliver(settings, smtp_server):
    s = with_port(settings, smtp_server.port)
    mailer = SmtpMailer(s.smtp, s.policy.mail_from)
    try:
        return delivery.deliver(s, mailer, kinds=["annual_report"])
    finally:
        mailer.close()


def with_port(settings, port):
    import dataclasses

    return dataclasses.replace(settings, smtp=dataclasses.replace(settings.smtp, port=port))


def test_rerun_replaces_outputs_and_emails_once_per_version(settings, smtp_server):
    load_known_counts(settings)
    first = build_annual_report(settings, 2026, today=TODAY)
    assert _deliver(settings, smtp_server).as_dict()["sent"] == 1
    [message] = smtp_server.messages()
    assert message["To"] == "safeguarding.partnership@example.gov.uk"
    assert message["Subject"] == "Demo Area Child Death Overview Panel annual report 2025/26"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "cdop-annual-report-2026-v1.pdf"
    assert "Reviews completed" in pdf_text(attachment.get_content())

    again = build_annual_report(settings, 2026, today=TODAY + dt.timedelta(days=1))
    assert (again.version, again.new_version, again.message_id) == (1, False, first.message_id)
    assert _deliver(settings, smtp_server).as_dict()["sent"] == 0
    assert len(smtp_server.messages()) == 1

    with unit_of_work(settings) as uow:  # a late review changes the year's figures
        case = add_case(uow.session, died=D(2025, 7, 1), age_days=20)
        add_review(uow.session, case, reviewed_on=D(2026, 1, 10), category="perinatal",
                   modifiable="no")
        uow.commit()
    second = build_annual_report(settings, 2026, today=TODAY + dt.timedelta(days=2))
    assert (second.version, second.new_version) == (2, True)
    assert _deliver(settings, smtp_server).as_dict()["sent"] == 1
    latest = smtp_server.messages()[-1]
    assert latest["Subject"].endswith("(version 2)")
    assert latest["X-CDOP-Report-Version"] == "2"
    # The year's outputs were replaced: one directory, the new version's.
    root = settings.home / "annual_reports"
    manifest = json.loads((root / "2026" / "manifest.json").read_text())
    assert manifest["version"] == 2
    assert read_tables(root / "2026")["headline"][2] == ["Reviews completed", "25"]
    assert [p.name for p in root.iterdir() if p.name.startswith(".build-2026")] == [
        (root / "2026").resolve().name]


def test_a_queued_older_version_is_cancelled_not_sent(settings, smtp_server):
    load_known_counts(settings)
    build_annual_report(settings, 2026, today=TODAY)  # queued, not yet sent
    build_annual_report(with_threshold(settings, 3), 2026, today=TODAY)  # new content
    report = _deliver(settings, smtp_server)
    assert (len(report.sent), len(report.cancelled)) == (1, 1)
    [message] = smtp_server.messages()
    assert message["X-CDOP-Report-Version"] == "2"


def test_due_year_follows_the_policy_date_and_the_register(settings):
    load_known_counts(settings)
    assert due_report_year(settings, D(2026, 5, 31)) == 2025  # 2026's date (1 June) not yet come
    assert due_report_year(settings, D(2026, 6, 1)) == 2026
    build_annual_report(settings, 2026, today=D(2026, 6, 1))
    assert due_report_year(settings, D(2026, 6, 2)) is None  # released: not due again
    with unit_of_work(settings) as uow:
        uow.session.execute(update(AnnualReport).values(status="blocked"))
        uow.commit()
    assert due_report_year(settings, D(2026, 12, 1)) == 2026  # a failed year is retried


def test_cli_builds_and_prints_where_the_outputs_are(settings, env):
    load_known_counts(settings)
    result = cli("annual-report", "build", "--year", "2026", "--today", "2026-06-02")
    assert result.returncode == 0, result.stderr
    directory = settings.home / "annual_reports" / "2026"
    assert f"directory: {directory}" in result.stdout
    assert str(directory / "annual-report-2026.pdf") in result.stdout
    assert "email: queued for safeguarding.partnership@example.gov.uk" in result.stdout
    bad = cli("annual-report", "build", "--year", "2027", "--today", "2026-06-02")
    assert bad.returncode == 2 and "field 'year'" in bad.stderr


def test_every_table_of_the_demo_history_is_protected(settings):
    """The generic checker over every table of five years of the demo's history."""
    import csv as csv_module

    from cdop.intake.agencies import import_agencies
    from tests.conftest import ROOT

    with (ROOT / "include/cdop/data/demo_agencies.csv").open(newline="") as fh:
        import_agencies(settings, list(csv_module.DictReader(fh)))
    from cdop.dev.demo_history import load_demo_history

    load_demo_history(settings, today=D(2026, 11, 26))
    with unit_of_work(settings) as uow:
        for year in range(2022, 2027):
            content = build_content(extract(uow.session, year), area_name="Demo", threshold=7)
            assert not content.empty
            for table in content.tables:
                assert primary_violations(table, 7) == [], (year, table.id)
                assert determined_cells(table) == [], (year, table.id)
            assert leaks_across_tables(content.tables) == [], year


def test_a_death_on_the_first_or_last_day_of_the_year_does_not_block_the_report(settings):
    """The report prints its own period ("1 April 2025 to 31 March 2026"): that is the
    period, not a child's date of death, even when a child died on one of those days."""
    load_known_counts(settings)
    with unit_of_work(settings, "test") as uow:
        for died in (dt.date(2025, 4, 1), dt.date(2026, 3, 31)):
            case = add_case(uow.session, died=died, age_days=400)
            add_review(uow.session, case, reviewed_on=dt.date(2026, 3, 31), category="infection",
                       modifiable="no")
        uow.commit()
    result = build_annual_report(settings, 2026, today=TODAY)
    assert (result.directory / "annual-report-2026.pdf").is_file()
