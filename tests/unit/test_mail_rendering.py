"""The message as written for the SMTP server: the direct writer (the usual message) and
the email package (any other) give the same message, parsed back field for field."""

from __future__ import annotations

import email
import email.policy
import itertools

import pytest

from cdop.mail import mailer
from cdop.mail.mailer import Attachment, Email, MailError, render_message

SUBJECTS = [
    "Reminder: child death review CDOP-2026-0001: information from Royal United Hospital is overdue",
    "Short subject",
    "Escalation: information from Łódź Ørsted Straße Académie is overdue",
    "It’s O'Neill-Smith’s return",
    "two  spaces and a tab\there",
    "A word too long to fold " + "x" * 90,
]
TEXTS = [
    "Dear colleague,\n\nThe return is overdue.\n",
    "No newline at the end",
    "Grace, Hope and May Ó Súilleabháin-Łukasz\r\nCRLF lines\rand a lone CR\n",
    "A line that is long " + "x" * 1200 + "\nand short again\n",
    ".a line starting with a dot\n..two\n",
    "=_cdop_ looks like a boundary\n",
]
HTMLS = [None, "<p>Dear colleague,</p>\n<p>Überfällig &amp; overdue</p>\n", "<p>" + "y" * 1000 + "</p>"]
ATTACHMENTS = [
    (),
    (Attachment("form-A.docx", b"PK\x03\x04" + bytes(range(256)) * 3,
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),),
    (Attachment("Łódź report.pdf", b"%PDF-1.7\n", "application/pdf"),
     Attachment("notes.txt", b"plain\n", "text/plain")),
]


def emails():
    # Every subject with every text; the HTML parts and attachments in turn.
    variants = itertools.cycle(itertools.product(HTMLS, ATTACHMENTS))
    for n, ((subject, text), (html, attachments)) in enumerate(zip(itertools.product(SUBJECTS, TEXTS), variants, strict=False)):
        yield Email(
            message_id=f"<{n:040d}@cdop.test>", sender="cdop.office@nhs.net",
            to=("cdr@ruh.nhs.net",) if n % 2 else tuple(f"agency{i}@example.nhs.uk" for i in range(6)),
            cc=("coordinator@nhs.net",) if n % 3 == 0 else (),
            subject=subject, text=text, html=html, attachments=attachments,
            headers=(("X-CDOP-Business-Date", "2027-01-11"), ("X-CDOP-Kind", "chase_reminder"),
                     ("X-CDOP-Key", f"CDOP-2026-{n:04d}/RUH/chase/1")))


def parsed(data: bytes) -> dict:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert not message.defects, message.defects
    parts = []
    for part in message.walk():
        assert not part.defects, part.defects
        if part.is_multipart():
            parts.append(("multipart", part.get_content_type()))
            continue
        content = part.get_content()
        if isinstance(content, str):
            content = content.replace("\r\n", "\n")
        parts.append((part.get_content_type(), part.get_filename(), content))
    headers = {name: str(message[name]) for name in
               ("Message-ID", "From", "To", "Cc", "Subject", "X-CDOP-Business-Date", "X-CDOP-Kind", "X-CDOP-Key")}
    return {"headers": headers, "parts": parts}


def written_by_email_package(message: Email) -> bytes:
    return mailer._write_with_email_package(message, mailer._header_values(message))


@pytest.mark.parametrize("message", list(emails()), ids=lambda m: m.message_id[1:41].lstrip("0") or "0")
def test_the_direct_writer_and_the_email_package_write_the_same_message(message):
    assert parsed(render_message(message)) == parsed(written_by_email_package(message))


def test_the_usual_message_is_written_directly_and_every_line_ends_in_crlf():
    reminder = Email(message_id="<1@cdop.test>", sender="cdop.office@nhs.net", to=("cdr@ruh.nhs.net",),
                     subject=SUBJECTS[0], text=TEXTS[2], html=HTMLS[1], attachments=ATTACHMENTS[1])
    assert mailer._directly_writable(reminder)
    data = render_message(reminder)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    body = email.message_from_bytes(data, policy=email.policy.default).get_body(("plain",)).get_content()
    assert "Ó Súilleabháin-Łukasz" in body


def test_a_long_line_or_an_unusual_attachment_name_goes_through_the_email_package():
    base = Email(message_id="<1@cdop.test>", sender="a@nhs.net", to=("b@nhs.net",), subject="s", text="t")
    assert not mailer._directly_writable(base.__class__(**{**base.__dict__, "text": TEXTS[3]}))
    assert not mailer._directly_writable(base.__class__(**{**base.__dict__, "attachments": ATTACHMENTS[2]}))


@pytest.mark.parametrize("subject", ["line\nbreak", "carriage\rreturn"])
def test_a_header_with_a_line_break_is_refused_as_the_message_own_fault(subject):
    message = Email(message_id="<1@cdop.test>", sender="a@nhs.net", to=("b@nhs.net",), subject=subject, text="t")
    with pytest.raises(MailError) as refused:
        render_message(message)
    assert refused.value.permanent and refused.value.reason == "invalid header"
