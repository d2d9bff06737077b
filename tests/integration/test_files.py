"""Stored files and their rows (issue 11, item 5), on SQLite and PostgreSQL (files under
CDOP_HOME on SQLite, rows of the database on PostgreSQL: each backend's default store;
tests/integration/test_file_stores.py holds every store to the same contract): a replaced
return file is removed once the replacement commits, a file written in a unit of work
that rolls back is removed, rotation leaves no temporary file and changes nothing when the
keys cannot read the data, and `cdop files check` lists what does not match."""

from __future__ import annotations

import datetime as dt

from cryptography.fernet import Fernet
from sqlalchemy import Text, select, type_coerce

from cdop import crypto
from cdop.config import settings_from_env
from cdop.intake.notifications import register_notifications
from cdop.requests.agency_requests import KIND as REQUEST_KIND
from cdop.requests.agency_requests import plan_agency_requests
from cdop.requests.returns import record_return
from cdop.store import files
from cdop.store.db import unit_of_work
from cdop.store.models import AgencyRequest, Case
from cdop.store.storage import file_store
from cdop_airflow.sending import send_pending
from tests.conftest import cli

D = dt.date
CHILD = {"forenames": "Søren", "surname": "O’Neill-Weiß", "date_of_birth": "2021-06-09",
         "date_of_death": "2026-03-01", "sex": "male", "place_of_death": "hospital", "expected": "no",
         "agencies": ["RUH"], "notified_on": "2026-03-02"}


def _case_with_request(settings) -> str:
    [number] = register_notifications(settings, [CHILD], today=D(2026, 3, 2), first_row=None)
    plan_agency_requests(settings, D(2026, 3, 3))
    send_pending(settings, kinds=[REQUEST_KIND])
    return number


def _stored(settings) -> list[str]:
    return sorted(file_store(settings).keys("files/"))


def test_a_reuploaded_return_file_replaces_the_earlier_one(agencies, tmp_path):
    number = _case_with_request(agencies)
    for attempt in range(3):  # the same name twice, then another
        form = tmp_path / ("form.docx" if attempt < 2 else "form-corrected.docx")
        form.write_bytes(f"returned form, version {attempt}".encode())
        record_return(agencies, number, "RUH", received_on=D(2026, 4, 1), today=D(2026, 4, 1), file=form)
    [path] = _stored(agencies)
    assert path.startswith(f"files/{number}/RUH/") and path.endswith(f"-{number}-RUH-return.docx.enc")
    assert "form-corrected" not in path  # the agency's own file name is never kept
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(AgencyRequest.return_file)) == path
    assert crypto.decrypt_bytes(file_store(agencies).get(path)) == b"returned form, version 2"
    if agencies.file_store == "local":
        assert oct((agencies.home / path).stat().st_mode & 0o777) == "0o600"
    checked = cli("files", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every stored file has its row" in checked.stdout


def test_a_file_written_in_a_unit_of_work_that_rolls_back_is_removed(agencies):
    number = _case_with_request(agencies)
    record_return(agencies, number, "RUH", received_on=D(2026, 4, 1), today=D(2026, 4, 1))
    with unit_of_work(agencies) as uow:
        kept = files.store_encrypted(uow, agencies, f"files/{number}/RUH", "form.pdf", b"first")
        uow.session.scalar(select(AgencyRequest)).return_file = kept
        uow.commit()
    with unit_of_work(agencies) as uow:
        request = uow.session.scalar(select(AgencyRequest))
        new = files.store_encrypted(uow, agencies, f"files/{number}/RUH", "form.pdf", b"second")
        files.remove_when_committed(uow, agencies, request.return_file)
        request.return_file = new
        assert file_store(agencies).exists(new) or file_store(agencies).transactional
        # no commit: the unit of work rolls back
    assert _stored(agencies) == [kept]
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(AgencyRequest.return_file)) == kept


def test_files_check_lists_files_without_rows_and_rows_without_files(agencies, tmp_path):
    number = _case_with_request(agencies)
    form = tmp_path / "form.pdf"
    form.write_bytes(b"%PDF-1.4 returned")
    record_return(agencies, number, "RUH", received_on=D(2026, 4, 1), today=D(2026, 4, 1), file=form)
    [path] = _stored(agencies)
    store = file_store(agencies)
    store.put(f"files/{number}/RUH/stray.pdf.enc", crypto.encrypt_bytes(b"nobody points here"))
    store.delete(path)  # moved away

    result = cli("files", "check")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"stored file with no row: files/{number}/RUH/stray.pdf.enc" in lines
    assert f"row with no file: return file of {number} from RUH: {path}" in lines
    assert "Søren" not in result.stdout and "Neill" not in result.stdout and str(agencies.home) not in result.stdout


def test_rotation_leaves_no_temporary_file_and_cleans_up_a_killed_one(agencies, env):
    number = _case_with_request(agencies)
    stored = agencies.home / "files" / number / "RUH" / "form.docx.enc"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(crypto.encrypt_bytes(b"returned form"))
    # What a rotation killed mid-file leaves (the old name and the current one).
    (stored.parent / "form.docx.enc.rotating").write_bytes(b"half a token")
    (stored.parent / f".form.docx.enc.1a2b3c4d{files.PARTIAL}").write_bytes(b"half a token")
    new_key = Fernet.generate_key().decode()
    result = cli("keys", "rotate", env_extra={"CDOP_ENCRYPTION_KEYS": f"{new_key},{env['CDOP_ENCRYPTION_KEYS']}"})
    assert result.returncode == 0, result.stderr
    assert "re-encrypted" in result.stdout
    assert [p.name for p in stored.parent.iterdir()] == ["form.docx.enc"]
    assert Fernet(new_key.encode()).decrypt(stored.read_bytes()) == b"returned form"
    crypto.use_keys(agencies.encryption_keys)


def test_rotation_with_keys_that_cannot_read_the_data_changes_nothing(agencies, env):
    number = _case_with_request(agencies)
    stored = agencies.home / "files" / number / "RUH" / "form.docx.enc"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(crypto.encrypt_bytes(b"returned form"))
    file_before = stored.read_bytes()
    with unit_of_work(agencies) as uow:
        tokens_before = uow.session.execute(select(type_coerce(Case.surname, Text), Case.identity_index)).all()

    wrong = Fernet.generate_key().decode()
    result = cli("keys", "rotate", env_extra={"CDOP_ENCRYPTION_KEYS": wrong})
    assert result.returncode == 2
    assert "cannot be decrypted with the configured CDOP_ENCRYPTION_KEYS; nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr and "InvalidToken" not in result.stderr
    assert stored.read_bytes() == file_before
    # A file alone unreadable (the fields are fine) stops it before anything is written too.
    stored.write_bytes(Fernet(wrong.encode()).encrypt(b"under a key we do not have"))
    file_before = stored.read_bytes()
    new_key = Fernet.generate_key().decode()
    result = cli("keys", "rotate", env_extra={"CDOP_ENCRYPTION_KEYS": f"{new_key},{env['CDOP_ENCRYPTION_KEYS']}"})
    assert result.returncode == 2 and f"the file files/{number}/RUH/form.docx.enc cannot be decrypted" in result.stderr
    assert stored.read_bytes() == file_before
    same = settings_from_env(env)
    crypto.use_keys(same.encryption_keys)
    with unit_of_work(same) as uow:
        assert uow.session.execute(select(type_coerce(Case.surname, Text), Case.identity_index)).all() == tokens_before
