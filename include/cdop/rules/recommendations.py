"""When a panel recommendation is overdue: still open (agreed or in progress) after its
due date. `recommendation_overdue` is the rule, `overdue_recommendation_predicate` its SQL
form (the recommendations page lists overdue ones first).

What its organisation owes next (`pending_step`): its answer, then (accepted) an action
plan, then evidence and the outcome; then nothing until the coordinator confirms completion
on that evidence. When each falls due (`step_due_on`): the answer by the due date, the plan
policy.recommendation_plan_working_days after accepting, the outcome the day after the
plan's last target date. A request for a step that is due is a reminder until
policy.recommendation_escalate_after have gone, then an escalation (`is_escalation`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_

from cdop.rules.workdays import WorkingCalendar
from cdop.store.models import Recommendation
from cdop.store.statuses import RecommendationResponse, RecommendationStatus

OPEN_STATUSES = (RecommendationStatus.AGREED, RecommendationStatus.IN_PROGRESS)


def recommendation_overdue(status: str, due_on: dt.date, today: dt.date) -> bool:
    return status in OPEN_STATUSES and due_on < today


def overdue_recommendation_predicate(today: dt.date) -> ColumnElement[bool]:
    return and_(Recommendation.status.in_(OPEN_STATUSES), Recommendation.due_on < today)


RESPONSE, PLAN, OUTCOME = "response", "plan", "outcome"
STEP_WORDS = {RESPONSE: "your answer (accept or decline)", PLAN: "your action plan",
              OUTCOME: "evidence of what was done and the outcome"}


def pending_step(rec: Recommendation) -> str | None:
    """What the organisation is asked for next; None once it has declined, given
    everything, or the recommendation is closed."""
    if rec.status not in OPEN_STATUSES:
        return None
    if rec.response is None:
        return RESPONSE
    if rec.response == RecommendationResponse.DECLINED:
        return None
    if rec.plan is None:
        return PLAN
    if rec.outcome is None:
        return OUTCOME
    return None


def step_due_on(rec: Recommendation, calendar: WorkingCalendar, plan_working_days: int,
                responded_on: dt.date | None = None) -> dt.date | None:
    """When the pending step falls due (None when nothing is owed)."""
    step = pending_step(rec)
    if step == RESPONSE:
        return rec.due_on
    if step == PLAN:
        return calendar.add(responded_on or rec.responded_at.date(), plan_working_days)
    if step == OUTCOME:
        return max(dt.date.fromisoformat(r["target_on"]) for r in rec.plan) + dt.timedelta(days=1)
    return None


def is_escalation(request_number: int, escalate_after: int) -> bool:
    """The `request_number`-th request for a step goes as an escalation."""
    return request_number > escalate_after
