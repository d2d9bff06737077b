"""The mail port: one `Mailer` interface; SMTP through yagmail behind it.

Messages are composed with the standard library's email classes so that the plain-text
part is real text and the HTML part real HTML (yagmail would put the same string in
both); yagmail opens the connection (TLS, STARTTLS, login). We call `sendmail` ourselves
rather than `yagmail.send`, whose own sleep-and-retry hides failures that Airflow's
retries and the outbox must see.
"""

from __future__ import annotations

import base64
import re
import secrets
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
    # The envelope's recipients when not every addressee is to get it (a message sent
    # again to those a server refused the first time): the headers still name them all.
    envelope_to: tuple[str, ...] | None = None

    def recipients(self) -> list[str]:
        if self.envelope_to is not None:
            return list(dict.fromkeys(self.envelope_to))
        return list(dict.fromkeys([*self.to, *self.cc]))


class MailError(RuntimeError):
    """A send failed; the message holds the SMTP reason, never the message content.

    `permanent` says the failure belongs to this message (the server refused it with a
    5xx, or it cannot be written as a valid email): sending it again would fail again,
    so the outbox sets it aside instead of retrying. Anything else (a dropped
    connection, a timeout, a 4xx) is transient and the message is retried.

    `outage` says the failure is the server's or the sender's, not this message's (the
    sender refused at MAIL FROM, the connection, login or TLS failed, a 421): every
    message would fail alike, so the outbox stays pending and the run fails loudly.

    `enhanced` is the reply's enhanced status code (RFC 3463, e.g. "5.1.1"), when the
    server gave one: kept as a number, never the reply's text."""

    def __init__(self, reason: str, *, permanent: bool = False, code: int | None = None,
                 outage: bool = False, enhanced: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code
        self.outage = outage
        self.enhanced = enhanced

    @property
    def about_the_message(self) -> bool:
        """Whether the failure is certainly this message's own: it cannot be written, or
        the server says so (a bad mailbox, X.1.x; the content, X.6.x). Any other refusal
        may be the server's, if it refuses every message alike (see delivery)."""
        if self.code is None:
            return True
        return self.enhanced is not None and self.enhanced.split(".")[1] in ("1", "6")


class PartlyRefused(MailError):
    """The server accepted the message for some recipients and refused it for others
    (`refused`, addresses as given): those accepted have it, and must not get it again."""

    def __init__(self, code: int, refused: tuple[str, ...]):
        super().__init__(f"refused by the server for some recipients ({code})", permanent=True, code=code)
        self.refused = refused


_ENHANCED = re.compile(rb"\s*([245]\.\d{1,3}\.\d{1,3})\b")


def _enhanced(reply: bytes | str | None) -> str | None:
    """The enhanced status code at the start of a reply's text, if any."""
    if isinstance(reply, str):
        reply = reply.encode("utf-8", "replace")
    found = _ENHANCED.match(reply or b"")
    return found.group(1).decode("ascii") if found else None


def _refusal(code: int, what: str = "", reply: bytes | str | None = None) -> MailError:
    if code >= 500:
        return MailError(f"refused by the server{what} ({code})", permanent=True, code=code,
                         enhanced=_enhanced(reply))
    return MailError(f"SMTP {code} refused the message{what}", code=code)


class Mailer(Protocol):
    def send(self, email: Email) -> None: ...

    def close(self) -> None: ...


def render_message(email: Email) -> bytes:
    """The bytes to hand to the SMTP server. A message that cannot be written is a
    permanent failure of that message, named by its kind only (the exception's text
    would repeat the offending value).

    The usual message (text and HTML parts, plain attachments, ASCII headers that fit on
    a line) is written directly as MIME, a few string joins (`_write_directly`); any other
    goes through the email package (`_write_with_email_package`), which folds and
    encodes headers and bodies as RFC 2047/2231 and quoted-printable need. Both write the
    same structure, parsed back the same (a test holds them to it). The one check the
    header registry of EmailMessage would make, no CR or LF in a header value, is made
    here for both."""
    headers = _header_values(email)
    if any("\r" in value or "\n" in value for _, value in headers):
        raise MailError("invalid header", permanent=True)
    try:
        if _directly_writable(email):
            return _write_directly(email, headers)
        return _write_with_email_package(email, headers)
    except (ValueError, TypeError, IndexError, LookupError, UnicodeError, email_errors.MessageError):
        raise MailError("invalid content", permanent=True) from None


def _write_with_email_package(email: Email, headers: list[tuple[str, str]]) -> bytes:
    """Any message, with the email package's classic (compat32) classes: multipart/
    alternative text and HTML, in multipart/mixed with attachments."""
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


# What _write_directly writes as it is: a MIME token, a plain file name, a short line.
_TOKEN = re.compile(r"[A-Za-z0-9!#$&^_.+-]+")
_PLAIN_FILENAME = re.compile(r"[A-Za-z0-9 ._()-]{1,40}")
_MAX_BODY_LINE = 990  # beyond it a body line goes quoted-printable, as set_content would
_HEADER_LINE = 78  # beyond it a header is folded (RFC 5322's SHOULD)


def _directly_writable(email: Email) -> bool:
    for text in (email.text, email.html):
        if text and len(text) > _MAX_BODY_LINE and any(
                len(line) > _MAX_BODY_LINE for line in _LINE_ENDS.split(text)):
            return False
    for att in email.attachments:
        maintype, _, subtype = att.mime_type.partition("/")
        if not (_TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype)
                and _PLAIN_FILENAME.fullmatch(att.filename)):
            return False
    return True


