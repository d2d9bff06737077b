"""The Alembic migrations: one head, a schema that matches the models on SQLite and
PostgreSQL, and a way back down."""

from __future__ import annotations

import datetime as dt
import json
import pprint

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, DefaultClause, Table, func, inspect, select

from cdop.config import Settings, settings_from_env
from cdop.store.db import (
    alembic_config,
    dispose_engines,
    downgrade,
    make_engine,
    migrate,
    unit_of_work,
)
from cdop.store.models import Agency, AgencyRequest, Base, Case
from tests.conftest import OFFICE_POLICY, TEST_KEY


def make_settings(tmp_path, database_url: str) -> Settings:
    return settings_from_env(
        {
            "CDOP_HOME": str(tmp_path / "home"),
            "CDOP_DATABASE_URL": database_url,
            "CDOP_ENCRYPTION_KEYS": TEST_KEY,
            "CDOP_POLICY_FILE": OFFICE_POLICY,
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


def schema_diff(settings: Settings) -> list:
    with make_engine(settings).connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
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
            age_band="1-4 years",
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


def test_0023_indexes_the_outbox_by_case_and_request_and_the_cases_by_date(empty_settings):
    """One case's page and one request's reminders read the outbox by these columns; the
    pipeline counts closed cases from closed_on; the lists page in notification order."""
    migrate(empty_settings)

    with make_engine(empty_settings).connect() as conn:
        found = {
            table: {ix["name"]: ix["column_names"] for ix in inspect(conn).get_indexes(table)}
            for table in ("outbox_messages", "cases")
        }
    assert found["outbox_messages"]["ix_outbox_messages_case_id"] == ["case_id"]
    assert found["outbox_messages"]["ix_outbox_messages_request_id"] == ["request_id"]
    assert found["cases"]["ix_cases_closed_on"] == ["closed_on"]
    assert found["cases"]["ix_cases_notified"] == ["notified_on", "case_number"]
    assert found["cases"]["ix_cases_open_notified"] == ["notified_on", "case_number"]

    downgrade(empty_settings, "0022_stored_files")
    with make_engine(empty_settings).connect() as conn:
        names = {ix["name"] for t in ("outbox_messages", "cases") for ix in inspect(conn).get_indexes(t)}
    assert not names & {"ix_outbox_messages_case_id", "ix_outbox_messages_request_id", "ix_cases_closed_on",
                        "ix_cases_notified", "ix_cases_open_notified"}


def test_downgrade_to_base_and_upgrade_again(sqlite_settings):
    migrate(sqlite_settings)
    downgrade(sqlite_settings, "base")

    assert current_revisions(sqlite_settings) == set()
    with make_engine(sqlite_settings).connect() as conn:
        assert inspect(conn).get_table_names() == ["alembic_version"]

    migrate(sqlite_settings)
    assert current_revisions(sqlite_settings) == set(script_heads(sqlite_settings))
    assert not schema_diff(sqlite_settings)


PLAIN_ROWS = [
    ("agencies", {"id": 1, "code": "SCH1", "name": "Oakfield Primary School", "agency_type": "education",
                  "request_email": "office@oakfield.example.org.uk", "secure_email": False, "active": True}),
    ("agency_requests", {"id": 1, "case_id": 1, "agency_id": 1, "forms": "[]", "status": "waived",
                         "waiver_reason": "Łukasz never attended Oakfield", "ladder_step": 0}),
    ("chronology_entries", {"id": 1, "case_id": 1, "request_id": 1, "agency_id": 1,
                            "event_date": dt.date(2024, 2, 29), "description": "TOKEN",
                            "created_at": dt.datetime(2026, 1, 3)}),
    ("case_reports", {"id": 1, "case_id": 1, "version": 1, "status": "returned", "gate_findings": "[]",
                      "built_on": dt.date(2026, 1, 5), "comments": "Remove Mrs O'Neill's name"}),
    ("analyses", {"id": 1, "case_id": 1, "reviewed_on": dt.date(2026, 3, 1), "category": "infection",
                  "modifiable": "yes", "learning": "Grace's school nurse was not told", "recorded_by": "t"}),
    ("analysis_factors", {"id": 1, "analysis_id": 1, "domain": "service", "description": "Hope Weiß",
                          "contributed": True}),
    ("recommendations", {"id": 1, "case_id": 1, "analysis_id": 1, "organisation": "ICB",
                         "email": "icb@example.nhs.net", "text": "Tell Søren's GP", "status": "agreed",
                         "agreed_on": dt.date(2026, 3, 1), "due_on": dt.date(2026, 9, 1),
                         "follow_ups_sent": 0}),
    ("recommendation_updates", {"id": 1, "recommendation_id": 1, "recorded_on": dt.date(2026, 4, 1),
                                "status": "in_progress", "progress": "Met May O’Neill-Smith"}),
    ("outbox_messages", {"id": 1, "business_key": "k", "message_id": "<m@x>", "kind": "agency_request",
                         "sequence": 1, "case_id": 1, "agency_id": 1, "to_addrs": "[]", "cc_addrs": "[]",
                         "subject": "Child death review CDOP-2026-0001: Oakfield Primary School",
                         "secure_route": False, "business_date": dt.date(2026, 1, 2), "params": "{}",
                         "status": "sent", "attempts": 1, "created_at": dt.datetime(2026, 1, 2)}),
]
CONVERTED = {  # table -> column -> the value Python sees after 0009
    "cases": {"date_of_death": dt.date(2026, 1, 1), "age_at_death_days": 672, "age_band": "1-4 years",
              "notifier_email": "a.quennell@nhs.net",
              "family_context": {"siblings": ["5-9 years"], "support_notes": "Aunt Hope visits"}},
    **{table: {c: v for c, v in row.items() if c in {
        "waiver_reason", "event_date", "comments", "learning", "description", "text", "progress", "subject"}
        and v != "TOKEN"} for table, row in PLAIN_ROWS if table != "agencies"},
}


# Columns renamed by a later migration (0013_analysis_lines: a factor's description is its notes).
RENAMED = {("analysis_factors", "description"): "notes"}


def _now_called(table: str, column: str) -> str:
    return RENAMED.get((table, column), column)


def test_0009_encrypts_existing_rows_and_downgrade_restores_them(empty_settings):
    """Rows written before 0009 come out encrypted at rest and read the same through the
    models; the age band is filled from the dates; downgrade gives the plain values back."""
    from sqlalchemy import text

    from cdop import crypto
    from cdop.store.models import ENCRYPTED_COLUMNS

    migrate(empty_settings, "0006_merge_heads")
    engine = make_engine(empty_settings)
    with engine.begin() as conn:
        case = {"id": 1, "case_number": "CDOP-2026-0001", "forenames": crypto.encrypt("Łukasz"),
                "surname": crypto.encrypt("Weiß-O'Neill"), "date_of_birth": crypto.encrypt("2024-02-29"),
                "identity_index": "i", "date_of_death": dt.date(2026, 1, 1), "age_at_death_days": 672,
                "sex": "male", "ethnicity": "not_stated", "place_of_death": "hospital",
                "death_expected": False, "circumstances": "[]", "notified_on": dt.date(2026, 1, 2),
                "notifier_email": "a.quennell@nhs.net", "created_at": dt.datetime(2026, 1, 2),
                "family_context": json.dumps(CONVERTED["cases"]["family_context"])}
        for table, row in [("cases", case), *PLAIN_ROWS]:
            row = {k: crypto.encrypt("Seen at home") if v == "TOKEN" else v for k, v in row.items()}
            conn.execute(text(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})"),
                         row)

    migrate(empty_settings)

    assert not schema_diff(empty_settings)
    tables = {m.__tablename__: m for m in ENCRYPTED_COLUMNS} | {"cases": Case}
    with unit_of_work(empty_settings) as uow:
        for table, expected in CONVERTED.items():
            model = tables[table]
            row = uow.session.scalar(select(model))
            assert {c: getattr(row, _now_called(table, c)) for c in expected} == expected, table
        assert uow.session.scalar(select(Case.forenames)) == "Łukasz"
    with engine.connect() as conn:
        for table, expected in CONVERTED.items():
            columns = ", ".join(_now_called(table, c) for c in expected if c != "age_band")
            stored = conn.execute(text(f"SELECT {columns} FROM {table}")).one()
            assert all(str(v).startswith("gAAAAA") for v in stored), table
        assert conn.execute(text("SELECT age_band FROM cases")).scalar() == "1-4 years"

    downgrade(empty_settings, "0006_merge_heads")

    with engine.connect() as conn:
        row = conn.execute(text("SELECT date_of_death, age_at_death_days, notifier_email, family_context "
                                "FROM cases")).one()
        assert str(row[0])[:10] == "2026-01-01" and row[1] == 672 and row[2] == "a.quennell@nhs.net"
        family = row[3] if isinstance(row[3], dict) else json.loads(row[3])
        assert family == CONVERTED["cases"]["family_context"]
        assert conn.execute(text("SELECT waiver_reason FROM agency_requests")).scalar() == \
            "Łukasz never attended Oakfield"
        assert str(conn.execute(text("SELECT event_date FROM chronology_entries")).scalar())[:10] == "2024-02-29"
        assert conn.execute(text("SELECT subject FROM outbox_messages")).scalar().startswith("Child death")
        assert conn.execute(text("SELECT count(*) FROM agency_requests")).scalar() == 1  # no cascade
    migrate(empty_settings)
    assert not schema_diff(empty_settings)


def test_0013_turns_factors_into_graded_lines_and_downgrade_restores_them(empty_settings):
    """Factors recorded as contributed yes / no become lines graded 2 / 1 under the domain's
    `other` code, their encrypted description the notes; the panel's recorded modifiable
    finding is kept; the analysis is finalised on the day its case closed (else its review
    date). Downgrade gives the old columns back."""
    from sqlalchemy import text

    from cdop import crypto
    from cdop.store.models import Analysis, AnalysisFactor

    migrate(empty_settings, "0010_gate_decisions")
    add_case_with_request(empty_settings, "CDOP-2026-0001")
    add_case_with_request(empty_settings, "CDOP-2026-0002")
    engine = make_engine(empty_settings)
    with engine.begin() as conn:
        conn.execute(text("UPDATE cases SET closed_on = :d WHERE case_number = 'CDOP-2026-0001'"),
                     {"d": dt.date(2026, 3, 2)})
        ids = dict(conn.execute(text("SELECT case_number, id FROM cases")).all())
        for aid, number, modifiable in [(1, "CDOP-2026-0001", "no"), (2, "CDOP-2026-0002", "yes")]:
            conn.execute(text("INSERT INTO analyses (id, case_id, reviewed_on, category, modifiable, recorded_by) "
                              "VALUES (:id, :c, :r, 'congenital', :m, 't')"),
                         {"id": aid, "c": ids[number], "r": dt.date(2026, 3, 1), "m": modifiable})
        conn.execute(text("INSERT INTO analysis_factors (id, analysis_id, domain, description, contributed) "
                          "VALUES (:id, :a, :d, :t, :c)"),
                     [{"id": 1, "a": 1, "d": "child", "t": crypto.encrypt("Life-limiting condition"), "c": True},
                      {"id": 2, "a": 2, "d": "service", "t": crypto.encrypt("Grace’s plan not shared"), "c": False}])

    migrate(empty_settings)

    assert not schema_diff(empty_settings)
    with unit_of_work(empty_settings) as uow:
        lines = [(f.analysis_id, f.domain, f.factor_code, f.grade, f.notes)
                 for f in uow.session.scalars(select(AnalysisFactor).order_by(AnalysisFactor.id))]
        assert lines == [(1, "child", "other", 2, "Life-limiting condition"),
                         (2, "service", "other", 1, "Grace’s plan not shared")]
        analyses = [(a.id, a.modifiable, a.finalised_on)
                    for a in uow.session.scalars(select(Analysis).order_by(Analysis.id))]
        assert analyses == [(1, "no", dt.date(2026, 3, 2)), (2, "yes", dt.date(2026, 3, 1))]
    with engine.connect() as conn:
        assert all(v.startswith("gAAAAA") for v in conn.execute(text("SELECT notes FROM analysis_factors")).scalars())
        # The database refuses a grade the form does not have.
        with pytest.raises(Exception, match="(?i)check"):
            conn.execute(text("UPDATE analysis_factors SET grade = 3 WHERE id = 1"))
        conn.rollback()

    downgrade(empty_settings, "0010_gate_decisions")

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, contributed, description FROM analysis_factors ORDER BY id")).all()
        assert [(i, bool(c), crypto.decrypt(d)) for i, c, d in rows] == [
            (1, True, "Life-limiting condition"), (2, False, "Grace’s plan not shared")]
        assert "finalised_on" not in {c["name"] for c in inspect(conn).get_columns("analyses")}
    migrate(empty_settings)
    assert not schema_diff(empty_settings)
