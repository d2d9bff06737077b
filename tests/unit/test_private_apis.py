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


def test_airflow_api_server_internals_the_pages_use_are_still_there():
    """The operations pages resolve the user through Airflow's API server (not part of
    airflow.sdk): `get_auth_manager`, `get_user(request, token, bearer)`, and, for the
    roles FAB grants through groups, FAB's role and association tables with a session
    (cdop_airflow.ops_app.auth, .roles: each used in one function)."""
    import contextlib

    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import get_user
    from airflow.providers.fab.auth_manager.models import Role, assoc_group_role, assoc_user_group
    from airflow.utils.session import create_session

    assert callable(get_auth_manager)
    assert inspect.iscoroutinefunction(get_user)
    inspect.signature(get_user).bind(object(), None, None)  # the call in require_user
    assert {"id", "name"} <= set(Role.__table__.c.keys())
    assert {"role_id", "group_id"} <= set(assoc_group_role.c.keys())
    assert {"user_id", "group_id"} <= set(assoc_user_group.c.keys())
    assert isinstance(create_session(), contextlib.AbstractContextManager)


def test_the_data_files_the_gate_reads_from_its_packages_are_where_it_reads_them():
    """The word and name lists read data files inside their packages by path (no API
    offers them): an upgrade that moves one fails here, not as an empty list."""
    from importlib import resources

    from cdop.confidentiality import words

    paths = [*words._SOURCE_FILES, ("names_dataset", "v3/last_names.pkl.gz")]
    for package, name in paths:
        assert resources.files(package).joinpath(name).is_file(), (package, name)
    names = words._name_list()  # names-dataset's first names, ranked by country
    assert names["jason"] and names["william"] and names["grace"]  # given names in GB/IE/US
    assert "mustafa" in names and not names["mustafa"]  # a given name elsewhere (Turkey)
    assert "hospital" not in names and "the" not in names
