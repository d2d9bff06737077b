"""Runtime glue, called inside tasks only: settings from Connections or the environment,
and the business date of a run.

Connections (optional; the environment wins where both are set):
- `cdop_db`: the CDOP database (any SQLAlchemy URL in `extra.url`, or a postgres connection)
- `cdop_smtp`: host, port, login, password; `extra.security` = none | starttls | tls
- `cdop_crypto`: password = comma-separated Fernet keys, newest first
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

from cdop.config import Settings, settings_from_env

LONDON = ZoneInfo("Europe/London")


def _connection(conn_id: str):
    from airflow.sdk import Connection

    try:
        return Connection.get(conn_id)
    except Exception:  # not defined: the environment is the source
        return None


def settings(actor: str) -> Settings:
    env = dict(os.environ)
    if not env.get("CDOP_DATABASE_URL") and (conn := _connection("cdop_db")):
        url = (conn.extra_dejson or {}).get("url")
        if not url and conn.conn_type in ("postgres", "postgresql"):
            url = (f"postgresql+psycopg2://{conn.login}:{conn.password or ''}@{conn.host}:"
                   f"{conn.port or 5432}/{conn.schema}")
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
    return settings_from_env(env)


def business_date(context) -> dt.date:
    """'Today' for a run: its logical date (run_after for runs without one), in England."""
    moment = context.get("logical_date") or context["dag_run"].run_after
    return moment.astimezone(LONDON).date()
