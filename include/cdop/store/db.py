"""Engine, unit of work, migrations and the audit trail for the CDOP database."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session

from cdop import crypto
from cdop.config import Settings
from cdop.private_files import private_dir, private_file
from cdop.store.models import AuditEvent

MIGRATIONS = Path(__file__).with_name("migrations")
_engines: dict[str, Engine] = {}


def make_engine(settings: Settings) -> Engine:
    """One engine per URL per process; installs the encryption keys first."""
    crypto.use_keys(settings.encryption_keys)
    engine = _engines.get(settings.database_url)
    if engine is None:
        if settings.database_url.startswith("sqlite:///"):
            _private_sqlite_file(Path(settings.database_url.removeprefix("sqlite:///")))
            engine = create_engine(settings.database_url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            # Take the write lock at BEGIN so concurrent claimers serialise rather than
            # fail on lock upgrade (SQLite's "database is locked").
            event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        else:
            # No JIT: the planner's estimate for the stage rule's CASE of EXISTS tests
            # crosses jit_above_cost, and compiling it took ~380 ms for a 40 ms query.
            # Every query here is a page's or a task's, over thousands of rows, not
            # millions: JIT never pays for itself.
            engine = create_engine(settings.database_url, pool_pre_ping=True,
                                   connect_args={"options": "-c jit=off"})
        _engines[settings.database_url] = engine
    return engine


# SHA-256 in SQL on SQLite (PostgreSQL has sha256()): Message-IDs derived in bulk.
SQLITE_SHA256 = "cdop_sha256_hex"


def _sha256_hex(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(value.encode("utf-8")).hexdigest()


def _private_sqlite_file(path: Path) -> None:
    """The database file owner-only (0600) before SQLite opens it: SQLite gives its -wal
    and -shm files the database file's mode. Files made before this are tightened too."""
    if path.name in ("", ":memory:"):
        return
    private_dir(path.parent)
    private_file(path)
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists():
            extra.chmod(0o600)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.create_function(SQLITE_SHA256, 1, _sha256_hex, deterministic=True)
    dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


class UnitOfWork:
    """A session that rolls back unless `commit()` is called; carries the actor for audit."""

    def __init__(self, engine: Engine, actor: str):
        self.engine = engine
        self.actor = actor
        # A plain Session: a sessionmaker made here would be a new Session subclass each
        # time, for which SQLAlchemy builds its event dispatch afresh (a fixed cost
        # larger than a small page's own SQL).
        self.session: Session = Session(engine, expire_on_commit=False)
        # Work outside the database that must follow the transaction's fate: a file
        # written for it is removed if it rolls back; a file it replaced is removed once
        # it commits (cdop.store.files).
        self._after_commit: list[Callable[[], None]] = []
        self._after_rollback: list[Callable[[], None]] = []

    def after_commit(self, action: Callable[[], None]) -> None:
        self._after_commit.append(action)

    def after_rollback(self, action: Callable[[], None]) -> None:
        self._after_rollback.append(action)

    @staticmethod
    def _run(actions: list[Callable[[], None]]) -> None:
        pending, actions[:] = list(actions), []
        for action in pending:
            try:
                action()
            except OSError:
                pass  # a file that cannot be removed shows in `cdop files check`

    def audit(
        self,
        action: str,
        entity: str,
        entity_id: int | None = None,
        case_id: int | None = None,
        *,
        _reason: str | None = None,  # see audit_reveal
        **details: Any,
    ) -> None:
        self.session.add(
            AuditEvent(
                actor=self.actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                case_id=case_id,
                details=details,
                reason=_reason,
            )
        )

    def audit_reveal(
        self,
        action: str,
        entity: str,
        entity_id: int | None,
        case_id: int | None,
        *,
        reason: str,
        **details: Any,
    ) -> None:
        """An event that showed or sent identifiers: who (the actor), when, which case and
        why (`reason`, stored encrypted)."""
        self.audit(action, entity, entity_id, case_id, _reason=reason, **details)

    def commit(self) -> None:
        self.session.commit()
        self._after_rollback.clear()
        self._run(self._after_commit)

    def rollback(self) -> None:
        self.session.rollback()
        self._after_commit.clear()
        self._run(self._after_rollback)


@contextmanager
def unit_of_work(settings: Settings, actor: str | None = None) -> Iterator[UnitOfWork]:
    uow = UnitOfWork(make_engine(settings), actor or settings.actor)
    try:
        yield uow
    finally:
        try:
            uow.rollback()
        finally:
            uow.session.close()


def alembic_config(settings: Settings):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return cfg


def migrate(settings: Settings, revision: str = "head") -> None:
    """Bring the CDOP database to `revision`, by default the single head (safe to run again)."""
    from alembic import command

    _alembic(settings, command.upgrade, revision)


def downgrade(settings: Settings, revision: str) -> None:
    """Take the CDOP database back to `revision` (tests, and undoing a release)."""
    from alembic import command

    _alembic(settings, command.downgrade, revision)


def _raw(conn: Connection) -> Any:
    """The driver's own connection under `conn` (checked out, so never None)."""
    raw = conn.connection.dbapi_connection
    if raw is None:
        raise RuntimeError("the database connection was closed during a migration")
    return raw


def _alembic(settings: Settings, step, revision: str) -> None:
    # The keys are installed first (make_engine): a data migration encrypts with them.
    engine = make_engine(settings)
    cfg = alembic_config(settings)
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # A migration that re-creates a table SQLite cannot alter (Alembic's batch mode)
            # drops the old one: with foreign keys on, that would cascade-delete its
            # children. SQLite ignores this pragma inside a transaction, so it is set on
            # the raw connection before the migration's transaction begins, and the keys
            # are checked before commit.
            _raw(conn).execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg, revision)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("migration left rows whose foreign keys point nowhere")
        finally:
            if sqlite:
                _raw(conn).execute("PRAGMA foreign_keys=ON")
