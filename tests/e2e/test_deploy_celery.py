"""The compose configuration, run natively: Airflow's metadata on the local PostgreSQL (a
throwaway database), the CeleryExecutor with a Celery worker on the local Redis, the
API server for the workers' execution API, the CDOP database on PostgreSQL, and the
first DAG run through the executor, its mail arriving at a loopback SMTP server.

The Airflow settings are docker-compose.yaml's own, key for key; only the addresses
(service names there, loopback here), paths and the secrets of .env differ.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cdop_airflow.ops_app.roles import FAB_ROLES
from tests.conftest import OFFICE_POLICY, PG_ADMIN_URL, free_port
from tests.support.deploy import compose_airflow_environment

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAY = dt.date(2026, 3, 2)

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _free_redis_db() -> int:
    """A Redis database number nobody uses, so the broker's queue is ours alone."""
    import redis

    for number in range(15, 0, -1):
        if redis.Redis(host="127.0.0.1", port=6379, db=number).dbsize() == 0:
            return number
    pytest.skip("no empty Redis database to use as the broker")


def _pg(statement: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(statement))
    admin.dispose()


def _run(args: list[str], env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args[:3])}: {result.stderr[-3000:]}"
    return result


class Service:
    """A long-running process of the stack, in its own process group."""

    def __init__(self, name: str, args: list[str], env: dict, logs: Path):
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def wait_until(self, ready, limit_s: float = 150) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            if ready():
                return
            time.sleep(0.5)
        raise AssertionError(f"{self.name} not ready in {limit_s} s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _http_ok(url: str):
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    return check


def _celery_stack_installed() -> None:
    """The pins must give a working CeleryExecutor on PostgreSQL: Airflow's async engine
    needs asyncpg, and the Celery provider imports what Celery 5.7 removed."""
    import importlib.util

    problems = []
    if importlib.util.find_spec("asyncpg") is None:
        problems.append("asyncpg is not installed (Airflow's async engine on PostgreSQL)")
    try:
        import airflow.providers.celery.executors.celery_executor_utils  # noqa: F401
    except ImportError as exc:
        problems.append(f"the Celery provider does not import with this Celery ({exc})")
    if problems:
        pytest.fail("requirements.txt: " + "; ".join(problems)
                    + " -- pin celery[redis]==5.6.3 and asyncpg==0.32.0")


@pytest.fixture(scope="module")
def native_stack(tmp_path_factory):
    _celery_stack_installed()
    if not (_reachable(5432) and _reachable(6379)):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL (5432) and Redis (6379) on 127.0.0.1 are required in CI")
        pytest.skip("PostgreSQL or Redis is not reachable on 127.0.0.1")
    from cdop.dev import smtp_sink

    work = tmp_path_factory.mktemp("celery-stack")
    suffix = uuid.uuid4().hex[:10]
    meta_db, cdop_db = f"cdop_af_meta_{suffix}", f"cdop_celery_{suffix}"
    pg = PG_ADMIN_URL.rsplit("/", 1)[0].split("://", 1)[1]  # postgres@127.0.0.1:5432
    broker_db = _free_redis_db()
    api_port, smtp_port = free_port(), free_port()
    _pg(f'CREATE DATABASE "{meta_db}"')
    _pg(f'CREATE DATABASE "{cdop_db}"')
    sink = smtp_sink.start(work / "mail", port=smtp_port)

    compose_env = compose_airflow_environment()
    local = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{pg}/{meta_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{pg}/{meta_db}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "PYTHONPATH": str(ROOT / "include"),
        "CDOP_HOME": str(work / "cdop"),
    }
    # The same settings as the compose containers, only addresses and paths localised.
    assert set(local) <= set(compose_env), set(local) - set(compose_env)
    secrets = {  # what .env holds in compose
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex * 2,
        "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "CDOP_DATABASE_URL": f"postgresql+psycopg2://{pg}/{cdop_db}",
        "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "CDOP_POLICY_FILE": OFFICE_POLICY,
        "CDOP_SMTP_HOST": "127.0.0.1",
        "CDOP_SMTP_PORT": str(smtp_port),
        "CDOP_SMTP_SECURITY": "none",  # the loopback sink; compose uses starttls to Mailpit
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "CDOP_"))}
    env.update({**compose_env, **local, **secrets, "AIRFLOW_HOME": str(work / "airflow"),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"})
    services: list[Service] = []
    try:
        # What the compose init service does: migrate both databases, create the CDOP
        # roles (FAB auth manager), load the agencies.
        _run([str(BIN / "airflow"), "db", "migrate"], env)
        _run([str(BIN / "airflow"), "roles", "create", *FAB_ROLES], env)
        _run([str(BIN / "cdop"), "db", "upgrade"], env)
        _run([str(BIN / "cdop"), "agencies", "import",
              str(ROOT / "include/cdop/data/demo_agencies.csv")], env)
        api = Service("api-server", [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1",
                                     "--port", str(api_port), "--workers", "1"], env, work)
        services.append(api)
        worker = Service("celery-worker", [str(BIN / "airflow"), "celery", "worker",
                                           "--concurrency", "2", "--without-mingle",
                                           "--without-gossip"], env, work)
        services.append(worker)
        api.wait_until(_http_ok(f"http://127.0.0.1:{api_port}/api/v2/monitor/health"))
        worker.wait_until(lambda: " ready." in worker.log.read_text(errors="replace"))
        yield {"env": env, "work": work, "sink": sink, "meta_db": meta_db, "worker": worker,
               "broker_db": broker_db}
    finally:
        for service in reversed(services):
            service.stop()
        sink.stop()
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=broker_db).flushdb()
        _pg(f'DROP DATABASE IF EXISTS "{meta_db}" WITH (FORCE)')
        _pg(f'DROP DATABASE IF EXISTS "{cdop_db}" WITH (FORCE)')


def test_agency_requests_go_out_through_the_celery_executor(native_stack):
    from sqlalchemy import create_engine, text

    from cdop.dev import smtp_sink

    env, work = native_stack["env"], native_stack["work"]
    registered = _run([str(BIN / "cdop"), "notify", "--forenames", "Amelia", "--surname", "Testcase",
                       "--date-of-birth", "2025-06-01", "--date-of-death", "2026-02-27",
                       "--sex", "female", "--place-of-death", "hospital", "--expected", "no",
                       "--agency", "RUH", "--agency", "POL", "--notifier-email", "dr@nhs.net",
                       "--today", DAY.isoformat()], env)
    case_number = registered.stdout.split()[-1]

    run = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "cdop_send_agency_requests",
         f"{DAY.isoformat()}T09:00:00+00:00", "--use-executor"],
        env=env, capture_output=True, text=True, timeout=200,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]

    messages = smtp_sink.read_messages(work / "mail")
    assert sorted(str(m["To"]) for m in messages) == [
        "cdr.riverside@nhs.net", "child.deaths@demo.police.cjsm.net"]  # RUH, POL
    assert all(case_number in m["Subject"] for m in messages)

    # Every task ran on the Celery worker: results in Celery's backend, the worker's log.
    meta = create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with meta.connect() as conn:
        rows = conn.execute(text(
            "SELECT task_id, state, hostname FROM task_instance "
            "WHERE dag_id = 'cdop_send_agency_requests'")).all()
        celery_results = conn.execute(text("SELECT count(*) FROM celery_taskmeta")).scalar()
    meta.dispose()
    assert {r.task_id for r in rows} == {"plan_requests", "send_requests", "send_portal_messages"}
    assert all(r.state == "success" and r.hostname for r in rows), rows
    assert celery_results >= 3  # the result backend on PostgreSQL recorded them
    assert "execute_workload" in native_stack["worker"].log.read_text(errors="replace")
