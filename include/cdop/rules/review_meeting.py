"""Which unexpected deaths have no review meeting recorded.

The statutory guidance (Child Death Review, 2018) asks for a joint agency response to
every unexpected death and a Child Death Review Meeting for every death before the
panel reviews it. An open case of an unexpected death with neither recorded (not
started, in progress or concluded; "not applicable" does not count) is flagged for the
office: it may otherwise reach "ready for panel" with nothing to say that the
professionals who knew the child ever met. A closed case is past the point of asking.

Once in Python (a loaded case) and once in SQL (lists over many cases), held to the same
answer by tests/integration/test_rules_sql.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, exists

from cdop.store.models import Case, Investigation
from cdop.store.statuses import InvestigationStatus

# The investigation kinds (taxonomy `investigation`) that are a review meeting.
REVIEW_MEETING_KINDS = ("cdrm", "jar")
RECORDED = (InvestigationStatus.NOT_STARTED, InvestigationStatus.IN_PROGRESS, InvestigationStatus.CONCLUDED)
FLAG_LABEL = "Unexpected death: no Child Death Review Meeting or joint agency response recorded"


def lacks_review_meeting(expected: bool, investigations: Iterable[tuple[str, str]],
                         closed: bool = False) -> bool:
    """`investigations`: (kind, status) pairs of the case."""
    if expected or closed:
        return False
    return not any(kind in REVIEW_MEETING_KINDS and status in RECORDED for kind, status in investigations)


def case_lacks_review_meeting(case: Case) -> bool:
    return lacks_review_meeting(case.death_expected, [(i.kind, i.status) for i in case.investigations],
                                case.closed_on is not None)


def lacks_review_meeting_predicate() -> ColumnElement[bool]:
    """`lacks_review_meeting` as a WHERE clause (or a selected column) over Case."""
    return and_(
        Case.death_expected.is_(False),
        Case.closed_on.is_(None),
        ~exists().where(Investigation.case_id == Case.id,
                        Investigation.kind.in_(REVIEW_MEETING_KINDS),
                        Investigation.status.in_(RECORDED)),
    )
