"""The mail port: one `Mailer` interface; SMTP through yagmail behind it.

Messages are composed with the standard library's email classes so that the plain-text
part is real text and the HTML part real HTML (yagmail would put the same string in
both); yagmail opens the connection (TLS, STARTTLS, login). We call `sendmail` ourselves
rather than `yagmail.send`, whose own sleep-and-retry hides failures that Airflow's
retries and the outbox must see.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email import charset as email_charset
from email import encoders as email_encoders
from email import errors as email_errors
from email import policy as email_policy
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Protocol

from cdop.config import SmtpSettings


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Email:
    message_id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    # Extra non-identifying headers, e.g. ("X-CDOP-Business-Date", "2027-01-04").
    headers: tuple[tuple[str, str], ...] = ()

    def recipients(self) -> list[str]:
        return list(dict.fromkeys([*self.to, *self.cc]))


class MailError(RuntimeError):
    """A send failed; the message holds the SMTP reason, never the message content.

    `permanent` says the failure belongs to this message (the server refused it with a
    5xx, or it cannot be written as a valid email): sending it again would fail again,
    so the outbox sets it aside instead of retrying. Anything else (a dropped
    connection, a timeout, a 4xx) is transient and the message is retried."""

    def __init__(self, reason: str, *, permanent: bool = False, code: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code


def _refusal(code: int, what: str = "") -> MailError:
    if code >= 500:
        return MailError(f"refused by the server{what} ({code})", permanent=True, code=code)
    return MailError(f"SMTP {code} refused the message{what}", code=code)


class Mailer(Protocol):
    def send(self, email: Email) -> None: ...

    def close(self) -> None: ...


def render_message(email: Email) -> bytes:
    """The bytes to hand to the SMTP server. A message that cannot be written is a
    permanent failure of that message, named by its kind only (the exception's text
    would repeat the offending value).

    Built with the email package's classic (compat32) classes (multipart/alternative text
    and HTML, in multipart/mixed with attachments), at a fraction of the cost of the
    header registry's EmailMessage, which parses every header again.
    The one check that registry made for us, no CR or LF in a header value, is made here."""
    headers = _header_values(email)
    if any("\r" in value or "\n" in value for _, value in headers):
        raise MailError("invalid header", permanent=True)
    try:
        body = _text_part(email.text, "plain")
        if email.html:
            alternative = MIMEMultipart("alternative")
            alternative.attach(body)
            alternative.attach(_text_part(email.html, "html"))
            body = alternative
        if email.attachments:
            mixed = MIMEMultipart("mixed")
            mixed.attach(body)
            for att in email.attachments:
                mixed.attach(_attachment_part(att))
            body = mixed
        for name, value in headers:
            body[name] = value
        return body.as_bytes(policy=_WIRE_POLICY)
    except (ValueError, TypeError, IndexError, LookupError, email_errors.MessageError):
        raise MailError("invalid content", permanent=True) from None


# Generation without re-parsing headers; CRLF line ends as SMTP wants them.
_WIRE_POLICY = email_policy.compat32.clone(linesep="\r\n")
_UTF8_8BIT = email_charset.Charset("utf-8")
_UTF8_8BIT.body_encoding = None  # 7bit or 8bit, as EmailMessage.set_content would choose
_UTF8_QP = email_charset.Charset("utf-8")
_UTF8_QP.body_encoding = email_charset.QP


def _header_values(email: Email) -> list[tuple[str, str]]:
    values = [("Message-ID", email.message_id), ("Date", formatdate(localtime=False)),
              ("From", email.sender), ("To", ", ".join(email.to))]
    if email.cc:
        values.append(("Cc", ", ".join(email.cc)))
    values.append(("Subject", email.subject))
    values.extend(email.headers)
    return [(str(name), str(value)) for name, value in values]


def _text_part(text: str, subtype: str) -> MIMEText:
    # A line longer than SMTP allows (998) goes quoted-printable, as set_content would.
    long_line = any(len(line) > 990 for line in text.splitlines())
    if not long_line and text.isascii():
        return MIMEText(text, subtype, "us-ascii")
    return MIMEText(text, subtype, _UTF8_QP if long_line else _UTF8_8BIT)


def _attachment_part(att: Attachment) -> MIMEBase:
    maintype, _, subtype = att.mime_type.partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    part.set_payload(att.content)
    email_encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=att.filename)
    return part


class SmtpMailer:
    """Keeps one connection open across a batch and reconnects after a drop."""

    def __init__(self, settings: SmtpSettings, sender: str):
        settings.check()
        self.settings = settings
        self.sender = sender
        self._client = None

    def _connect(self):
        import yagmail

        s = self.settings
        # TLS that authenticates the relay: the system's CA store (or CDOP_SMTP_CA_FILE),
        # hostname checked; smtplib on its own would accept any certificate.
        context = ssl.create_default_context(cafile=s.ca_file) if s.security != "none" else None
        client = yagmail.SMTP(
            user=s.user or self.sender,
            password=s.password,
            host=s.host,
            port=s.port,
            smtp_ssl=s.security == "tls",
            smtp_starttls={"context": context} if s.security == "starttls" else False,
            smtp_skip_login=s.user is None,
            soft_email_validation=False,
            timeout=s.timeout,
            **({"context": context} if s.security == "tls" else {}),
        )
        client.login()
        return client

    def send(self, email: Email) -> None:
        data = render_message(email)  # before connecting: a bad message is its own fault
        try:
            if self._client is None:
                self._client = self._connect()
        except smtplib.SMTPResponseException as exc:
            # Refused at connection or login: the server's state, not this message's.
            self._drop()
            raise MailError(f"SMTP {exc.smtp_code} at connection", code=exc.smtp_code) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise MailError(f"SMTP connection failed ({type(exc).__name__})") from None
        try:
            refused = self._client.smtp.sendmail(self.sender, email.recipients(), data)
        except smtplib.SMTPRecipientsRefused as exc:
            # Every recipient refused; smtplib has reset the transaction.
            raise _refusal(min(code for code, _ in exc.recipients.values())) from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and exc.smtp_code != 421:
                # This message is refused; smtplib reset the transaction, so the
                # connection goes on serving the rest of the batch.
                raise _refusal(exc.smtp_code) from None
            self._drop()
            raise MailError(f"SMTP {exc.smtp_code} refused the message", code=exc.smtp_code) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise MailError(f"SMTP connection failed ({type(exc).__name__})") from None
        if refused:
            raise _refusal(min(code for code, _ in refused.values()), " for some recipients")

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # the connection is already gone
                pass

    def close(self) -> None:
        self._drop()


class RecordingMailer:
    """An in-memory mailer for unit tests. It writes each message as the SMTP mailer
    would (so an invalid header fails here too); `fail_on` names the calls (1-based) that
    fail, as a dropped connection or with the MailError given."""

    def __init__(self, fail_on: set[int] | dict[int, MailError] | None = None):
        self.sent: list[Email] = []
        self.fail_on = fail_on or set()
        self.calls = 0

    def send(self, email: Email) -> None:
        self.calls += 1
        if self.calls in self.fail_on:
            if isinstance(self.fail_on, dict):
                raise self.fail_on[self.calls]
            raise MailError("SMTP connection failed (test)")
        render_message(email)
        self.sent.append(email)

    def close(self) -> None:
        pass
