"""Key rotation and the demo loader, on real databases."""

import datetime as dt

from cryptography.fernet import Fernet
from sqlalchemy import Text, func, select, type_coerce

from cdop.confidentiality import crypto
from cdop.config import settings_from_env
from cdop.dev.demo import load_demo
from cdop.intake.notifications import register_notifications
from cdop.rules.stages import case_stage
from cdop.store.db import unit_of_work
from cdop.store.models import Case, OutboxMessage

CHILD = {"forenames": "Ottilie", "surname": "Fenwright", "date_of_birth": "2019-05-05",
         "date_of_death": "2026-11-20", "nhs_number": "9434765919", "sex": "female",
         "place_of_death": "home", "expected": "no", "agencies": ["RUH"]}


def test_rotation_reencrypts_under_the_new_key_and_keeps_duplicate_detection(agencies, env):
    register_notifications(agencies, [CHILD], today=dt.date(2026, 11, 26), first_row=None)
    stored = agencies.home / "files" / "CDOP-2026-0001" / "RUH" / "form.docx.enc"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(crypto.encrypt_bytes(b"returned form"))
    new_key = Fernet.generate_key().decode()
    rotated = settings_from_env({**env, "CDOP_ENCRYPTION_KEYS": f"{new_key},{env['CDOP_ENCRYPTION_KEYS']}"})
    from cdop.confidentiality.keys import rotate

    assert rotate(rotated) == {"rows": 1, "files": 1}
    assert Fernet(new_key.encode()).decrypt(stored.read_bytes()) == b"returned form"
    only_new = settings_from_env({**env, "CDOP_ENCRYPTION_KEYS": new_key})
    from cdop.store.db import make_engine

    make_engine(only_new)  # installs only the new key
    with unit_of_work(only_new) as uow:
        case = uow.session.scalar(select(Case))
        assert case.surname == "Fenwright" and case.nhs_number == "9434765919"
        token = uow.session.scalar(select(type_coerce(Case.surname, Text)))
        assert Fernet(new_key.encode()).decrypt(token.encode()) == b"Fenwright"
    import pytest

    from cdop.intake.notifications import DuplicateNotification

    with pytest.raises(DuplicateNotification):
        register_notifications(only_new, [CHILD], today=dt.date(2026, 11, 26), first_row=None)
    crypto.use_keys(agencies.encryption_keys)


def test_demo_loads_twenty_cases_at_every_stage_once(settings):
    today = dt.date(2026, 11, 26)
    assert load_demo(settings, today=today) == "demo data loaded: 20 cases"
    assert "already loaded" in load_demo(settings, today=today)
    with unit_of_work(settings) as uow:
        cases = uow.session.scalars(select(Case)).all()
        stages = {case_stage(c).value for c in cases}
        assert len(cases) >= 20
        assert {"notified", "gathering_information", "waiting_on_investigations", "ready_for_panel"} <= stages
        # The demo history went through the outbox like real use would.
        assert uow.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sent")) > 30


def test_no_demo_identifier_is_readable_in_the_raw_database(settings):
    """Issue 2: a grep of the raw SQLite file or a pg_dump finds no child's name or NHS number."""
    import subprocess
    from pathlib import Path

    load_demo(settings, today=dt.date(2026, 11, 26))
    with unit_of_work(settings) as uow:
        secrets = {(c.surname, c.nhs_number, c.date_of_birth) for c in uow.session.scalars(select(Case))}
    url = settings.database_url
    if url.startswith("sqlite"):
        db_file = Path(url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
    else:
        raw = subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", url.rsplit("/", 1)[1]],
                             capture_output=True, check=True).stdout
    leaked = [nhs for _, nhs, _ in secrets if nhs and nhs.encode() in raw]
    leaked += [f"surname of {n}" for n, (surname, _, _) in enumerate(secrets) if f"{surname}".encode() in raw]
    assert leaked == []
