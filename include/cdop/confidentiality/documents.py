"""The gate over whole documents and messages: the text a reader sees of HTML and of a
PDF, and every part of an outgoing email (subject, text, HTML, attachments)."""

from __future__ import annotations

import html as html_lib
import io
import re

from cdop.confidentiality.gate import Gate
from cdop.mail.mailer import Email


def pdf_text(pdf: bytes) -> str:
    """The text a reader (or a search engine) would extract from a PDF."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def visible_text(html: str) -> str:
    """What a reader sees of an HTML document (entities decoded, tags dropped)."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", text))


FLAG_SUFFIX = " (flag)"


def gate_scan_document(gate: Gate, html: str, pdf: bytes | None = None) -> list[str]:
    """What stops the document: fields found, and each kind of flag not yet decided
    (e.g. "unrecorded.name (flag)"): a flagged document stays blocked until the
    coordinator decides every flag."""
    texts = [visible_text(html)] + ([pdf_text(pdf)] if pdf is not None else [])
    found = {f for t in [html, *texts] for f in gate.scan(t)}
    found |= {f.field + FLAG_SUFFIX for t in texts for f in gate.flags(t)}
    return sorted(found)


def gate_email(gate: Gate, email: Email, document: str, *, settings=None, kind: str = "email",
               allowed_dates=()) -> None:
    """Check every part of an outgoing email (subject, text, HTML, attached PDFs and text).
    With `settings`, the office's own addresses and number are what it may carry."""
    if settings is not None:
        import dataclasses

        from cdop.confidentiality.detectors import office_policy

        gate = dataclasses.replace(gate, policy=office_policy(settings, kind, allowed_dates=allowed_dates))
    texts = [email.subject, email.text]
    if email.html:
        texts += [email.html, visible_text(email.html)]
    for attachment in email.attachments:
        if attachment.mime_type == "application/pdf":
            texts.append(_cached_pdf_text(attachment.content))
        elif attachment.mime_type.startswith("text/"):
            texts.append(attachment.content.decode("utf-8", "replace"))
    gate.check(document, *texts)


_PDF_TEXT: dict[bytes, str] = {}


def _cached_pdf_text(pdf: bytes) -> str:
    """One extraction per PDF per process: a pack sends the same PDFs to every member."""
    import hashlib

    key = hashlib.sha256(pdf).digest()
    if key not in _PDF_TEXT:
        if len(_PDF_TEXT) > 256:
            _PDF_TEXT.clear()
        _PDF_TEXT[key] = pdf_text(pdf)
    return _PDF_TEXT[key]
