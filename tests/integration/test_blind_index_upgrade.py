"""Blind indexes written before HKDF (keyed by sha256("cdop-blind-index:" + key)) are still
found after the upgrade, on SQLite and PostgreSQL, and `cdop keys rotate` moves them to
the HKDF key (docs/operations/keys.md, "Blind indexes")."""

import datetime as dt
import hashlib
import hmac

import pytest
from sqlalchemy import select, update

from cdop import crypto
from cdop.intake.notifications import DuplicateNotification, register_notifications
from cdop.store.db import unit_of_work
from cdop.store.models import Case

CHILD = {"forenames": "Siân", "surname": "O’Neill-Wójcik", "date_of_birth": "2019-05-05",
         "date_of_death": "2026-11-20", "nhs_number": "9434765919", "sex": "female",
         "place_of_death": "home", "expected": "no", "agencies": ["RUH"]}
# The same child notified again, spelt the way another agency writes it.
AGAIN = {**CHILD, "forenames": "SIAN", "surname": "o’neill wójcik"}
# Only the NHS number matches: found by the NHS number's index alone.
SAME_NHS = {**CHILD, "forenames": "Grace", "surname": "Hope"}
# Only the identity matches (no NHS number given).
SAME_IDENTITY = {**CHILD, "nhs_number": ""}


def _pre_hkdf(settings, *parts: str) -> str:
    """The index as the release before HKDF wrote it, under the current key."""
    key = crypto.legacy_index_key(settings.encryption_keys[0])
    message = "\x1f".join(crypto.normalise(p) for p in parts).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _indexes(settings) -> tuple[str | None, str]:
    with unit_of_work(settings) as uow:
        case = uow.session.scalar(select(Case))
        return case.nhs_index, case.identity_index


def test_indexes_written_before_hkdf_are_found_and_rotation_moves_them(agencies):
    from cdop.confidentiality.keys import rotate

    today = dt.date(2026, 11, 26)
    register_notifications(agencies, [CHILD], today=today, first_row=None)
    identity = (CHILD["forenames"], CHILD["surname"], CHILD["date_of_birth"], CHILD["date_of_death"])
    hkdf = (crypto.blind_index(CHILD["nhs_number"]), crypto.blind_index(*identity))
    assert _indexes(agencies) == hkdf
    # The database as the previous release left it: both indexes under the old derivation.
    legacy = (_pre_hkdf(agencies, CHILD["nhs_number"]), _pre_hkdf(agencies, *identity))
    assert set(legacy).isdisjoint(hkdf)
    with unit_of_work(agencies) as uow:
        uow.session.execute(update(Case).values(nhs_index=legacy[0], identity_index=legacy[1]))
        uow.commit()
    assert _indexes(agencies) == legacy

    for again in (AGAIN, SAME_NHS, SAME_IDENTITY):
        with pytest.raises(DuplicateNotification):
            register_notifications(agencies, [again], today=today, first_row=None)

    result = rotate(agencies)  # the same key: only the indexes change
    assert result["old_links"] == 0
    assert _indexes(agencies) == hkdf
    for again in (AGAIN, SAME_NHS, SAME_IDENTITY):
        with pytest.raises(DuplicateNotification):
            register_notifications(agencies, [again], today=today, first_row=None)
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(Case.case_number)) == "CDOP-2026-0001"
        assert len(uow.session.scalars(select(Case.id)).all()) == 1
