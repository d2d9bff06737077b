"""When a panel recommendation is overdue: still open (agreed or in progress) after its
due date. `recommendation_overdue` is the rule, `overdue_recommendation_predicate` its SQL
form (the recommendations page lists overdue ones first)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_

from cdop.store.models import Recommendation
from cdop.store.statuses import RecommendationStatus

OPEN_STATUSES = (RecommendationStatus.AGREED, RecommendationStatus.IN_PROGRESS)


def recommendation_overdue(status: str, due_on: dt.date, today: dt.date) -> bool:
    return status in OPEN_STATUSES and due_on < today


def overdue_recommendation_predicate(today: dt.date) -> ColumnElement[bool]:
    return and_(Recommendation.status.in_(OPEN_STATUSES), Recommendation.due_on < today)
