"""Rendering: a self-contained HTML report (charts embedded as base64 PNG), its PDF
(xhtml2pdf), every table as CSV with suppression applied, and the covering email."""

from __future__ import annotations

import base64
import csv
import io

from cdop.annual_report.content import ReportContent
from cdop.annual_report.disclosure import MARKER, Table
from cdop.config import Policy
from cdop.mail.templating import render


def table_html(table: Table) -> str:
    return render("annual_report/table.html.j2", table=table, header=table.header(),
                  rows=table.published_rows())


def report_html(content: ReportContent, charts: dict[str, bytes], version: int | None) -> str:
    from cdop.annual_report.content import CONFIDENTIAL, LEARNING_ITEMS
    from cdop.annual_report.data import year_label

    sources = list(dict.fromkeys(row["source"] for row in content.national))
    return render(
        "annual_report/report.html.j2",
        confidential=content.edition == CONFIDENTIAL, pooled=content.pooled,
        has={t.id for t in content.tables}, rates=content.rates,
        national_note=content.national_note, governance=content.governance,
        meetings_held=content.meetings_held, pool_years=content.extra.get("pool_years", 3),
        threshold_public=content.extra.get("threshold_public", content.threshold),
        rule_sentence=content.rule.sentence(), rounds=content.rule.rounds,
        rule_public=content.extra.get("rule_public", content.rule.sentence()),
        first_year_label=year_label(content.first_year) if content.first_year else None,
        area_name=content.area_name, year=content.year, label=content.label,
        start=content.start, end=content.end, version=version, threshold=content.threshold,
        marker=MARKER, empty=content.empty, headline=content.headline,
        median_days=content.median_days,
        tables={t.id: table_html(t) for t in content.tables},
        charts={name: base64.b64encode(png).decode("ascii") for name, png in charts.items()},
        learning=content.learning, learning_more=len(content.learning) >= LEARNING_ITEMS,
        recommendations_made=content.recommendations_made,
        recommendations_made_total=content.recommendations_made_total,
        national=content.national, national_sources=sources,
    )


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def table_rows(content: ReportContent) -> dict[str, list[list[str]]]:
    """Every table (file name -> rows), as published: markers, not numbers."""
    files = {f"{t.id}.csv": [t.header(), *t.published_rows()] for t in content.tables}
    files["headline.csv"] = [["Measure", "Value"], *([f.label, f.shown] for f in content.headline)]
    files["national_comparison.csv"] = (
        [["Measure", "Year", content.area_name, "England", "Source"]]
        + [[r["measure"], r["year"], r["this_area"], r["england"], r["source"]]
           for r in content.national]
    )
    files["rates.csv"] = (
        [["Year (April to March)", "Deaths notified", "Children aged 0-17", "Population estimate",
          "Deaths per 100,000 children"]]
        + [[r["year"], r["deaths"], r["children"], r["mid_year"], r["rate"]] for r in content.rates]
    )
    files["recommendations_made.csv"] = (
        [["Organisation", "Recommendation", "Due", "Status at 31 March", "Action taken by 31 March"]]
        + [[r["organisation"], r["recommendation"], r["due"], r["status"], r["action"]]
           for r in content.recommendations_made]
    )
    files["learning.csv"] = [["Learning"], *([item] for item in content.learning)]
    return files


def table_csvs(content: ReportContent) -> dict[str, str]:
    return {name: _csv(rows) for name, rows in table_rows(content).items()}


def email_subject(area_name: str, label: str, version: int, edition: str = "public") -> str:
    suffix = f" (version {version})" if version > 1 else ""
    prefix = "CONFIDENTIAL: " if edition == "confidential" else ""
    edition_name = " (confidential edition for the child death review partners)" \
        if edition == "confidential" else ""
    return f"{prefix}{area_name} Child Death Overview Panel annual report {label}{edition_name}{suffix}"


def email_context(content_summary: dict, policy: Policy) -> dict:
    """The covering email's template context, from the report's summary in its manifest."""
    return dict(content_summary, office=policy.office, marker=MARKER)


def email_bodies(content_summary: dict, policy: Policy, edition: str = "public") -> tuple[str, str]:
    """The covering email (text, html), rendered as it will be sent (for the gate)."""
    context = email_context(content_summary, policy)
    name = "annual_report_confidential" if edition == "confidential" else "annual_report"
    return render(f"email/{name}.txt.j2", **context), render(f"email/{name}.html.j2", **context)
