"""STARTTLS to a relay: the certificate is verified (a real aiosmtpd server with TLS)."""

import ssl

import pytest
from aiosmtpd.controller import Controller

from cdop.config import SmtpSettings
from cdop.dev.devcert import make_certificate
from cdop.dev.smtp_sink import EmlStore, read_messages
from cdop.mail.mailer import Email, MailError, SmtpMailer
from tests.conftest import free_port


@pytest.fixture
def tls_relay(tmp_path):
    cert_file, key_file = make_certificate(tmp_path / "certs", "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    port = free_port()
    controller = Controller(EmlStore(tmp_path / "mail"), hostname="127.0.0.1", port=port,
                            tls_context=context, require_starttls=True)
    controller.start()
    yield port, cert_file, tmp_path / "mail"
    controller.stop()


EMAIL = Email(message_id="<k@cdop.test>", sender="office@nhs.net", to=("agency@nhs.net",),
              subject="Child death review CDOP-2026-0001", text="case number only")


def test_starttls_refuses_a_relay_it_cannot_verify(tls_relay):
    port, _, mail = tls_relay
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, security="starttls"), "office@nhs.net")
    with pytest.raises(MailError, match="SSLCertVerificationError"):
        mailer.send(EMAIL)
    assert read_messages(mail) == []


def test_starttls_sends_to_a_relay_verified_by_the_configured_ca(tls_relay):
    port, cert_file, mail = tls_relay
    settings = SmtpSettings(host="127.0.0.1", port=port, security="starttls", ca_file=str(cert_file))
    mailer = SmtpMailer(settings, "office@nhs.net")
    mailer.send(EMAIL)
    mailer.close()
    [received] = read_messages(mail)
    assert received["Message-ID"] == "<k@cdop.test>"
