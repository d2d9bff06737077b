"""The completed analyses of a year as files NCMD (or the partners) can take in.

`export_ncmd(settings, year)` writes, for the analyses of reviews completed in the year
ending 31 March `year` (Analysis.reviewed_on, as the annual report counts them), one CSV
per section of the analysis form -- `analysis.csv`, `factors.csv`, `learning.csv`,
`recommendations.csv` -- plus `manifest.json` (the sections, their columns and row
counts). Cases appear by case number only; every code is the taxonomy's
(data/taxonomy.toml, data/analysis_factors.toml) beside its label. The columns are listed
in COLUMNS and documented in docs/reference/data-formats.md ("The NCMD export").

Before anything is written, the anonymisation gate (the year gate of the annual report:
every identifier of every case in the export, and what nobody recorded) scans every cell
and every file whole; a finding refuses the export naming the file and the identifier's
field, never the value, and nothing is written. The folder is 0700 and the files 0600
(cdop.private_files); a rerun writes the same bytes (rows in case-number order).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from cdop.config import Settings
from cdop.private_files import private_dir, write_private
from cdop.store.db import unit_of_work
from cdop.store.models import Analysis, AnalysisFactor, Case, PanelMeeting, Recommendation
from cdop.taxonomy import factor_codes, taxonomy
from cdop.validation import InputError, Problem

FIRST_YEAR = 2010
FORMAT_VERSION = "1"

COLUMNS: dict[str, tuple[str, ...]] = {
    "analysis.csv": ("case_number", "review_year", "meeting_date", "reviewed_on", "finalised_on",
                     "expected", "category_code", "category_label", "modifiable_code", "modifiable_label",
                     "factor_lines", "factors_graded_2"),
    "factors.csv": ("case_number", "line", "domain_code", "domain_label", "factor_code", "factor_label",
                    "grade", "grade_label", "notes"),
    "learning.csv": ("case_number", "learning"),
    "recommendations.csv": ("case_number", "recommendation", "organisation", "agreed_on", "due_on", "status",
                            "text"),
}


@dataclass(frozen=True)
class ExportResult:
    year: int
    directory: Path
    counts: dict[str, int]


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year - 1, 4, 1), dt.date(year, 3, 31)


def check_export_year(year: int, today: dt.date) -> None:
    """A year ending 31 March, from FIRST_YEAR to the one in progress on `today`."""
    latest = today.year + 1 if today >= dt.date(today.year, 4, 1) else today.year
    if not FIRST_YEAR <= year <= latest:
        raise InputError([Problem("year", f"must be a year ending 31 March between {FIRST_YEAR} and {latest}")])


def export_root(settings: Settings) -> Path:
    return settings.home / "ncmd"


def section_rows(session, year: int) -> dict[str, list[list[str]]]:
    """Every section's rows (header first) for the year: four statements in all."""
    start, end = year_bounds(year)
    tax = taxonomy()
    categories = {c["code"]: c["label"] for c in tax.categories}
    modifiable_labels = tax.labels("modifiable")
    domains = tax.labels("factor_domain")
    codes = factor_codes()
    analyses = session.execute(
        select(Analysis.id, Case.case_number, Case.death_expected, PanelMeeting.meets_on, Analysis.reviewed_on,
               Analysis.finalised_on, Analysis.category, Analysis.modifiable, Analysis.learning)
        .join(Case, Case.id == Analysis.case_id)
        .outerjoin(PanelMeeting, PanelMeeting.id == Analysis.meeting_id)
        .where(Analysis.reviewed_on >= start, Analysis.reviewed_on <= end)
        .order_by(Case.case_number)
    ).all()
    number_of = {a.id: a.case_number for a in analyses}
    lines: dict[int, list] = {a.id: [] for a in analyses}
    recs: dict[int, list] = {a.id: [] for a in analyses}
    ids = list(number_of)
    for chunk in range(0, len(ids), 900):
        part = ids[chunk: chunk + 900]
        for f in session.scalars(select(AnalysisFactor).where(AnalysisFactor.analysis_id.in_(part))
                                 .order_by(AnalysisFactor.analysis_id, AnalysisFactor.id)):
            lines[f.analysis_id].append(f)
        for r in session.scalars(select(Recommendation).where(Recommendation.analysis_id.in_(part))
                                 .order_by(Recommendation.analysis_id, Recommendation.id)):
            recs[r.analysis_id].append(r)

    label = f"{year - 1}/{str(year)[2:]}"
    out: dict[str, list[list[str]]] = {name: [list(cols)] for name, cols in COLUMNS.items()}
    for a in analyses:
        factor_lines = lines[a.id]
        graded_2 = sum(1 for f in factor_lines if f.grade == 2)
        out["analysis.csv"].append([
            a.case_number, label, _day(a.meets_on), _day(a.reviewed_on), _day(a.finalised_on),
            "yes" if a.death_expected else "no", a.category, categories.get(a.category, ""),
            a.modifiable, modifiable_labels.get(a.modifiable, ""), str(len(factor_lines)), str(graded_2)])
        for n, f in enumerate(factor_lines, start=1):
            out["factors.csv"].append([
                a.case_number, str(n), f.domain, domains.get(f.domain, ""), f.factor_code,
                codes.by_domain.get(f.domain, {}).get(f.factor_code, ""), str(f.grade),
                codes.grades.get(f.grade, ""), f.notes or ""])
        if a.learning:
            out["learning.csv"].append([a.case_number, a.learning])
        for r in recs[a.id]:
            out["recommendations.csv"].append([
                a.case_number, f"R{r.id}", r.organisation, _day(r.agreed_on), _day(r.due_on), r.status, r.text])
    return out


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def to_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def gate_findings(settings: Settings, session, year: int, sections: dict[str, list[list[str]]],
                  documents: dict[str, str], located: list | None = None) -> dict[str, list[str]]:
    """The gate over the export: {file: [identifier fields found]}; empty when clean.
    Each finding's place (file, row, column) is appended to `located` if given; what the
    coordinator released for the year's export passes."""
    from cdop.annual_report.data import scope_identifiers
    from cdop.confidentiality.detectors import office_policy
    from cdop.confidentiality.held import output_key, released_fingerprints
    from cdop.confidentiality.year_gate import ReportBlocked, YearGate

    numbers = {row[0] for name, rows in sections.items() for row in rows[1:]}
    case_ids = set(session.scalars(select(Case.id).where(Case.case_number.in_(numbers)))) if numbers else set()
    gate = YearGate(scope_identifiers(session, case_ids), policy=office_policy(settings, "annual_report"))
    try:
        gate.check_all(year, documents, tables={name: _for_gate(rows) for name, rows in sections.items()},
                       released=released_fingerprints(session, output_key(NCMD_OUTPUT, year)),
                       what="NCMD export")
    except ReportBlocked as blocked:
        if located is not None:
            located.extend(blocked.located)
        return blocked.findings
    return {}


