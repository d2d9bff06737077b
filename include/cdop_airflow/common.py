"""What every CDOP DAG shares: default_args, the tag vocabulary. Cheap to import: the
scheduler parses DAG files every 30 seconds, so nothing heavy is imported here."""

from __future__ import annotations

import datetime as dt

OWNER = "cdop"

# The one tag vocabulary; the DAG-integrity test rejects any other tag.
TAGS = frozenset({"cdop", "intake", "requests", "chasing", "investigations", "panel",
                  "reporting", "recommendations", "operations"})

DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=15),
}

START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
