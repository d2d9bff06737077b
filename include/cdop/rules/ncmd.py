"""The NCMD deadline: the national database must be told of a death within a policy
number of hours (48 by default), taken from the end of the day of death."""

from __future__ import annotations

import datetime as dt


def ncmd_deadline(date_of_death: dt.date, hours: int) -> dt.datetime:
    """The NCMD must be told within `hours` of the death (taken as the end of that day)."""
    return dt.datetime.combine(date_of_death, dt.time.max) + dt.timedelta(hours=hours)
