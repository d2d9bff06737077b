"""The storage port's three backends against one contract, on real parts: files under a
temporary CDOP_HOME, rows of the CDOP database on SQLite and PostgreSQL, and an
S3-compatible object store (moto's server mode on loopback, spoken to over HTTP by
boto3). Then a case's files end to end on the database and the object store: a return
stored, read back, replaced, checked, rotated to a new key and moved in from CDOP_HOME."""

from __future__ import annotations

import dataclasses
import secrets

import pytest
from cryptography.fernet import Fernet

from cdop import crypto
from cdop.config import ConfigError, file_store_choice
from cdop.store import files
from cdop.store.db import unit_of_work
from cdop.store.storage import DatabaseStore, LocalStore, S3Store, file_store
from tests.conftest import free_port


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 API on a loopback port, with throwaway credentials."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    import boto3

    bucket = f"cdop-{secrets.token_hex(4)}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    return s3_server, bucket


@pytest.fixture(params=["local", "database", "s3"])
def store_settings(request, settings):
    if request.param == "s3":
        endpoint, bucket = request.getfixturevalue("s3_env")
        return dataclasses.replace(settings, file_store=f"s3://{bucket}/office-a", s3_endpoint_url=endpoint)
    return dataclasses.replace(settings, file_store=request.param)


def test_each_store_keeps_replaces_lists_and_forgets_bytes(store_settings):
    store = file_store(store_settings)
    assert store.name == store_settings.file_store.split(":")[0]
    key = "files/CDOP-2026-0001/RUH/1a2b-form.docx.enc"
    with pytest.raises(FileNotFoundError):
        store.get(key)
    store.put(key, b"first")
    store.put(key, b"second")  # replaced whole
    store.put("reports/CDOP-2026-0001/v1/report.html.enc", b"report")
    assert store.get(key) == b"second" and store.exists(key)
    assert list(store.keys("files/")) == [key]
    assert sorted(store.keys()) == [key, "reports/CDOP-2026-0001/v1/report.html.enc"]
    store.delete(key)
    store.delete(key)  # deleting what is gone is fine
    assert not store.exists(key) and list(store.keys("files/")) == []


@pytest.mark.parametrize("key", ["", "/etc/passwd", "files/../../escape", "a\\b"])
def test_a_key_that_leaves_the_store_is_refused(store_settings, key):
    with pytest.raises(ValueError):
        file_store(store_settings).put(key, b"x")


def test_a_store_holds_ciphertext_only(store_settings):
    """What a store keeps (a file, a row, an object) is the encrypted token: anyone who
    reads the store reads nothing of the return."""
    settings = store_settings
    with unit_of_work(settings) as uow:
        key = files.store_encrypted(uow, settings, "files/CDOP-2026-0001/RUH", "form.docx",
                                    b"Return naming Wilhelmina Ashdown-Price")
        uow.commit()
    raw = file_store(settings).get(key)
    assert b"Wilhelmina" not in raw and crypto.decrypt_bytes(raw).startswith(b"Return naming")
    assert files.read_encrypted(settings, key) == b"Return naming Wilhelmina Ashdown-Price"


def test_a_file_written_in_a_rolled_back_unit_of_work_is_gone(store_settings):
    settings = store_settings
    with unit_of_work(settings) as uow:
        key = files.store_encrypted(uow, settings, "files/CDOP-2026-0001/RUH", "form.docx", b"never kept")
        # no commit: the row that would point at it was never written
    assert not file_store(settings).exists(key)


def test_a_replaced_file_goes_only_when_the_replacement_commits(store_settings):
    settings = store_settings
    with unit_of_work(settings) as uow:
        old = files.store_encrypted(uow, settings, "files/X/RUH", "form.docx", b"v1")
        uow.commit()
    with unit_of_work(settings) as uow:
        files.store_encrypted(uow, settings, "files/X/RUH", "form.docx", b"v2")
        files.remove_when_committed(uow, settings, old)
        # rolled back: v1 stays
    assert file_store(settings).exists(old)
    with unit_of_work(settings) as uow:
        new = files.store_encrypted(uow, settings, "files/X/RUH", "form.docx", b"v2")
        files.remove_when_committed(uow, settings, old)
        uow.commit()
    assert not file_store(settings).exists(old) and files.read_encrypted(settings, new) == b"v2"


