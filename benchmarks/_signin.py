"""The operations pages' app for a benchmark, signed in as a coordinator on a fixed day.

Not through `app.dependency_overrides`: with any override installed, FastAPI analyses
every dependency of every route again on each request (it cannot know which the
override replaced), which is benchmark overhead a deployed page never pays. Instead the
one call Airflow's JWT check makes is answered with a fixed SimpleAuthManager user, and
the pages' clock reads the fixed day; every dependency runs as deployed.
"""

from __future__ import annotations

import datetime as dt


class _User:
    role = "ADMIN"  # SimpleAuthManager's admin: the CDOP coordinator

    def get_name(self) -> str:
        return "benchmark"

    def get_id(self) -> str:
        return "benchmark"


def coordinator_app(today: dt.date):
    """create_app(), signed in as a coordinator whose business date is `today`."""
    from airflow.api_fastapi.core_api import security

    from cdop_airflow.ops_app import common, create_app

    async def get_user(request, token=None, bearer=None):
        return _User()

    security.get_user = get_user
    common.today_in_england = lambda: today
    return create_app()
