"""Shared fixtures for the four tiers (unit, integration, dags, e2e).

Real parts: SQLite files and the PostgreSQL server on 127.0.0.1:5432 (a fresh database
per test), the aiosmtpd server on loopback that keeps .eml files, and Airflow's
metadata DB migrated once per session for `dag.test()`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import fcntl
import os
import shutil
import socket
import sqlite3
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

from cryptography.fernet import Fernet  # noqa: E402

from cdop.config import Settings, settings_from_env  # noqa: E402
from tests.support.scratch import admin_url, replace_with_copy, scratch_postgres  # noqa: E402

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


def _wants_migrated(request) -> bool:
    """Whether this test takes the `settings` fixture below (a migrated database)."""
    defs = request.node._fixtureinfo.name2fixturedefs.get("settings")
    return bool(defs) and defs[-1].func.__module__ == __name__


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite CDOP database migrated to head once per session (copied, never used)."""
    from cdop.store.db import make_engine, migrate

    work = tmp_path_factory.mktemp("cdop-template")
    path = work / "cdop.sqlite"
    s = settings_from_env({"CDOP_HOME": str(work / "home"), "CDOP_DATABASE_URL": f"sqlite:///{path}",
                           "CDOP_ENCRYPTION_KEYS": TEST_KEY, "CDOP_POLICY_FILE": OFFICE_POLICY})
    migrate(s)
    make_engine(s).dispose()
    return path


@pytest.fixture(scope="session")
def _migrated_postgres(tmp_path_factory) -> str:
    """A PostgreSQL CDOP database migrated to head once per session (process), the
    template each test's database is copied from; nobody connects to it after."""
    from cdop.store.db import make_engine, migrate

    with scratch_postgres("cdop_template", PG_ADMIN_URL) as url:
        s = settings_from_env({"CDOP_HOME": str(tmp_path_factory.mktemp("cdop-template-pg")),
                               "CDOP_DATABASE_URL": url, "CDOP_ENCRYPTION_KEYS": TEST_KEY,
                               "CDOP_POLICY_FILE": OFFICE_POLICY})
        migrate(s)
        make_engine(s).dispose()
        yield url


