"""The annual report on a fixture with known counts, on SQLite and PostgreSQL: every value
of every table, suppression, the PDF, the gate, versions and the email at a real SMTP
server."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import statistics

import pytest
from sqlalchemy import select, update

from cdop.annual_report import build_annual_report, due_report_year
from cdop.annual_report.content import build_content
from cdop.annual_report.data import extract, scope_identifiers
from cdop.annual_report.disclosure import (
    MARKER,
    determined_cells,
    intervals,
    leaks_across_tables,
    primary_violations,
)
from cdop.confidentiality.documents import pdf_text, visible_text
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.year_gate import ReportBlocked
from cdop.mail.mailer import SmtpMailer
from cdop.sending import delivery
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
        ["Neonatal deaths (under 28 days)", "10", "0", "0%"],
    ],
    "recommendations": [
        ["Year agreed", "Completed", "In progress", "Agreed, not yet started", "Not accepted", "Total"],
        ["2021/22", "0", "0", "0", "0", "0"], ["2022/23", "0", "0", "0", "1", "1"],
        ["2023/24", "0", "0", "0", "0", "0"], ["2024/25", "1", "0", "0", "0", "1"],
        ["2025/26", "0", "1", "0", "0", "1"], ["Total", "1", "1", "0", "1", "3"],
    ],
    "learning": [["Learning"], [LEARNING_SUDI], [LEARNING_SUICIDE], [LEARNING_PERINATAL]],
    "recommendations_made": [
        ["Organisation", "Recommendation", "Due", "Status at 31 March", "Action taken by 31 March"],
        ["Demo Integrated Care Board", "Repeat safer sleep advice at every move.", "June 2026",
         "In progress", "Started."],
    ],
    # No NCMD notification is recorded in the fixture; no panel meeting is.
    "ncmd": [
        ["NCMD told", "Deaths notified", "% of deaths notified"],
        ["Within the deadline", "0", "0%"], ["After the deadline", "0", "0%"],
        ["Not recorded", "16", "100%"], ["Total", "16", "100%"],
    ],
    "meetings": [["Meeting", "Reviews completed"], ["No meeting held", "0"], ["Total", "0"]],
    "factors": [
        ["Domain", "Reviews with a modifiable factor in the domain"],
        ["Factors intrinsic to the child", "0"],
        ["Factors in the social environment, including family and parenting capacity", "0"],
        ["Factors in the physical environment", "0"], ["Factors in service provision", "0"],
    ],
    "rates": [
        ["Year (April to March)", "Deaths notified", "Children aged 0-17", "Population estimate",
         "Deaths per 100,000 children"],
        ["2021/22", "0", "209,150", "mid-2021", "not calculated (fewer than 3 deaths)"],
        ["2022/23", "0", "209,588", "mid-2022", "not calculated (fewer than 3 deaths)"],
        ["2023/24", "0", "209,837", "mid-2023", "not calculated (fewer than 3 deaths)"],
        ["2024/25", "22", "209,995", "mid-2024", "10.5"],
        # Fewer than 20 deaths: flagged unreliable (ONS).
        ["2025/26", "16", "210,161", "mid-2025", "7.6 u"],
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
        # No NCMD notification is recorded in the fixture.
        ["Deaths notified to the National Child Mortality Database within 48 hours (%)", "0%"],
        ["Reviews with modifiable factors", "5"], ["Reviews with modifiable factors (%)", "21%"],
        ["Reviews completed within 6 months of the death", "46%"],
        ["Reviews completed within 12 months of the death", "88%"],
        ["Median time from death to review completion", f"{round(MEDIAN)} days"],
    ]
    # England for the same year only, as a rate: the file's 2023/24 rate beside this
    # area's 2023/24 (no deaths notified then in the fixture, so no rate); no England
    # figure of another year beside this year's counts.
    assert tables["national_comparison"] == [
        ["Measure", "Year", "Demo Area", "England", "Source"],
        ["Child deaths per 100,000 children", "2023/24", "not calculated (fewer than 3 deaths)",
         "29.8", "National Child Mortality Database: Child death review data release, year "
         "ending 31 March 2024"],
    ]
    # Since the panel began: the fixture's first review was completed in 2024/25.
    assert tables["cumulative"][-1] == ["Total", "5", "19", "1", "25", "100%", "20%"]
    # Every table the report publishes is a file here, and nothing else (nothing is pooled
    # when nothing is suppressed).
    assert set(tables) == set(EXPECTED_RAW) | {"headline", "national_comparison", "cumulative",
                                               "themes_pooled"}
    # The themes over three years: this year's and the one 2024/25 review (X1, a baby
    # who died at 10 days: neonatal).
    assert body(tables["themes_pooled"]) == [
        ["Sudden unexpected death in infancy (under 1 year)", "3", "3", "100%"],
        ["Suicide or deliberate self-harm", "2", "2", "100%"],
        ["Neonatal deaths (under 28 days)", "11", "0", "0%"]]


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
        ["Suicide or deliberate self-harm", MARKER, MARKER, MARKER],
        ["Neonatal deaths (under 28 days)", "10", "0", "0%"]]
    # One year's category and age tables are mostly hidden: both are published pooled over
    # three years as well (2023/24 to 2025/26), audited together with the single year.
    assert tables["category_pooled"][-1][4] == MARKER  # 25 = 24 + the one 2024/25 review
    assert tables["cumulative"][-1][4] == MARKER  # the same: since the panel began, 25
    # Recommendations count actions, not children: published in full.
    assert tables["recommendations"] == EXPECTED_RAW["recommendations"]

    # Every value of every table: the true count, or the marker where the count is small
    # (always) or a complement; zeros always shown; totals shown unless small.
    for name in ("time_to_review", "category", "age_band", "sex", "ethnicity", "deprivation",
                 "expected", "place_of_death", "themes", "trend", "ncmd", "factors", "cumulative"):
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

    # The interval audit over every table the report publishes, together with the
    # unpublished tables of other years that pooled and cumulative tables tie in: every
    # hidden count could be any of at least 7 values.
    with unit_of_work(settings) as uow:
        content = build_content(extract(uow.session, 2026), area_name="Demo Area", threshold=7)
    ids = [t.id for t in content.tables]
    assert [i for i in ids if not i.endswith("_pooled")] == [
        "trend", "time_to_review", "meetings", "ncmd", "category", "age_band", "factors", "sex",
        "ethnicity", "deprivation", "expected", "place_of_death", "themes", "cumulative",
        "recommendations"]
    assert {"category_pooled", "age_band_pooled"} <= set(ids)
    # The themes are always given pooled too; the other tables where one year is mostly hidden.
    assert set(content.pooled.values()) == {i for i in ids if i.endswith("_pooled")} - {"themes_pooled"}
    for table in content.tables:
        assert primary_violations(table, 7) == [], table.id
        assert determined_cells(table) == [], table.id
    assert leaks_across_tables(content.audit_tables, 7, content.links) == []
    for interval in intervals(content.audit_tables, content.links):
        assert interval.low <= interval.value <= interval.high
        assert interval.width >= 7, interval
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
    assert first.email == {"public": "queued", "confidential": "queued"}
    assert _deliver(settings, smtp_server).as_dict()["sent"] == 2
    by_to = {m["To"]: m for m in smtp_server.messages()}
    assert set(by_to) == {"safeguarding.partnership@example.gov.uk", "cdrp.partners@example.nhs.net"}
    message = by_to["safeguarding.partnership@example.gov.uk"]
    assert message["Subject"] == "Demo Area Child Death Overview Panel annual report 2025/26"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "cdop-annual-report-2026-v1.pdf"
    assert "Reviews completed" in pdf_text(attachment.get_content())
    assert "CONFIDENTIAL" not in pdf_text(attachment.get_content())
    secret = by_to["cdrp.partners@example.nhs.net"]
    assert secret["Subject"].startswith("CONFIDENTIAL: Demo Area Child Death Overview Panel")
    [attachment] = list(secret.iter_attachments())
    assert attachment.get_filename() == "cdop-annual-report-2026-v1-CONFIDENTIAL.pdf"
    assert "CONFIDENTIAL" in pdf_text(attachment.get_content())

    again = build_annual_report(settings, 2026, today=TODAY + dt.timedelta(days=1))
    assert (again.version, again.new_version, again.message_id) == (1, False, first.message_id)
    assert again.email == {"public": "sent", "confidential": "sent"}  # nothing queued again
    assert _deliver(settings, smtp_server).as_dict()["sent"] == 0
    assert len(smtp_server.messages()) == 2

    with unit_of_work(settings) as uow:  # a late review changes the year's figures
        case = add_case(uow.session, died=D(2025, 7, 1), age_days=20)
        add_review(uow.session, case, reviewed_on=D(2026, 1, 10), category="perinatal",
                   modifiable="no")
        uow.commit()
    second = build_annual_report(settings, 2026, today=TODAY + dt.timedelta(days=2))
    assert (second.version, second.new_version) == (2, True)
    assert _deliver(settings, smtp_server).as_dict()["sent"] == 2
    for latest in smtp_server.messages()[-2:]:
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
    # Each edition: the older version cancelled, the newer one sent.
    assert (len(report.sent), len(report.cancelled)) == (2, 2)
    assert {m["X-CDOP-Report-Version"] for m in smtp_server.messages()} == {"2"}


def test_confidential_edition_is_marked_on_every_page_encrypted_at_rest_and_secure_only(settings):
    from pypdf import PdfReader

    from cdop.annual_report.service import confidential_file
    from cdop.crypto import decrypt_bytes

    load_known_counts(settings)
    result = build_annual_report(settings, 2026, today=TODAY)
    stored = (result.directory / confidential_file(2026)).read_bytes()
    assert not stored.startswith(b"%PDF") and b"Reviews completed" not in stored
    assert (result.directory / confidential_file(2026)).stat().st_mode & 0o077 == 0
    pdf = decrypt_bytes(stored)
    pages = [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) >= 4
    for number, text in enumerate(pages, start=1):
        assert "CONFIDENTIAL" in text, number
        assert f"Page {number} of {len(pages)}" in text, number
    # Counts in full: the three reviews of sudden unexpected death (small) are shown.
    assert MARKER not in " ".join(pages).replace("shown as *", "")
    public = " ".join(pdf_text((result.directory / "annual-report-2026.pdf").read_bytes()).split())
    assert "CONFIDENTIAL" not in public
    with unit_of_work(settings) as uow:
        messages = {m.params["edition"]: (m.to_addrs, m.secure_route)
                    for m in uow.session.scalars(select(OutboxMessage))}
    assert messages == {"confidential": (["cdrp.partners@example.nhs.net"], True),
                        "public": (["safeguarding.partnership@example.gov.uk"], False)}


def test_confidential_recipients_must_be_secure_addresses():
    import tempfile
    from pathlib import Path

    from cdop.config import ConfigError, load_policy

    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.toml"
        policy.write_text('[annual_report]\nconfidential_recipients = ["partners@gmail.com"]\n')
        with pytest.raises(ConfigError) as caught:
            load_policy(policy)
    assert "annual_report.confidential_recipients" in str(caught.value)
    assert "gmail" not in str(caught.value).split("input_value")[0]


def test_every_pdf_page_is_legible_text(settings):
    """Each page's text, extracted: headers wrap without running together, every page
    is numbered, the contents lists the sections with their pages."""
    from pypdf import PdfReader

    load_known_counts(settings)
    result = build_annual_report(settings, 2026, today=TODAY)
    pdf = (result.directory / "annual-report-2026.pdf").read_bytes()
    pages = [(p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages]
    joined = " ".join(" ".join(p.split()) for p in pages)
    for number, text in enumerate(pages, start=1):
        flat = " ".join(text.split())
        assert f"Page {number} of {len(pages)}" in flat
        # Header cells wrap onto lines of their own: no two header words run together.
        glued = ("modifiableinformation", "factorsinsufficient", "factorsno", "informationtotal",
                 "modifiablefactors", "reviews%", "factors%", "totalpercent")
        for word in flat.lower().split():
            assert not any(g in word for g in glued), (number, word)
    # Nor do two sentences ("...31 March 2024.A typical panel..."), in the PDF or the HTML.
    html = visible_text((result.directory / "annual-report-2026.html").read_text(encoding="utf-8"))
    for text in (joined, " ".join(html.split())):
        assert not re.search(r"[a-z0-9]{2}\.[A-Z]", text), re.findall(r"\S*[a-z0-9]{2}\.[A-Z]\S*", text)
    contents = " ".join(pages[0].split())
    for section in ("1. Foreword", "2. Governance", "4. Deaths notified and reviews completed",
                    "5. Notifying the National Child Mortality Database",
                    "6. Time from death to completion of the review",
                    "7. Category of death and modifiable factors", "Modifiable factors by domain",
                    "10. Since the panel began", "11. Learning themes",
                    "12. Recommendations and the actions taken", "13. Comparison with England"):
        assert section in contents, section
        assert section in " ".join(" ".join(p.split()) for p in pages[1:]), section
    for phrase in ("Chair; Director of Public Health", "Deaths per 100,000 children",
                   "Action taken by 31 March", "3 years pooled", "No modifiable factors",
                   "Insufficient information"):
        assert phrase in joined, phrase


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
    assert "public edition email: queued for safeguarding.partnership@example.gov.uk" in result.stdout
    assert "confidential edition email: queued for cdrp.partners@example.nhs.net" in result.stdout
    # An unchanged rebuild says so, and does not claim to queue anything.
    again = cli("annual-report", "build", "--year", "2026", "--today", "2026-06-03")
    assert again.returncode == 0, again.stderr
    assert "(unchanged since the last build)" in again.stdout
    assert "queued for" not in again.stdout
    assert again.stdout.count("already queued by an earlier build, not sent yet (nothing new queued)") == 2
    bad = cli("annual-report", "build", "--year", "2027", "--today", "2026-06-02")
    assert bad.returncode == 2 and "field 'year'" in bad.stderr


def test_every_table_of_the_demo_history_is_protected(settings):
    """The interval audit over every table of five years of the demo's history, each
    year's tables together (single-year, pooled, since the panel began): every hidden
    count could be any of at least 7 values. The demo's category row "Chromosomal,
    genetic and congenital anomalies" (15 reviews, 13 without modifiable factors) used to
    publish 13 and 15 and hide two cells summing to 2 -- each exactly 1 to a reader who
    knows zeros are shown."""
    import csv as csv_module

    from cdop.intake.agencies import import_agencies
    from tests.conftest import ROOT

    with (ROOT / "include/cdop/data/demo_agencies.csv").open(newline="") as fh:
        import_agencies(settings, list(csv_module.DictReader(fh)))
    from cdop.dev.demo_history import load_demo_history

    load_demo_history(settings, today=D(2026, 11, 26))
    row = "Chromosomal, genetic and congenital anomalies"
    with unit_of_work(settings) as uow:
        for year in range(2022, 2027):
            content = build_content(extract(uow.session, year), area_name="Demo", threshold=7)
            assert not content.empty
            for table in content.tables:
                assert primary_violations(table, 7) == [], (year, table.id)
                assert determined_cells(table) == [], (year, table.id)
            assert leaks_across_tables(content.audit_tables, 7, content.links) == [], year
            found = intervals(content.audit_tables, content.links)
            assert found and all(i.width >= 7 for i in found), year
            category = content.table("category")
            r = category.rows.index(row)
            hidden = [c for c in range(3) if (r, c) in category.hidden]
            published = [category.value((r, c)) for c in range(3) if (r, c) not in category.hidden]
            # However the row is shown, what is hidden in it stays wide.
            by_key = {i.name[1]: i for i in found if i.name[0] == "key"}
            for c in hidden:
                interval = by_key[category.keys[(r, c)]]
                assert interval.width >= 7, (year, interval)
            assert hidden or all(v == 0 or v > 7 for v in published)


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


def test_meetings_ncmd_timeliness_and_factors_by_domain_come_from_the_records(settings):
    from cdop.store.models import AnalysisFactor, PanelMeeting

    ids = load_known_counts(settings)
    with unit_of_work(settings, "test") as uow:
        s = uow.session
        may = PanelMeeting(meets_on=D(2025, 8, 1), kind="general")
        dec = PanelMeeting(meets_on=D(2025, 12, 1), kind="neonatal")
        outside = PanelMeeting(meets_on=D(2026, 4, 2), kind="general")
        s.add_all([may, dec, outside])
        s.flush()
        for case_id in ids["A"]:  # ten reviews completed on 1 August 2025
            s.scalar(select(Analysis).where(Analysis.case_id == case_id)).meeting_id = may.id
        for case_id in ids["C"]:  # three on 1 December 2025
            s.scalar(select(Analysis).where(Analysis.case_id == case_id)).meeting_id = dec.id
        # NCMD: told the day after one death (in time), a week after another (late).
        first, second = (s.get(Case, i) for i in ids["B"][:2])
        first.ncmd_notified_at = dt.datetime.combine(first.date_of_death, dt.time(9)) + dt.timedelta(days=1)
        second.ncmd_notified_at = dt.datetime.combine(second.date_of_death, dt.time(9)) + dt.timedelta(days=7)
        # Modifiable factors: two reviews with a service factor that may have contributed,
        # one of them also a social one; a factor that did not contribute is not counted.
        for case_id, domain, contributed in ((ids["C"][0], "service", True),
                                             (ids["C"][0], "social", True),
                                             (ids["C"][1], "service", True),
                                             (ids["C"][2], "physical", False)):
            analysis = s.scalar(select(Analysis).where(Analysis.case_id == case_id))
            s.add(AnalysisFactor(analysis_id=analysis.id, domain=domain, factor_code="other",
                                 grade=2 if contributed else 1, notes="Factor."))
        uow.commit()
    tables = read_tables(build_annual_report(with_threshold(settings, 0), 2026, today=TODAY).directory)
    assert body(tables["meetings"]) == [["01 August 2025", "10"], ["01 December 2025 (neonatal)", "3"],
                                        ["Total", "13"]]
    # Group B died in January 2025 but was notified the day after: in the 2024/25 year.
    assert body(tables["ncmd"])[-1] == ["Total", "16", "100%"]
    with unit_of_work(settings, "test") as uow:
        for case_id in ids["open"][:2]:
            case = uow.session.get(Case, case_id)
            case.ncmd_notified_at = dt.datetime(2025, 10, 1, 8) if case_id == ids["open"][0] \
                else dt.datetime(2025, 10, 9, 8)
        uow.commit()
    tables = read_tables(build_annual_report(with_threshold(settings, 0), 2026, today=TODAY).directory)
    assert body(tables["ncmd"]) == [["Within the deadline", "1", "6%"], ["After the deadline", "1", "6%"],
                                    ["Not recorded", "14", "88%"], ["Total", "16", "100%"]]
    assert body(tables["factors"]) == [
        ["Factors intrinsic to the child", "0"],
        ["Factors in the social environment, including family and parenting capacity", "1"],
        ["Factors in the physical environment", "0"], ["Factors in service provision", "2"]]


def test_the_history_counts_are_the_reviews_counted_one_by_one(settings):
    """_history (GROUPING SETS on PostgreSQL, one GROUP BY of every column on SQLite)
    against its definition: every review read row by row and counted in Python."""
    from collections import Counter

    from cdop.annual_report.data import HISTORY_DIMENSIONS, _history, report_year_of

    load_known_counts(settings)
    end = D(2026, 3, 31)
    with unit_of_work(settings) as uow:
        history = _history(uow.session, end)
        reviews = uow.session.execute(
            select(Analysis.reviewed_on, Analysis.modifiable, Analysis.category,
                   *(getattr(Case, n) for n in HISTORY_DIMENSIONS if n != "category"))
            .join(Case, Case.id == Analysis.case_id).where(Analysis.reviewed_on <= end)).all()
    assert reviews
    others = [n for n in HISTORY_DIMENSIONS if n != "category"]
    for name in HISTORY_DIMENSIONS:
        expected = Counter()
        for row in reviews:
            value = row[2] if name == "category" else row[3 + others.index(name)]
            expected[(report_year_of(row[0]), value, row[1])] += 1
        frame = history[name]
        got = Counter({(int(y), None if v != v else v, m): int(n)  # NaN (no value) -> None
                       for y, v, m, n in frame.itertuples(index=False)})
        if name == "deprivation_decile":
            got = Counter({(y, None if v is None else int(v), m): n for (y, v, m), n in got.items()})
        assert got == expected, name
