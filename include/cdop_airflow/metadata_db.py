"""Airflow's metadata DB on SQLite (`make run`): how long a connection waits for another
process's write to finish before it gives up.

`make run` starts four Airflow services and their task processes on one SQLite file.
SQLite lets one writer at a time; the others wait for the lock -- five seconds by
default (Python's sqlite3) -- and then fail with "database is locked". On a loaded
machine the scheduler or the dag-processor holds the lock longer than that, and the
request that was waiting fails: that is how a coordinator's first "Approve" of a Required
Action got an HTTP 500 from the api-server (its write of the response waited behind the
scheduler's transaction and gave up). Waiting longer turns that failure into a short
delay. (WAL mode, which lets readers go on while one process writes, is Airflow's own
setting for SQLite.)

run.sh points Airflow at CONNECT_ARGS:
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS=cdop_airflow.metadata_db.CONNECT_ARGS
A PostgreSQL metadata DB (docker-compose.yaml) needs none of this and does not use it.
"""

from __future__ import annotations

# Seconds a connection waits for the write lock (sqlite3's `timeout`, SQLite's
# busy_timeout): longer than any one transaction of the services on a loaded laptop,
# shorter than a browser's patience.
LOCK_WAIT_SECONDS = 60

CONNECT_ARGS: dict[str, object] = {"timeout": LOCK_WAIT_SECONDS}
