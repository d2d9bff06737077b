"""A throwaway PostgreSQL database, for the test suite and the benchmarks.

Made on the server at CDOP_TEST_PG_URL (default: the local server as `postgres`) and
dropped afterwards, connections and all, whatever happened inside.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

DEFAULT_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    return os.environ.get("CDOP_TEST_PG_URL", DEFAULT_ADMIN_URL)


def _admin(statement: str, url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@contextmanager
def scratch_postgres(
    prefix: str = "cdop_scratch", url: str | None = None, template: str | None = None,
    drop: Callable[..., object] | None = None,
) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a new database -- empty, or a copy of the database at
    `template` (a URL on the same server that nobody is connected to) -- and drop it on
    the way out (`drop(function, *args)`, if given, is handed the call to run later, in
    another thread: the drop then need not hold up what comes next). The name is unique
    (a random suffix), so parallel test workers and other runs on the same server never
    meet."""
    from cdop.store.db import dispose_engines

    url = url or admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
    _admin(f'CREATE DATABASE "{name}"{copy_of}', url)
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        dispose_engines()
        (drop or _call)(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', url)


def _call(function: Callable[..., object], *args: object) -> None:
    function(*args)


def replace_with_copy(url: str, template: str, admin: str | None = None) -> None:
    """Make the database at `url` a fresh copy of the one at `template` (same server,
    nobody connected to it): dropped, connections and all, and created again under the
    same name, so every URL naming it stays good."""
    from cdop.store.db import dispose_engines

    admin = admin or admin_url()
    name, source = url.rsplit("/", 1)[1], template.rsplit("/", 1)[1]
    dispose_engines()
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin)
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"', admin)
