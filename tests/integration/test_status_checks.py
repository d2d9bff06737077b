"""A misspelt status cannot be stored, on SQLite and PostgreSQL: every status column has a
CHECK constraint built from its StrEnum (cdop.store.statuses, migration 0023_status_checks),
and the migration adds them over existing rows without changing one, or stops, naming the
table and the count, when a row holds a status no code writes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from cdop.config import settings_from_env
from cdop.store.db import downgrade, make_engine, migrate, unit_of_work
from cdop.store.models import Agency, AgencyRequest, Base, Case, Investigation, PortalForm
from cdop.store.statuses import STATUS_COLUMNS, RequestStatus
from tests.conftest import OFFICE_POLICY, TEST_KEY
from tests.support.chasing import notify

MODELS = {m.__tablename__: m for m in (mapper.class_ for mapper in Base.registry.mappers)}


def _a_row(table) -> dict:
    """Every column a row must have, filled with a plain value of its type."""
    row = {}
    for column in table.columns:
        if column.primary_key or column.nullable or column.default is not None or column.server_default is not None:
            continue
        kind = column.type
        row[column.name] = (1 if isinstance(kind, Integer) else False if isinstance(kind, Boolean)
                            else dt.date(2026, 1, 2) if isinstance(kind, Date)
                            else dt.datetime(2026, 1, 2, 9) if isinstance(kind, DateTime)
                            else [] if isinstance(kind, JSON) else "x")
    return row | ({"severity": "stop"} if "severity" in row else {})  # held_findings' other check


def test_a_misspelt_status_cannot_be_stored_in_any_status_column(settings):
    engine = make_engine(settings)
    for (table_name, column), values in STATUS_COLUMNS.items():
        table = MODELS[table_name].__table__
        assert "misspelt" not in {v.value for v in values}
        with engine.connect() as conn:
            with pytest.raises(IntegrityError) as refused:
                conn.execute(table.insert().values(_a_row(table) | {column: "misspelt"}))
            conn.rollback()
        # Refused for its status, not for anything else in the row.
        assert f"ck_{table_name}_{column}" in str(refused.value.orig), table_name
        with engine.connect() as conn:
            assert conn.execute(select(table.c.id)).first() is None, table_name


def test_the_services_rows_refuse_a_misspelt_status_and_keep_their_own(agencies):
    number, _ = notify(agencies, ["RUH"], on=dt.date(2026, 11, 13), investigations=["post_mortem"])
    for model, typo in ((AgencyRequest, "snet"), (Investigation, "concluded ")):
        with pytest.raises(IntegrityError), unit_of_work(agencies) as uow:
            uow.session.execute(update(model).values(status=typo))
            uow.commit()
    with unit_of_work(agencies) as uow:
        assert [r.status for r in uow.session.scalars(select(AgencyRequest))] == [RequestStatus.PENDING]
        assert [i.status for i in uow.session.scalars(select(Investigation))] == ["not_started"]


def _empty_settings(tmp_path, database_url):
    return settings_from_env({"CDOP_HOME": str(tmp_path / "home"), "CDOP_DATABASE_URL": database_url,
                              "CDOP_ENCRYPTION_KEYS": TEST_KEY, "CDOP_POLICY_FILE": OFFICE_POLICY})


def _seed_at_0020(settings) -> None:
    """Rows as 0020 left them (its schema is the models' but for the checks): a case, its
    agency's request returned, a process under way, the agency's form reopened."""
    with unit_of_work(settings) as uow:
        case = Case(case_number="CDOP-2026-0001", forenames="Fictional", surname="Child",
                    date_of_birth="2024-01-01", identity_index="i", date_of_death=dt.date(2026, 1, 1),
                    age_at_death_days=731, age_band="1-4 years", sex="female", ethnicity="not_stated",
                    place_of_death="hospital", death_expected=False, notified_on=dt.date(2026, 1, 2))
        agency = Agency(code="GP", name="A practice", agency_type="gp", request_email="gp@example.nhs.net")
        uow.session.add_all([case, agency])
        uow.session.flush()
        request = AgencyRequest(case_id=case.id, agency_id=agency.id, status="returned")
        uow.session.add_all([request, Investigation(case_id=case.id, kind="post_mortem", status="in_progress")])
        uow.session.flush()
        uow.session.add(PortalForm(request_id=request.id, status="reopened"))
        uow.commit()


def _statuses(settings) -> dict:
    with make_engine(settings).connect() as conn:
        return {t: conn.execute(text(f"SELECT status FROM {t}")).scalar()
                for t in ("agency_requests", "investigations", "portal_forms")}


def test_0021_adds_the_checks_over_existing_rows_and_downgrade_removes_them(tmp_path, database_url):
    settings = _empty_settings(tmp_path, database_url)
    migrate(settings, "0020_outbox_outcomes")
    _seed_at_0020(settings)
    before = _statuses(settings)

    migrate(settings)

    assert _statuses(settings) == before == {"agency_requests": "returned", "investigations": "in_progress",
                                             "portal_forms": "reopened"}
    with make_engine(settings).connect() as conn:
        checks = {t: {c["name"] for c in inspect(conn).get_check_constraints(t)} for t, _ in STATUS_COLUMNS}
        assert all(f"ck_{t}_status" in names for t, names in checks.items()), checks
        with pytest.raises(IntegrityError):
            conn.execute(text("UPDATE agency_requests SET status = 'Returned'"))
        conn.rollback()

    downgrade(settings, "0020_outbox_outcomes")

    with make_engine(settings).begin() as conn:
        conn.execute(text("UPDATE agency_requests SET status = 'Returned'"))  # no check any more
        conn.execute(text("UPDATE agency_requests SET status = 'returned'"))
    migrate(settings)
    assert _statuses(settings) == before


def test_0021_stops_on_a_status_no_code_writes_naming_the_table_and_changing_nothing(tmp_path, database_url):
    settings = _empty_settings(tmp_path, database_url)
    migrate(settings, "0020_outbox_outcomes")
    _seed_at_0020(settings)
    with make_engine(settings).begin() as conn:
        conn.execute(text("UPDATE investigations SET status = 'complete'"))

    with pytest.raises(RuntimeError) as stopped:
        migrate(settings)

    assert "investigations (1 rows)" in str(stopped.value) and "complete'" not in str(stopped.value)
    with make_engine(settings).connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0020_outbox_outcomes"
        assert conn.execute(text("SELECT status FROM investigations")).scalar() == "complete"