NCMD_OUTPUT = "ncmd_export"


def _for_gate(rows: list[list[str]]) -> list[list[str]]:
    """The table as the gate reads it: every cell, with each taxonomy label (the `*_label`
    columns: the same few phrases on every row) read once, in rows of their own, rather
    than once a row -- the labels are most of a table's words and the gate's cost grows
    with the words. A label's place in its row holds a mark that is no word, so the cells
    either side do not run together into something else (a grade beside the notes reads
    as a house number: "1 Attended ...")."""
    header, body = rows[0], rows[1:]
    labels = [i for i, column in enumerate(header) if column.endswith("_label")]
    if not labels:
        return rows
    seen = sorted({row[i] for row in body for i in labels})
    return [header, *([c if i not in labels else "·" for i, c in enumerate(row)] for row in body),
            *([label] for label in seen)]


def export_ncmd(settings: Settings, year: int, *, today: dt.date, to: Path | None = None,
                actor: str | None = None) -> ExportResult:
    """Write the year's completed analyses (see the module docstring); refuses, writing
    nothing, with InputError naming each file, place and field the gate found."""
    from cdop.confidentiality.held import output_key, record_held

    check_export_year(year, today)
    with unit_of_work(settings, actor or settings.actor) as uow:
        sections = section_rows(uow.session, year)
        counts = {name: len(rows) - 1 for name, rows in sections.items()}
        texts = {name: to_csv(rows) for name, rows in sections.items()}
        manifest = json.dumps({
            "format": "cdop-ncmd-analysis", "format_version": FORMAT_VERSION, "year_ending": f"{year}-03-31",
            "sections": {name: {"columns": list(COLUMNS[name]), "rows": counts[name]} for name in COLUMNS},
            "encoding": "UTF-8, comma-separated, CRLF line ends, header row first",
        }, indent=2, sort_keys=True) + "\n"
        # Each CSV as a table: every cell on its own and the whole table (YearGate.scan_cells),
        # so its text need not be scanned a second time as a document.
        located: list = []
        findings = gate_findings(settings, uow.session, year, sections, {"manifest.json": manifest}, located)
        if findings:
            # Kept (places and kinds only) for `cdop gate held` and the held-findings page.
            record_held(uow, output_key(NCMD_OUTPUT, year), located, today)
            uow.commit()
            places: dict[str, list[str]] = {}
            for f in located:
                if f.place():
                    places.setdefault(f.document, []).append(f.place())
            raise InputError([Problem(name, f"contains an identifier ({', '.join(fields)})"
                                            + (f" at {'; '.join(dict.fromkeys(places[name]))}" if name in places else "")
                                            + ": nothing was exported; a false alarm is released with `cdop gate held`")
                              for name, fields in sorted(findings.items())])
        record_held(uow, output_key(NCMD_OUTPUT, year), (), today)
        target = Path(to) if to is not None else export_root(settings) / str(year)
        _write(target, {**texts, "manifest.json": manifest})
        uow.audit("ncmd_exported", "analysis", None, year=year, analyses=counts["analysis.csv"],
                  factors=counts["factors.csv"], recommendations=counts["recommendations.csv"])
        uow.commit()
    return ExportResult(year=year, directory=target, counts=counts)


def _write(target: Path, files: dict[str, str]) -> None:
    """All files or none: written into a private folder beside the target, then each moved
    into place (the target folder is created 0700 if missing)."""
    private_dir(target)
    staging = target / f".export-{secrets.token_hex(6)}"
    private_dir(staging)
    try:
        for name, text in files.items():
            write_private(staging / name, text.encode("utf-8"))
        for name in files:
            os.replace(staging / name, target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
