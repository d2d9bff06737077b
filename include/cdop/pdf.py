"""The one PDF renderer: an HTML document (case report, annual report) to PDF through
xhtml2pdf. The HTML serves browsers too, so CSS xhtml2pdf does not implement is
expected; its warnings are silenced (they never carry content)."""

from __future__ import annotations

import io
import logging


class PdfRenderFailed(RuntimeError):
    """xhtml2pdf could not render the document (the message gives a count, never content)."""


def html_to_pdf(html: str) -> bytes:
    from xhtml2pdf import pisa  # heavy: loaded only when a PDF is made

    logging.getLogger("xhtml2pdf").setLevel(logging.ERROR)
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        raise PdfRenderFailed(f"the PDF could not be rendered ({result.err} error(s))")
    return out.getvalue()
