"""Runtime glue, called inside tasks and by the operations pages in the API server:
settings from Connections or the environment, and the business date of a run.

Connections (optional; the environment wins where both are set):
- `cdop_db`: the CDOP database (any SQLAlchemy URL in `extra.url`, or a postgres connection)
- `cdop_smtp`: host, port, login, password; `extra.security` = none | starttls | tls
- `cdop_crypto`: password = comma-separated Fernet keys, newest first
"""

from __future__ import annotations

import datetime as dt
import os

from sqlalchemy.engine import URL

from cdop.clock import today_in_england
from cdop.config import ConfigError, Settings, settings_from_env


def _connection(conn_id: str):
    """The Airflow Connection `conn_id`, or None when it is not defined.

    In Airflow 3.3 `Connection.get` raises `AirflowNotFoundException` for an undefined
    id, both inside a task (the supervisor answers CONNECTION_NOT_FOUND and the secrets
    backends all come up empty) and outside one (the API server's plugin pages). Only that
    means "use the environment": any other error (an access denial from the Execution
    API, a broken secrets backend) stops here, naming the connection id and the error's
    type but not its message, which may carry the connection's URI or password.
    """
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:  # not defined: the environment is the source
        return None
    except Exception as exc:
        raise ConfigError(
            f"Airflow Connection {conn_id!r} could not be read ({type(exc).__name__})"
        ) from None


def _postgres_url(conn) -> URL:
    """The SQLAlchemy URL of a postgres Connection, each field escaped as URL.create does."""
    return URL.create(
        drivername="postgresql+psycopg2",
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=int(conn.port) if conn.port else 5432,
        database=conn.schema or None,
    )


def settings(actor: str) -> Settings:
    env = dict(os.environ)
    if not env.get("CDOP_DATABASE_URL") and (conn := _connection("cdop_db")):
        url = (conn.extra_dejson or {}).get("url")
        if not url and conn.conn_type in ("postgres", "postgresql"):
            # A string only because settings carry one; never log it (it holds the password).
            url = _postgres_url(conn).render_as_string(hide_password=False)
        if url:
            env["CDOP_DATABASE_URL"] = url
    if not env.get("CDOP_SMTP_HOST") and (conn := _connection("cdop_smtp")):
        env["CDOP_SMTP_HOST"] = conn.host or ""
        env["CDOP_SMTP_PORT"] = str(conn.port or 587)
        env["CDOP_SMTP_USER"] = conn.login or ""
        env["CDOP_SMTP_PASSWORD"] = conn.password or ""
        env["CDOP_SMTP_SECURITY"] = (conn.extra_dejson or {}).get("security", "starttls")
    if not env.get("CDOP_ENCRYPTION_KEYS") and (conn := _connection("cdop_crypto")):
        env["CDOP_ENCRYPTION_KEYS"] = conn.password or ""
    env["CDOP_ACTOR"] = actor
    _mask_secrets(env)
    return settings_from_env(env)


def _mask_secrets(env: dict[str, str]) -> None:
    """Tell Airflow's secrets masker what in the settings is secret, wherever it came
    from: Airflow masks a Connection's password as it reads it, but not the database URL
    built from it (the password URL-escaped), an `extra.url`, or settings given as
    environment variables -- the encryption keys above all. A log line, rendered
    template or exception that carried one shows *** instead."""
    from airflow.sdk.log import mask_secret
    from sqlalchemy.engine import make_url

    secrets = [env.get("CDOP_SMTP_PASSWORD", "")]
    secrets += [k.strip() for k in env.get("CDOP_ENCRYPTION_KEYS", "").split(",")]
    if url := env.get("CDOP_DATABASE_URL", ""):
        try:
            parsed = make_url(url)
        except Exception:  # not a URL settings will accept: its own error says so
            parsed = None
        if parsed is not None and parsed.password:
            secrets += [url, str(parsed.password), parsed.render_as_string(hide_password=False)]
    for secret in secrets:
        if secret:
            mask_secret(secret)


def business_date(context) -> dt.date:
    """'Today' for a run: its logical date (run_after for runs without one), in England."""
    moment = context.get("logical_date") or context["dag_run"].run_after
    return today_in_england(moment)
