"""Today in England: the one definition every command, page and task dates itself by.

Child death review is England's process: a business date ("today" for a person at the
CLI or on the pages, and a run's logical date) is a date in England. The wall clock is
read here and nowhere else; a service never reads it, it takes `today` from its caller.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

ENGLAND = ZoneInfo("Europe/London")


def today_in_england(now: dt.datetime | None = None) -> dt.date:
    """The date in England at `now` (an aware moment; a run's logical date), or by the
    wall clock when no moment is given."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(ENGLAND).date()
