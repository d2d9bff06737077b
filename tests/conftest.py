"""Shared fixtures for the four tiers (unit, integration, dags, e2e).

Real parts: SQLite files and the PostgreSQL server on 127.0.0.1:5432 (a fresh database
per test), the aiosmtpd server on loopback that keeps .eml files, and Airflow's
metadata DB migrated once per session for `dag.test()`.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration at import: set it before anything imports airflow.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="cdop-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": os.environ.get(
            "CDOP_TEST_AIRFLOW_DB", f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
        ),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
)
for _var in [v for v in os.environ if v.startswith("CDOP_")]:
    if _var not in ("CDOP_TEST_AIRFLOW_DB", "CDOP_TEST_PG_URL"):
        del os.environ[_var]
# The fictional histories here run ahead of the real date: the clock that no business
# date may pass (cdop.validation.real_today) is moved for the suite. The test of that
# check sets its own.
os.environ["CDOP_TEST_TODAY"] = "2099-12-31"

from cryptography.fernet import Fernet  # noqa: E402

from cdop.config import Settings, settings_from_env  # noqa: E402
from tests.support.scratch import admin_url, scratch_postgres  # noqa: E402

TEST_KEY = Fernet.generate_key().decode()
# The office details every deployment outside demo mode sets (cdop.config.require_office_details).
OFFICE_POLICY = str(ROOT / "tests/support/office_policy.toml")
PG_ADMIN_URL = admin_url()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    if _pg_reachable():
        return True
    if os.environ.get("CI"):
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is required in CI")
    return False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, pg_available):
    """A fresh, empty CDOP database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cdop.sqlite'}"
        from cdop.store.db import dispose_engines

        dispose_engines()
        return
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    with scratch_postgres("cdop_test", PG_ADMIN_URL) as url:
        yield url


@pytest.fixture
def smtp_server(tmp_path):
    """A real SMTP server on loopback keeping every message as .eml (aiosmtpd)."""
    from cdop.dev import smtp_sink

    class Server:
        def __init__(self):
            self.dir = tmp_path / "mail"
            self.port = free_port()
            self.controller = smtp_sink.start(self.dir, port=self.port)
            self.running = True

        def stop(self):
            if self.running:
                self.controller.stop()
                self.running = False

        def restart(self, drop_on: set[int] | None = None):
            self.stop()
            self.controller = smtp_sink.start(self.dir, port=self.port, drop_on=drop_on)
            self.running = True

        def messages(self):
            return smtp_sink.read_messages(self.dir)

    server = Server()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path, database_url, smtp_server, monkeypatch) -> dict[str, str]:
    """The process environment the CLI and the DAG tasks read their settings from."""
    values = {
        "CDOP_HOME": str(tmp_path / "home"),
        "CDOP_DATABASE_URL": database_url,
        "CDOP_ENCRYPTION_KEYS": TEST_KEY,
        "CDOP_POLICY_FILE": OFFICE_POLICY,
        "CDOP_SMTP_HOST": "127.0.0.1",
        "CDOP_SMTP_PORT": str(smtp_server.port),
        "CDOP_ACTOR": "test-coordinator",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    from cdop.config import get_settings

    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


@pytest.fixture
def settings(env) -> Settings:
    """Settings for a migrated, empty CDOP database."""
    from cdop.store.db import migrate

    s = settings_from_env(env)
    migrate(s)
    return s


@pytest.fixture
def agencies(settings):
    """The demo agency directory, imported."""
    import csv

    from cdop.intake.agencies import import_agencies

    with (ROOT / "include/cdop/data/demo_agencies.csv").open(newline="") as fh:
        import_agencies(settings, list(csv.DictReader(fh)))
    return settings


def cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the installed `cdop` command as a user would, in a subprocess."""
    cmd = [str(Path(sys.executable).with_name("cdop")), *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env_extra or {})}, timeout=120
    )


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata DB, migrated once per session."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def run_dag(dagbag, dag_id: str, day: dt.date, hour: int = 9, retry_seconds: float = 0.5):
    """Run one DAG with dag.test() at a logical date; retries wait `retry_seconds`."""
    dag = dagbag.get_dag(dag_id)
    for task in dag.tasks:
        task.retry_delay = dt.timedelta(seconds=retry_seconds)
        task.retry_exponential_backoff = 0
    logical = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)
    return dag.test(logical_date=logical)
