"""A local SMTP server on loopback that keeps every message it receives as an .eml file.

It is the embedded default mail server (nothing to install) and the real SMTP server the
integration and end-to-end tests talk to. It refuses to bind anything but loopback.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from cdop.private_files import private_dir, write_private


class EmlStore:
    """aiosmtpd handler: write each accepted message to `directory` as an .eml file."""

    def __init__(self, directory: Path, drop_on: set[int] | None = None,
                 answer_on: dict[int, str] | None = None, refuse: dict[str, str] | None = None,
                 hang_on: set[int] | None = None, refuse_sender: str | None = None,
                 hang_on_key: str | None = None):
        self.directory = Path(directory)
        private_dir(self.directory)  # messages on a secure route carry identifiers
        self.drop_on = set(drop_on or ())  # 1-based DATA commands to answer by hanging up
        # Fault injection for tests: 1-based DATA commands answered with this reply
        # instead of accepting (e.g. "451 try again later", "554 rejected"), and
        # recipients refused at RCPT with this reply (e.g. "550 no such user").
        self.answer_on = dict(answer_on or {})
        self.refuse = {k.lower(): v for k, v in (refuse or {}).items()}
        # DATA commands never answered (the client waits, as on a hung server); `hanging`
        # is set once one arrives, so a test knows a sender is stuck mid-batch.
        self.hang_on = set(hang_on or ())
        # The same for the message whose X-CDOP-Key header is this business key, every time.
        self.hang_on_key = hang_on_key
        self.hanging = threading.Event()
        # Every MAIL FROM answered with this reply (e.g. "550 5.7.1 sender refused").
        self.refuse_sender = refuse_sender
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            number = next(self._counter)
        if number in self.answer_on:
            return self.answer_on[number]
        key_header = f"X-CDOP-Key: {self.hang_on_key}\r\n".encode() if self.hang_on_key else None
        if number in self.hang_on or (key_header and key_header in (envelope.original_content or envelope.content or b"")):
            self.hanging.set()
            while server.transport is not None and not server.transport.is_closing():
                await asyncio.sleep(0.05)
            return "421 closing connection"
        if number in self.drop_on:
            # Hang up mid-transaction: the client sees a dropped connection, not a reply.
            server.transport.close()
            return "421 closing connection"
        name = f"{time.time_ns()}-{number:06d}.eml"
        tmp = self.directory / (name + ".tmp")
        content = envelope.original_content or envelope.content
        header = f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        write_private(tmp, header + content)
        tmp.rename(self.directory / name)
        return "250 Message accepted for delivery"


def start(directory: Path, host: str = "127.0.0.1", port: int = 8025, drop_on: set[int] | None = None,
          answer_on: dict[int, str] | None = None, refuse: dict[str, str] | None = None,
          hang_on: set[int] | None = None, refuse_sender: str | None = None,
          hang_on_key: str | None = None) -> Controller:
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise ValueError("the local SMTP sink binds only to loopback")
    controller = Controller(EmlStore(directory, drop_on, answer_on, refuse, hang_on, refuse_sender, hang_on_key),
                            hostname=host, port=port)
    controller.start()
    return controller


def read_messages(directory: Path) -> list[EmailMessage]:
    """Every .eml in `directory`, oldest first, parsed."""
    files = sorted(Path(directory).glob("*.eml"))
    return [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for f in files
    ]


def serve_forever(directory: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
    controller = start(directory, host, port)
    print(f"SMTP sink on {host}:{port}, keeping messages in {directory}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
