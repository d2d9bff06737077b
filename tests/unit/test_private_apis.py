"""The private APIs of our dependencies that the code leans on, each behind one adapter:
these fail on an upgrade that renames or reshapes them, before anything reaches a user."""

from __future__ import annotations

import inspect
import smtplib

import pytest


def test_airflow_upsert_hitl_detail_takes_the_parameters_the_adapter_passes(monkeypatch):
    """The adapter's call binds to the real function's signature (a parameter renamed or
    made required upstream fails here), and the names it relies on are all still there."""
    import uuid
    from types import SimpleNamespace

    from airflow.sdk.execution_time import hitl

    from cdop_airflow import review

    real = inspect.signature(hitl.upsert_hitl_detail)
    assert tuple(real.parameters) == review.HITL_UPSERT_PARAMETERS
    calls = []
    monkeypatch.setattr(hitl, "upsert_hitl_detail", lambda *a, **kw: calls.append(real.bind(*a, **kw)))
    operator = SimpleNamespace(options=["Approve", "Return", "Later"], subject="Check", body=None,
                               defaults=["Later"], multiple=False)
    ti_id = uuid.uuid4()
    review.reset_hitl_detail(operator, ti_id)
    [bound] = calls
    assert bound.arguments["ti_id"] == ti_id and bound.arguments["params"] == {}
    assert bound.arguments["options"] == ["Approve", "Return", "Later"]


def test_yagmail_keeps_its_smtplib_connection_as_smtp(smtp_server):
    """A real yagmail client on the loopback SMTP server: the adapter finds a live smtplib
    connection where yagmail 0.16 keeps it, and the constructor takes what _connect gives."""
    import yagmail

    from cdop.mail.mailer import MailError, smtp_connection

    accepted = inspect.signature(yagmail.SMTP.__init__).parameters
    for name in ("user", "password", "host", "port", "smtp_ssl", "smtp_starttls", "smtp_skip_login",
                 "soft_email_validation"):
        assert name in accepted, name
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())  # timeout, context

    client = yagmail.SMTP(user="cdop@example.org", host="127.0.0.1", port=smtp_server.port, smtp_ssl=False,
                          smtp_starttls=False, smtp_skip_login=True, soft_email_validation=False, timeout=30)
    try:
        client.login()
        connection = smtp_connection(client)
        assert isinstance(connection, smtplib.SMTP)
        assert connection.noop()[0] == 250
    finally:
        client.close()
    with pytest.raises(MailError, match="no SMTP connection"):
        smtp_connection(object())


def test_the_blind_index_keys_are_read_through_crypto_not_its_private_name():
    """cdop.portal.tokens keys its HMACs with crypto.index_keys(): the same keys that
    blind_indexes uses, current first; no module reads crypto's private state."""
    import ast
    import hashlib
    import hmac
    from pathlib import Path

    from cryptography.fernet import Fernet

    import cdop
    from cdop import crypto
    from cdop.errors import ConfigError

    saved = crypto._keyring, crypto._index_keys
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    crypto.use_keys([new, old])
    keys = crypto.index_keys()
    assert len(keys) == 4  # each key's HKDF key, current first, then the pre-HKDF derivations
    assert keys[0] == crypto.index_key(new)
    message = crypto.normalise("Łukasz O’Neill").encode()
    assert crypto.blind_indexes("Łukasz O’Neill") == tuple(
        hmac.new(k, message, hashlib.sha256).hexdigest() for k in keys)

    root = Path(cdop.__file__).parent
    readers = []
    for path in root.rglob("*.py"):
        if path.name == "crypto.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") \
                    and isinstance(node.value, ast.Name) and node.value.id == "crypto":
                readers.append(f"{path.relative_to(root)}: crypto.{node.attr}")
    assert not readers, readers

    crypto._keyring, crypto._index_keys = None, ()
    try:
        with pytest.raises(ConfigError):
            crypto.index_keys()
    finally:
        crypto._keyring, crypto._index_keys = saved
