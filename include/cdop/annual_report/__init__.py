"""The annual report: standard tables, charts and disclosure control for the year ending
31 March, as HTML, PDF and CSVs, gate-checked and emailed through the outbox.

Modules: data (extraction with pandas), disclosure (suppression and its checker),
content (the tables and figures), charts (matplotlib), render (HTML, PDF, CSV, email),
gate (the anonymisation gate at the scale of a year), service (build, release, send).
pandas and matplotlib are imported by this package only, never at DAG import.
"""

from cdop.annual_report.service import (
    KIND,
    BuildResult,
    build_annual_report,
    due_report_year,
    release_date,
    year_directory,
)

__all__ = ["KIND", "BuildResult", "build_annual_report", "due_report_year", "release_date",
           "year_directory"]