_LINE_ENDS = re.compile(r"\r\n|\r|\n")


def _crlf(text: str) -> str:
    return _LINE_ENDS.sub("\r\n", text)


def _boundary(*parts: str) -> str:
    while True:
        boundary = f"=_cdop_{secrets.token_hex(12)}"
        if not any(boundary in part for part in parts):
            return boundary


def _header_line(name: str, value: str) -> str:
    line = f"{name}: {value}"
    if value.isascii() and "  " not in value and "\t" not in value:
        if len(line) <= _HEADER_LINE:
            return line + "\r\n"
        folded = _fold_ascii(name, value)
        if folded is not None:
            return folded
    # Folded and RFC 2047-encoded as the email package does.
    return _WIRE_POLICY.fold_binary(name, value).decode("ascii")


def _fold_ascii(name: str, value: str) -> str | None:
    """An ASCII header folded at its single spaces into lines of at most 78 characters
    (unfolding gives the value back exactly); None if a word is too long for that."""
    lines, line = [], f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > _HEADER_LINE and line.strip() != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
        if len(line) > _HEADER_LINE:
            return None
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def _text_entity(text: str, subtype: str) -> tuple[str, str]:
    """(headers, body) of a text part: 7bit US-ASCII, or 8bit UTF-8."""
    charset, cte = ("us-ascii", "7bit") if text.isascii() else ("utf-8", "8bit")
    return (f'Content-Type: text/{subtype}; charset="{charset}"\r\n'
            f"Content-Transfer-Encoding: {cte}\r\n", _crlf(text))


def _write_directly(email: Email, headers: list[tuple[str, str]]) -> bytes:
    entities = [_text_entity(email.text, "plain")]
    if email.html:
        entities.append(_text_entity(email.html, "html"))
    boundary = _boundary(*(body for _, body in entities)) if len(entities) > 1 or email.attachments else ""
    if len(entities) > 1:
        entity_headers = f'Content-Type: multipart/alternative; boundary="{boundary}a"\r\n'
        entity_body = "".join(f"--{boundary}a\r\n{h}\r\n{b}\r\n" for h, b in entities) + f"--{boundary}a--\r\n"
    else:
        entity_headers, entity_body = entities[0]
    if email.attachments:
        parts = [f"--{boundary}m\r\n{entity_headers}\r\n{entity_body}\r\n"]
        for att in email.attachments:
            encoded = base64.encodebytes(att.content).decode("ascii").replace("\n", "\r\n")
            parts.append(f"--{boundary}m\r\nContent-Type: {att.mime_type}\r\n"
                         "Content-Transfer-Encoding: base64\r\n"
                         f'Content-Disposition: attachment; filename="{att.filename}"\r\n'
                         f"\r\n{encoded}")
        entity_headers = f'Content-Type: multipart/mixed; boundary="{boundary}m"\r\n'
        entity_body = "".join(parts) + f"--{boundary}m--\r\n"
    head = "".join(_header_line(name, value) for name, value in headers)
    return f"{head}MIME-Version: 1.0\r\n{entity_headers}\r\n{entity_body}".encode()


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


def smtp_connection(client) -> smtplib.SMTP:
    """The smtplib connection a yagmail client holds. yagmail sends only messages it builds
    itself; ours are rendered here (render_message), so they go through its connection,
    an undocumented attribute (`.smtp`, yagmail 0.16): read here only, and
    tests/unit/test_private_apis.py fails if an upgrade moves it."""
    connection = getattr(client, "smtp", None)
    if not isinstance(connection, smtplib.SMTP):
        raise MailError("the yagmail client has no SMTP connection (.smtp): check its version")
    return connection


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
            raise MailError(f"SMTP {exc.smtp_code} at connection", code=exc.smtp_code, outage=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise MailError(f"SMTP connection failed ({type(exc).__name__})", outage=True) from None
        try:
            refused = smtp_connection(self._client).sendmail(self.sender, email.recipients(), data)
        except smtplib.SMTPSenderRefused as exc:
            # Refused at MAIL FROM: our sender (or our account) is refused, whatever the
            # message; smtplib has reset the transaction (or closed it, after a 421).
            self._drop()
            raise MailError(f"the server refused the sender ({exc.smtp_code})", code=exc.smtp_code,
                            outage=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            # Every recipient refused; smtplib has reset the transaction.
            code, reply = min(exc.recipients.values())
            raise _refusal(code, reply=reply) from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and exc.smtp_code != 421:
                # This message is refused; smtplib reset the transaction, so the
                # connection goes on serving the rest of the batch.
                raise _refusal(exc.smtp_code, reply=exc.smtp_error) from None
            self._drop()
            raise MailError(f"SMTP {exc.smtp_code} refused the message", code=exc.smtp_code,
                            outage=exc.smtp_code == 421) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise MailError(f"SMTP connection failed ({type(exc).__name__})") from None
        if refused:
            raise PartlyRefused(min(code for code, _ in refused.values()), tuple(refused))

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