def _copy_sqlite(template: Path, path: Path) -> None:
    """Copy a closed SQLite database into a new owner-only file, as make_engine makes it."""
    from cdop.private_files import private_dir, private_file

    private_dir(path.parent)
    private_file(path)
    source, target = sqlite3.connect(template), sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, pg_available):
    """A fresh CDOP database on each backend: empty, or -- for a test that takes
    `settings` -- a copy of one migrated to head this session, exactly what `settings`
    would build (it still runs `migrate`, which then finds nothing to do). Migrating
    each test's database from scratch was most of the suite's time."""
    migrated = _wants_migrated(request)
    if request.param == "sqlite":
        path = tmp_path / "cdop.sqlite"
        if migrated:
            _copy_sqlite(request.getfixturevalue("_migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        from cdop.store.db import dispose_engines

        dispose_engines()
        return
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    template = request.getfixturevalue("_migrated_postgres") if migrated else None
    drops = request.getfixturevalue("_background_drops")
    with scratch_postgres("cdop_test", PG_ADMIN_URL, template=template, drop=drops) as url:
        yield url


@pytest.fixture(scope="session")
def _background_drops():
    """Runs each test's `DROP DATABASE` in a thread of its own while the next test starts
    (a drop waits on the server far more than it computes); all are done, and any failure
    raised, by the end of the session."""
    pending = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:

        def drop(function, *args):
            pending.append(pool.submit(function, *args))

        yield drop
    for done in pending:
        done.result()


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


@pytest.fixture(scope="session")
def _demo_templates(tmp_path_factory):
    """Demo caseloads loaded once per session (process), one per backend and day, each a
    closed database and the files it keeps under CDOP_HOME: copied, never used."""
    built: dict[tuple[str, dt.date], tuple[str, Path]] = {}
    with contextlib.ExitStack() as cleanup:
        yield built, cleanup, tmp_path_factory


@pytest.fixture
def demo_copy(request, _demo_templates):
    """`demo_copy(settings, today)` leaves what `load_demo(settings, today=today)` would:
    the demo loaded on that day, copied from one loaded this session. Loading it runs
    the whole history through the services (a minute or more on a loaded machine); a
    copy is a file or a `CREATE DATABASE ... TEMPLATE`. The tests of load_demo itself
    call it directly. Settings other than the suite's (another key or policy), or a
    database that is not empty, get a real load."""
    from cdop.dev.demo import load_demo

    built, cleanup, tmp_path_factory = _demo_templates

    def copy(settings: Settings, today: dt.date) -> None:
        backend = "sqlite" if settings.database_url.startswith("sqlite:///") else "postgresql"
        standard = _standard_settings(settings.database_url, settings.home)
        if (settings.encryption_keys, settings.policy) != (standard.encryption_keys, standard.policy) \
                or not _is_empty(settings):
            load_demo(settings, today=today)
            return
        if (backend, today) not in built:
            migrated = request.getfixturevalue({"sqlite": "_migrated_sqlite",
                                                "postgresql": "_migrated_postgres"}[backend])
            built[backend, today] = _build_demo(backend, today, migrated, cleanup, tmp_path_factory)
        template, home = built[backend, today]
        if backend == "sqlite":
            from cdop.store.db import dispose_engines

            dispose_engines()
            path = Path(settings.database_url.removeprefix("sqlite:///"))
            for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                stale.unlink(missing_ok=True)
            _copy_sqlite(Path(template), path)
        else:
            replace_with_copy(settings.database_url, template, PG_ADMIN_URL)
        if Path(home).exists():  # (on PostgreSQL the case files are rows: the home may be empty)
            shutil.copytree(home, settings.home, dirs_exist_ok=True)

    return copy


def _standard_settings(url: str, home: Path) -> Settings:
    return settings_from_env({"CDOP_HOME": str(home), "CDOP_DATABASE_URL": url,
                              "CDOP_ENCRYPTION_KEYS": TEST_KEY, "CDOP_POLICY_FILE": OFFICE_POLICY})


def _is_empty(settings: Settings) -> bool:
    from sqlalchemy import func, select

    from cdop.store.db import unit_of_work
    from cdop.store.models import Agency, Case

    with unit_of_work(settings) as uow:
        return not any(uow.session.scalar(select(func.count(model.id))) for model in (Case, Agency))


def _build_demo(backend, today, migrated, cleanup, tmp_path_factory) -> tuple[str, Path]:
    """Load the demo into a copy of the migrated template; returns (database, home)."""
    from cdop.dev.demo import load_demo
    from cdop.store.db import dispose_engines

    work = tmp_path_factory.mktemp(f"cdop-demo-{backend}")
    if backend == "sqlite":
        database = str(work / "cdop.sqlite")
        _copy_sqlite(migrated, Path(database))
        url = f"sqlite:///{database}"
    else:
        url = database = cleanup.enter_context(scratch_postgres("cdop_demo", PG_ADMIN_URL, template=migrated))
    load_demo(_standard_settings(url, work / "home"), today=today)
    dispose_engines()  # nobody is connected to a template
    return database, work / "home"


def cli(*args: str, env_extra: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed `cdop` command as a user would, in a subprocess (`timeout` in
    seconds: a command that does more than a few queries says how long it may take)."""
    cmd = [str(Path(sys.executable).with_name("cdop")), *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env_extra or {})}, timeout=timeout
    )


def _airflow_migrate(**overrides: str) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **overrides},
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory):
    """Airflow's metadata DB, migrated once per session.

    Under pytest-xdist each worker has its own Airflow home and SQLite metadata DB (set
    above at import); the first worker to get here migrates one for the whole run and the
    others copy it, so the run pays for `airflow db migrate` once."""
    conn = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    own = _AIRFLOW_HOME / "airflow.db"
    if not os.environ.get("PYTEST_XDIST_WORKER") or conn != f"sqlite:///{own}":
        _airflow_migrate()
        return conn
    shared = tmp_path_factory.getbasetemp().parent / "airflow-metadata"  # this run's, all workers'
    shared.mkdir(exist_ok=True)
    template = shared / "airflow.db"
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not template.exists():
            building = shared / "building.db"
            building.unlink(missing_ok=True)
            _airflow_migrate(AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{building}")
            building.rename(template)
    _copy_sqlite(template, own)
    return conn


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


_SHARED_SCOPES = ("class", "module", "package")
# Fixtures that start a stack of their own (an api-server, a Celery worker, Chromium):
# the tests that use them are one group, so no two of them run at once and their timed
# waits (page loads, server start-up) never compete with each other for the two cores.
_SERVER_FIXTURES = {"chromium", "browser", "api_server", "fab_server", "native_stack"}
SERVERS_GROUP = "servers"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """For pytest-xdist's `--dist loadgroup` (make test): the tests of a module that share
    a fixture wider than one test (an api-server, a demo load, a module's databases) go
    to one worker, so that fixture is built once; tests that start their own server stack
    share one group (SERVERS_GROUP), run one after another; a test already marked
    `xdist_group` keeps its mark; every other test goes to whichever worker is free.
    Without xdist the marks do nothing."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("xdist_group"):
            continue
        defs = info.name2fixturedefs
        if _SERVER_FIXTURES & set(defs):
            item.add_marker(pytest.mark.xdist_group(SERVERS_GROUP))
        elif any(d and d[-1].scope in _SHARED_SCOPES for d in defs.values()):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def xdist_group_of(item) -> str:
    """The group pytest-xdist's loadgroup gives an item: its `xdist_group` names, joined."""
    names = {str(m.args[0] if m.args else m.kwargs.get("name", "default"))
             for m in item.iter_markers("xdist_group")}
    return "_".join(sorted(names))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session):
    """Give each grouped item's id its `@group`, the only thing loadgroup's scheduler reads.
    pytest-xdist 3.8 writes it into `Item._nodeid`, which pytest 9.2 no longer reads (it
    keeps the id structured, in `Item._id`): without this the marks above are ignored and
    a module's shared fixtures are built on both workers (pytest-xdist issue 1386). Runs
    in each worker before it sends its ids; leaves an id that already ends in its group."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    for item in session.items:
        group = xdist_group_of(item)
        if group and not item.nodeid.endswith("@" + group):
            item._id = type(item._id).parse(f"{item.nodeid}@{group}")
