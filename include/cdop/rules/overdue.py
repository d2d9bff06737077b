"""What is overdue: a request sent and not returned, past its due date, on an open case.

Python form for one request, SQL form for a query that joins AgencyRequest to Case;
`tests/integration/test_rules_sql.py` holds the two equal.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_

from cdop.store.models import AgencyRequest, Case
from cdop.store.statuses import RequestStatus


def is_overdue(status: str, due_on: dt.date | None, case_closed_on: dt.date | None,
               today: dt.date) -> bool:
    return status == RequestStatus.SENT and due_on is not None and due_on < today and case_closed_on is None


def overdue_predicate(today: dt.date) -> ColumnElement[bool]:
    """`is_overdue` in SQL (the query must join Case)."""
    return and_(AgencyRequest.status == RequestStatus.SENT, AgencyRequest.due_on < today,
                Case.closed_on.is_(None))
