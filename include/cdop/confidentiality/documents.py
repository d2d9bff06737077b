"""The gate over whole documents and messages: the text a reader sees of HTML and of a
PDF, and every part of an outgoing email (subject, text, HTML, attachments)."""

from __future__ import annotations

import html as html_lib
import io
import re
from dataclasses import dataclass

from cdop.confidentiality.folding import Finding
from cdop.confidentiality.gate import Gate, IdentifierFound
from cdop.mail.mailer import Email

FLAG_SUFFIX = " (flag)"

# For an email of each document kind, the documents whose "not an identifier" decisions
# it honours: its own, and those its free text was entered in (a recommendation's text
# with the analysis's learning, its progress; a returned report's comments).
EMAIL_SOURCES = {
    "recommendation": ("recommendation", "learning", "progress"),
    "notice": ("notice", "case_report"),
}


def pdf_text(pdf: bytes) -> str:
    """The text a reader (or a search engine) would extract from a PDF."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def visible_text(html: str) -> str:
    """What a reader sees of an HTML document (entities decoded, tags dropped)."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", text))



def gate_scan_document(gate: Gate, html: str, pdf: bytes | None = None) -> list[str]:
    """What stops the document: fields found, and each kind of flag not yet decided
    (e.g. "unrecorded.name (flag)"): a flagged document stays blocked until the
    coordinator decides every flag."""
    texts = [visible_text(html)] + ([pdf_text(pdf)] if pdf is not None else [])
    found = {f for t in [html, *texts] for f in gate.scan(t)}
    found |= {f.field + FLAG_SUFFIX for t in texts for f in gate.flags(t)}
    return sorted(found)


class EmailBlocked(IdentifierFound):
    """An outgoing email the gate stops, with each finding's place: the part of the
    message (subject, body, attachment N), its line and the field -- never the value.
    The outbox holds the message; `cdop gate held` lists the places."""

    def __init__(self, document: str, fields: list[str], located: list):
        super().__init__(document, fields)
        self.located = located
        if located:
            shown = "; ".join(f.describe() for f in located[:10])
            self.args = (f"{self.args[0]} -- where: {shown}",)


def _stops(gate: Gate, text: str, released: frozenset[str]) -> list[Finding]:
    """The findings of `text` that stop a message: not one released as a false alarm."""
    from cdop.confidentiality.held import is_released

    if not text:
        return []
    return [f for f in gate.findings(text) if f.severity == "stop" and not is_released(f, text, released)]


def _located(gate: Gate, parts: list[tuple[str, str]], released: frozenset[str] = frozenset()) -> list:
    from cdop.confidentiality.held import locate_text

    located = []
    for name, text in parts:
        if name == "HTML body":
            continue  # its words are placed in the body as read
        located += locate_text(name, text, _stops(gate, text, released))
    return located


@dataclass(frozen=True)
class Flag:
    """A flag in one free text an email was composed from (for the coordinator's screen)."""

    part: int  # index into the free texts the email was composed from
    text: str
    finding: Finding


class FlagsHeld(IdentifierFound):
    """The free text an email was composed from names someone nobody recorded: the
    message is held (the outbox's "held" state) until the coordinator decides each flag
    (`cdop gate held`, `cdop gate resolve`). `kind` is the document kind the decisions
    are recorded under; `flags` (never in the message) hold the texts."""

    def __init__(self, document: str, kind: str, flags: list[Flag]):
        super().__init__(document, sorted({f.finding.field + FLAG_SUFFIX for f in flags}))
        self.kind = kind
        self.flags = flags


def gate_email(gate: Gate, email: Email, document: str, *, settings=None, kind: str = "email",
               allowed_dates=(), free_text=(), released: frozenset[str] = frozenset()) -> None:
    """Check every part of an outgoing email (subject, text, HTML, attached PDFs and text).
    With `settings`, the office's own addresses and number are what it may carry.

    `free_text` are the texts the email was composed from that someone typed
    (a recommendation, its progress, a coordinator's comments): a flag in one of them
    (a name nobody recorded) holds the message for the coordinator (FlagsHeld). Only
    these: the rendered email also greets its recipient by name.

    `released` are the fingerprints the coordinator let through as false alarms: a
    finding held on this message and released with a reason (`cdop gate release`), or,
    in a panel pack, a replacement undone on the case report's check page. Such a text
    stops nothing here."""
    if settings is not None:
        import dataclasses

        from cdop.confidentiality.detectors import office_policy

        gate = dataclasses.replace(gate, policy=office_policy(settings, kind, allowed_dates=allowed_dates))
    parts = [("subject", email.subject), ("text body", email.text)]
    if email.html:
        parts += [("HTML body", email.html), ("HTML body as read", visible_text(email.html))]
    for number, attachment in enumerate(email.attachments, start=1):
        if attachment.mime_type == "application/pdf":
            parts.append((f"attachment {number} (PDF)", _cached_pdf_text(attachment.content)))
        elif attachment.mime_type.startswith("text/"):
            parts.append((f"attachment {number} (text)", attachment.content.decode("utf-8", "replace")))
    if fields := sorted({f.field for _, text in parts for f in _stops(gate, text, released)}):
        raise EmailBlocked(document, fields, _located(gate, parts, released))
    flags = [Flag(i, text, f) for i, text in enumerate(free_text) if text for f in gate.flags(text)]
    if flags:
        raise FlagsHeld(document, kind, flags)


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
