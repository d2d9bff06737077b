"""cdop_airflow.runtime: settings from the cdop_* Airflow Connections.

Connection.get is replaced where a test needs a Connection or a failure that cannot be
made locally; elsewhere the real Task SDK lookup runs (env-var secrets backend).
"""

from __future__ import annotations

import json
import traceback

import pytest
from airflow.sdk import Connection
from airflow.sdk.exceptions import (
    AirflowNotFoundException,
    AirflowRuntimeError,
    AirflowSecretsBackendAccessDenied,
    ErrorType,
)
from airflow.sdk.execution_time.comms import ErrorResponse
from sqlalchemy.engine import make_url

from cdop.config import ConfigError
from cdop_airflow import runtime

PASSWORD = "p@ss:w/rd with spaces"


def _pg_connection(**fields) -> Connection:
    defaults = dict(conn_id="cdop_db", conn_type="postgres", login="cdop app",
                    password=PASSWORD, host="db.example.org", port=5433, schema="cdop")
    return Connection(**{**defaults, **fields})


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A demo environment with no CDOP_* settings of its own beyond home and demo."""
    monkeypatch.setenv("CDOP_HOME", str(tmp_path))
    monkeypatch.setenv("CDOP_DEMO", "1")
    for name in ("CDOP_DATABASE_URL", "CDOP_SMTP_HOST", "CDOP_ENCRYPTION_KEYS"):
        monkeypatch.delenv(name, raising=False)
    for conn_id in ("CDOP_DB", "CDOP_SMTP", "CDOP_CRYPTO"):
        monkeypatch.delenv(f"AIRFLOW_CONN_{conn_id}", raising=False)
    return tmp_path


def _connections(monkeypatch, **by_id):
    """Connection.get answers from by_id: a Connection, or an exception to raise.
    Ids not in by_id are not defined, as Airflow 3.3 reports it."""

    def get(cls, conn_id):
        found = by_id.get(conn_id)
        if found is None:
            raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
        if isinstance(found, BaseException):
            raise found
        return found

    monkeypatch.setattr(Connection, "get", classmethod(get))


# ------------------------------------------------------------------ the postgres URL


@pytest.mark.parametrize("password", [PASSWORD, "@", ":/@", "a%2Fb", "x y@z:1/2?#"])
def test_postgres_url_keeps_a_password_with_url_characters(password):
    url = make_url(runtime._postgres_url(_pg_connection(password=password))
                   .render_as_string(hide_password=False))
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg2", "cdop app", password, "db.example.org", 5433, "cdop")


def test_postgres_url_defaults_the_port():
    assert runtime._postgres_url(_pg_connection(port=None)).port == 5432


def test_settings_from_a_postgres_connection_round_trip_the_password(env, monkeypatch):
    _connections(monkeypatch, cdop_db=_pg_connection())
    url = make_url(runtime.settings("tester").database_url)
    assert url.drivername == "postgresql+psycopg2"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "cdop app", PASSWORD, "db.example.org", 5433, "cdop")


def test_settings_from_a_real_env_var_connection_round_trip_the_password(env, monkeypatch):
    # No mock: the Task SDK's own lookup, through the environment-variable secrets backend.
    monkeypatch.setenv("AIRFLOW_CONN_CDOP_DB", json.dumps({
        "conn_type": "postgres", "login": "cdop", "password": PASSWORD,
        "host": "db.example.org", "port": 5432, "schema": "cdop"}))
    url = make_url(runtime.settings("tester").database_url)
    assert (url.password, url.host, url.database) == (PASSWORD, "db.example.org", "cdop")


def test_extra_url_still_wins_over_the_postgres_fields(env, monkeypatch):
    _connections(monkeypatch, cdop_db=_pg_connection(extra=json.dumps({"url": "sqlite:///x.db"})))
    assert runtime.settings("tester").database_url == "sqlite:///x.db"


# ------------------------------------------------------------------ not defined


def test_undefined_connections_fall_back_to_the_defaults(env, monkeypatch):
    _connections(monkeypatch)
    s = runtime.settings("tester")
    assert s.database_url == f"sqlite:///{env.resolve() / 'cdop.sqlite'}"
    assert (s.smtp.host, s.smtp.port) == ("127.0.0.1", 8025)


def test_undefined_connections_fall_back_without_any_mock(env):
    # The real Connection.get, outside a task: no backend knows cdop_db.
    with pytest.raises(AirflowNotFoundException):
        Connection.get("cdop_db")
    assert runtime.settings("tester").database_url == f"sqlite:///{env.resolve() / 'cdop.sqlite'}"


def test_supervisor_not_found_falls_back(env, monkeypatch):
    # In a task the supervisor's CONNECTION_NOT_FOUND becomes AirflowNotFoundException.
    def not_found(conn_id):
        raise AirflowRuntimeError(ErrorResponse(error=ErrorType.CONNECTION_NOT_FOUND,
                                                detail={"conn_id": conn_id}))

    monkeypatch.setattr("airflow.sdk.execution_time.context._get_connection", not_found)
    assert runtime._connection("cdop_db") is None
    assert runtime.settings("tester").database_url.startswith("sqlite:///")


def test_environment_wins_without_looking_the_connection_up(env, monkeypatch):
    _connections(monkeypatch, cdop_db=PermissionError("would fail"))
    monkeypatch.setenv("CDOP_DATABASE_URL", "sqlite:///from-env.db")
    assert runtime.settings("tester").database_url == "sqlite:///from-env.db"


# ------------------------------------------------------------------ any other error


SECRET_URI = f"postgresql://cdop:{PASSWORD}@db.example.org/cdop"

OTHER_ERRORS = [
    PermissionError(f"denied reading {SECRET_URI}"),
    AirflowSecretsBackendAccessDenied(f"Access denied for connection {SECRET_URI}"),
    AirflowRuntimeError(ErrorResponse(error=ErrorType.PERMISSION_DENIED, detail={"uri": SECRET_URI})),
    AirflowRuntimeError(ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail={"uri": SECRET_URI})),
    ValueError(f"bad URI {SECRET_URI}"),
]


def _assert_hides_the_secret(err: pytest.ExceptionInfo, conn_id: str, error: BaseException):
    message = str(err.value)
    assert conn_id in message and type(error).__name__ in message
    assert PASSWORD not in message and "p@ss" not in message
    printed = "".join(traceback.format_exception(err.value))
    assert PASSWORD not in printed and "p@ss" not in printed


@pytest.mark.parametrize("error", OTHER_ERRORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("conn_id", ["cdop_db", "cdop_smtp", "cdop_crypto"])
def test_any_other_error_stops_naming_the_connection_not_its_secret(env, monkeypatch, conn_id, error):
    _connections(monkeypatch, **{conn_id: error})
    with pytest.raises(ConfigError) as err:
        runtime.settings("tester")
    _assert_hides_the_secret(err, conn_id, error)


@pytest.mark.parametrize("error_type", [ErrorType.PERMISSION_DENIED, ErrorType.API_SERVER_ERROR,
                                        ErrorType.GENERIC_ERROR])
def test_supervisor_errors_other_than_not_found_propagate(env, monkeypatch, error_type):
    # Through the real Connection.get, which re-raises anything but CONNECTION_NOT_FOUND.
    error = AirflowRuntimeError(ErrorResponse(error=error_type, detail={"uri": SECRET_URI}))

    def failing(conn_id):
        raise error

    monkeypatch.setattr("airflow.sdk.execution_time.context._get_connection", failing)
    with pytest.raises(ConfigError) as err:
        runtime.settings("tester")
    _assert_hides_the_secret(err, "cdop_db", error)


def test_the_database_password_and_the_keys_are_masked_in_airflow_logs(env, monkeypatch):
    """Whatever their source: the URL built from the Connection (its password escaped in
    it), and encryption keys given as an environment variable."""
    from airflow.sdk._shared.secrets_masker.secrets_masker import redact
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("CDOP_ENCRYPTION_KEYS", key)
    _connections(monkeypatch, cdop_db=_pg_connection())
    url = runtime.settings("test").database_url
    line = f"connecting to {url} with keys {key}"
    shown = redact(line)
    assert key not in shown and PASSWORD not in shown and url not in shown
    assert "***" in shown
