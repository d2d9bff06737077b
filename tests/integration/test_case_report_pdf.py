"""The case report's PDF is what the panel pack carries: every table must be legible.

The report is built through the real service (templates, xhtml2pdf), then each page of
the PDF is read back with pypdf, keeping where each piece of text is drawn. A chronology
row whose "When" cell is drawn over its "Agency" cell (or whose cells run into one
another) fails: each cell's text must start to the right of where the cell before it
ends, on every row of every page.
"""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader

from cdop.panel.case_reports import assemble_reports, export_report
from tests.support.panel import ready_case

D = dt.date


def _runs(page) -> list[tuple[float, float, str]]:
    """(x, y, text) of every piece of text drawn on a page, in user space."""
    runs: list[tuple[float, float, str]] = []

    def visit(text, cm, tm, _font, size):
        if text.strip():
            # The text matrix times the current matrix places the run on the page.
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append((round(x, 1), round(y, 1), text.strip()))

    page.extract_text(visitor_text=visit)
    return runs


def _width(text: str, size: float = 9.0) -> float:
    # Helvetica averages about half an em per character: a generous estimate of how far a
    # run reaches, so a cell drawn over its neighbour cannot pass as apart.
    return 0.5 * size * len(text)


def test_each_chronology_row_keeps_its_cells_apart_on_every_page(agencies, tmp_path):
    settings = agencies
    number, _ = ready_case(settings, notified=D(2026, 11, 2),
                           agencies=("RUH", "GPHC", "SCH1", "NCH"), investigations=("post_mortem", "cdrm"))
    assert assemble_reports(settings, D(2027, 1, 11))["built"] == [number]
    _html, pdf_file = export_report(settings, number, tmp_path / "out", reason="Layout check")
    reader = PdfReader(io.BytesIO(pdf_file.read_bytes()))

    rows_checked = 0
    for page_number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        runs = _runs(page)
        # A chronology row starts with its timing ("aged 3 years; 40 days before death").
        for x, y, when in [r for r in runs if r[2].startswith("aged ")]:
            # Every other run drawn on the same line as the timing: the row's other cells.
            line = sorted((rx, t) for rx, ry, t in runs if abs(ry - y) < 2 and (rx, t) != (x, when))
            # The entry's number within the case comes first, left of its timing.
            numbers = [(rx, t) for rx, t in line if t.isdigit()]
            assert numbers and numbers[0][0] + _width(numbers[0][1]) < x, (
                f"page {page_number}: a chronology row's number is missing or runs into its timing")
            beside = [(rx, t) for rx, t in line if not t.isdigit()]
            assert beside, f"page {page_number}: a chronology row has only its timing"
            agency_x, agency = beside[0]
            assert agency_x > x, f"page {page_number}: the agency is drawn left of the timing"
            assert x + _width(when) < agency_x, (
                f"page {page_number}: the timing runs into the agency column ({when!r} / {agency!r})")
            if len(beside) > 1:
                what_x, _ = beside[1]
                assert agency_x + _width(agency) < what_x, (
                    f"page {page_number}: the agency runs into 'What happened' ({agency!r})")
            assert f"{when}{agency}" not in text.replace("\n", "")
            rows_checked += 1
    # Two entries from each of the four returns, all of them found and checked.
    assert rows_checked == 8