def test_check_and_rotation_and_import_go_through_the_store(store_settings, agencies, monkeypatch):
    """A return recorded with its file: `files check` finds row and file; a key rotation
    re-encrypts the stored file under the new key; a stray object is reported."""
    from cdop.confidentiality.keys import rotate
    from cdop.requests.returns import record_return
    from tests.integration.test_files import D, _case_with_request

    settings = dataclasses.replace(agencies, file_store=store_settings.file_store,
                                   s3_endpoint_url=store_settings.s3_endpoint_url)
    number = _case_with_request(settings)
    form = settings.home.parent / "form.docx"
    form.write_bytes(b"returned form")
    record_return(settings, number, "RUH", received_on=D(2026, 4, 1), today=D(2026, 4, 1), file=form)
    [key] = store.keys("files/") if (store := file_store(settings)) else []
    store = file_store(settings)
    with unit_of_work(settings) as uow:
        assert files.check_files(uow.session, settings).clean
    store.put("files/CDOP-2099-9999/RUH/stray.pdf.enc", crypto.encrypt_bytes(b"stray"))
    with unit_of_work(settings) as uow:
        check = files.check_files(uow.session, settings)
    assert check.files_without_row == ["files/CDOP-2099-9999/RUH/stray.pdf.enc"] and not check.rows_without_file
    store.delete("files/CDOP-2099-9999/RUH/stray.pdf.enc")

    new_key = Fernet.generate_key().decode()
    rotated = dataclasses.replace(settings, encryption_keys=(new_key, *settings.encryption_keys))
    crypto.use_keys(rotated.encryption_keys)
    try:
        result = rotate(rotated)
        assert result["files"] == 1
        assert Fernet(new_key.encode()).decrypt(store.get(key)) == b"returned form"
    finally:
        crypto.use_keys(settings.encryption_keys)


def test_files_under_cdop_home_move_into_the_database_or_object_store(store_settings):
    settings = store_settings
    if settings.file_store == "local":
        assert files.import_local(settings) == (0, 0)
        return
    local = LocalStore(settings.home)
    local.put("files/CDOP-2026-0001/RUH/form.docx.enc", b"token-1")
    local.put("reports/CDOP-2026-0001/v1/r.pdf.enc", b"token-2")
    assert files.import_local(settings) == (2, 0)
    store = file_store(settings)
    assert store.get("files/CDOP-2026-0001/RUH/form.docx.enc") == b"token-1"
    assert list(local.keys("files/")) == [] and list(local.keys("reports/")) == []
    assert files.import_local(settings) == (0, 0)  # again: nothing left to move


@pytest.mark.parametrize(("value", "url", "expected"), [
    (None, "postgresql+psycopg2://x@h/db", "database"),
    (None, "sqlite:////tmp/cdop.sqlite", "local"),
    ("local", "postgresql://x@h/db", "local"),
    ("database", "sqlite:///x", "database"),
    ("s3://cdop-files/office-a", "sqlite:///x", "s3://cdop-files/office-a"),
])
def test_the_store_follows_the_database_unless_chosen(value, url, expected):
    assert file_store_choice(value, url) == expected


@pytest.mark.parametrize("value", ["disk", "s3://", "s3:///bucket", "ftp://host/x"])
def test_an_unknown_store_is_refused_naming_the_setting_not_the_value(value):
    with pytest.raises(ConfigError) as refused:
        file_store_choice(value, "sqlite:///x")
    assert "CDOP_FILE_STORE" in str(refused.value) and value not in str(refused.value).split("must")[0]


def test_the_store_classes_are_the_ones_chosen(settings):
    assert isinstance(file_store(dataclasses.replace(settings, file_store="local")), LocalStore)
    assert isinstance(file_store(dataclasses.replace(settings, file_store="database")), DatabaseStore)
    assert isinstance(file_store(dataclasses.replace(settings, file_store="s3://b/p",
                                                     s3_endpoint_url="http://127.0.0.1:1")), S3Store)
