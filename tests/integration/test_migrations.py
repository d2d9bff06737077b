"""The Alembic migrations: one head, a schema that matches the models on SQLite and
PostgreSQL, and a way back down."""

from __future__ import annotations

import datetime as dt
import pprint

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Column, DefaultClause, Table, func, inspect, select

from cdop.config import Settings, settings_from_env
from cdop.store.db import alembic_config, dispose_engines, make_engine, migrate, unit_of_work
from cdop.store.models import Agency, AgencyRequest, Base, Case
from tests.conftest import TEST_KEY


def make_settings(tmp_path, database_url: str) -> Settings:
    return settings_from_env(
        {
            "CDOP_HOME": str(tmp_path / "home"),
            "CDOP_DATABASE_URL": database_url,
            "CDOP_ENCRYPTION_KEYS": TEST_KEY,
        }
    )


@pytest.fixture
def empty_settings(tmp_path, database_url) -> Settings:
    """Settings for an empty, unmigrated CDOP database on each backend."""
    return make_settings(tmp_path, database_url)


@pytest.fixture
def sqlite_settings(tmp_path):
    yield make_settings(tmp_path, f"sqlite:///{tmp_path / 'cdop.sqlite'}")
    dispose_engines()


def script_heads(settings: Settings) -> list[str]:
    return ScriptDirectory.from_config(alembic_config(settings)).get_heads()


def current_revisions(settings: Settings) -> set[str]:
    with make_engine(settings).connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def downgrade(settings: Settings, revision: str) -> None:
    cfg = alembic_config(settings)
    with make_engine(settings).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def compare_server_default(context, inspected_column, metadata_column, inspected_default,
                           metadata_default, rendered_metadata_default):
    """PostgreSQL has no `=` for json, so Alembic's own check (SELECT a = b) fails on a
    JSON column's default: compare those as text, without the cast the server adds.
    Every other column is left to Alembic (None)."""
    if not isinstance(metadata_column.type, JSON):
        return None
    def bare(text):
        return (text or "").split("::")[0].strip().strip("'")
    return bare(inspected_default) != bare(rendered_metadata_default)


def schema_diff(settings: Settings) -> list:
    with make_engine(settings).connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": compare_server_default}
        )
        return compare_metadata(context, Base.metadata)


def readable(item):
    """The diff with its SQLAlchemy objects (whose reprs hide the detail) spelled out."""
    if isinstance(item, list | tuple):
        return type(item)(readable(i) for i in item)
    if isinstance(item, DefaultClause):
        return f"DEFAULT {getattr(item.arg, 'text', item.arg)}"
    if isinstance(item, Table):
        return f"table {item.name}"
    if isinstance(item, Column):
        return f"column {item.table.name}.{item.name} {item.type}"
    return item


def add_case_with_request(settings: Settings, number: str) -> None:
    with unit_of_work(settings) as uow:
        case = Case(
            case_number=number,
            forenames="Fictional",
            surname="Child",
            date_of_birth="2025-01-01",
            identity_index=f"idx-{number}",
            date_of_death=dt.date(2026, 1, 1),
            age_at_death_days=365,
            sex="female",
            ethnicity="not_stated",
            place_of_death="hospital",
            death_expected=False,
            notified_on=dt.date(2026, 1, 2),
        )
        agency = Agency(
            code=f"AG-{number}", name="Agency", agency_type="gp", request_email="gp@example.nhs.net"
        )
        uow.session.add_all([case, agency])
        uow.session.flush()
        uow.session.add(AgencyRequest(case_id=case.id, agency_id=agency.id))
        uow.commit()


def count(settings: Settings, model) -> int:
    with unit_of_work(settings) as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_migrations_have_one_head(sqlite_settings):
    heads = script_heads(sqlite_settings)
    assert len(heads) == 1, f"migrations have several heads, add a merge revision: {heads}"


def test_migrated_schema_matches_the_models(empty_settings):
    migrate(empty_settings)

    assert current_revisions(empty_settings) == set(script_heads(empty_settings))
    diff = schema_diff(empty_settings)
    assert not diff, "migrations and models differ:\n" + pprint.pformat(readable(diff), width=100)


def test_downgrade_to_base_and_upgrade_again(sqlite_settings):
    migrate(sqlite_settings)
    downgrade(sqlite_settings, "base")

    assert current_revisions(sqlite_settings) == set()
    with make_engine(sqlite_settings).connect() as conn:
        assert inspect(conn).get_table_names() == ["alembic_version"]

    migrate(sqlite_settings)
    assert current_revisions(sqlite_settings) == set(script_heads(sqlite_settings))
    assert not schema_diff(sqlite_settings)
