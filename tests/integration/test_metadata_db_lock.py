"""Airflow's SQLite metadata DB under `make run`: a write waits for another process's
write instead of failing after Python's 5-second default with "database is locked" (the
HTTP 500 a coordinator's first Approve of a Required Action got while the scheduler held
the lock). Airflow itself, configured as run.sh configures it, in a process of its own;
the lock held by another connection to the same file, longer than the default wait."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONNECT_ARGS = "cdop_airflow.metadata_db.CONNECT_ARGS"
# Longer than sqlite3's default wait (5 s), far shorter than the configured one.
HOLD_SECONDS = 7

CHILD = """
import sys
from airflow import settings
with settings.engine.connect() as c:
    print("busy_timeout", c.exec_driver_sql("PRAGMA busy_timeout").scalar(), flush=True)
sys.stdin.readline()  # the other connection holds the write lock now
try:
    with settings.engine.begin() as c:
        c.exec_driver_sql("INSERT INTO approvals VALUES ('approve')")
except Exception as exc:
    print("failed", type(exc).__name__, exc, flush=True)
else:
    print("written", flush=True)
"""


def _airflow(db: Path, *, connect_args: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"}
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{db}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "include"), env.get("PYTHONPATH", "")])
    if connect_args:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"] = connect_args
    return subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _database(tmp_path: Path) -> Path:
    db = tmp_path / "airflow.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE approvals (answer TEXT)")
    return db


@pytest.mark.timeout(240)
def test_a_write_waits_for_another_process_write_instead_of_failing(tmp_path):
    db = _database(tmp_path)
    child = _airflow(db, connect_args=CONNECT_ARGS)
    try:
        assert child.stdout.readline().split() == ["busy_timeout", "60000"]
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # what the scheduler's transaction holds
        holder.execute("INSERT INTO approvals VALUES ('scheduler')")
        child.stdin.write("go\n")
        child.stdin.flush()
        time.sleep(HOLD_SECONDS)  # not a timed assertion: how long the lock is held
        holder.execute("COMMIT")
        holder.close()
        assert child.stdout.readline().strip() == "written"
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with sqlite3.connect(db) as conn:
        assert sorted(a for (a,) in conn.execute("SELECT answer FROM approvals")) == ["approve", "scheduler"]


def test_without_the_setting_airflow_waits_only_python_default(tmp_path):
    """The cause: Airflow's own engine waits sqlite3's default 5 s for a lock."""
    child = _airflow(_database(tmp_path), connect_args=None)
    try:
        assert child.stdout.readline().split() == ["busy_timeout", "5000"]
    finally:
        child.kill()
        child.wait()


def test_run_sh_configures_the_wait():
    assert f"AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS:-{CONNECT_ARGS}" in (ROOT / "scripts/run.sh").read_text()
