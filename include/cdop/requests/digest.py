"""The coordinator's daily digest: what is overdue, waiting, newly ready, and NCMD breaches.

One email a working day to Policy.digest_recipients, under the business key
("digest", date), with case numbers only. "Newly ready" lists every case that became
ready since the last digest actually sent (not since the previous working day): a case
that became ready on a day no digest went out (a holiday, a mail outage, a day with
nothing else to say) is listed in the next one that does. Nothing is queued on a day with nothing to
report; the content is built at send time from the database as of the business date,
so a digest sent late is still right (and one that has become empty is cancelled).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdop.config import Policy, Settings
from cdop.intake.ncmd import NcmdBreach, ncmd_breaches
from cdop.mail import outbox
from cdop.mail.mailer import Email
from cdop.mail.templating import render
from cdop.requests.chasing import is_working_day
from cdop.store.db import unit_of_work
from cdop.store.models import OutboxMessage
from cdop.store.statuses import OutboxStatus
from cdop.views.outbox import held_messages
from cdop.views.worklists import (
    OverdueRequest,
    ReadyCase,
    WaitingCase,
    newly_ready,
    overdue_requests,
    waiting_cases,
)

log = logging.getLogger(__name__)

KIND = "daily_digest"
ACTOR = "airflow:cdop_send_daily_digest"


@dataclass(frozen=True)
class AgencyOverdue:
    agency_code: str
    agency_name: str
    requests: tuple[OverdueRequest, ...]


@dataclass(frozen=True)
class Digest:
    today: dt.date
    overdue: tuple[OverdueRequest, ...]
    waiting: tuple[WaitingCase, ...]
    ready: tuple[ReadyCase, ...]
    ncmd: tuple[NcmdBreach, ...]
    # Outbox messages set aside for a reason of their own, waiting to be released.
    held: tuple[dict, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.waiting or self.ready or self.ncmd or self.held)

    @property
    def overdue_by_agency(self) -> list[AgencyOverdue]:
        return [
            AgencyOverdue(code, name, tuple(rows))
            for (name, code), rows in groupby(self.overdue, key=lambda r: (r.agency_name, r.agency_code))
        ]

    def counts(self) -> dict[str, int]:
        counts = {"overdue": len(self.overdue), "waiting": len(self.waiting),
                  "ready": len(self.ready), "ncmd": len(self.ncmd)}
        if self.held:
            counts["held"] = len(self.held)
        return counts


def last_digest_sent(session: Session, before: dt.date) -> dt.date | None:
    """The business date of the last digest sent before `before` (None: never)."""
    return session.scalar(
        select(func.max(OutboxMessage.business_date)).where(
            OutboxMessage.kind == KIND, OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.business_date < before)
    )


def build_digest(session: Session, today: dt.date, policy: Policy) -> Digest:
    after = last_digest_sent(session, today) or dt.date.min
    return Digest(
        today=today,
        overdue=tuple(overdue_requests(session, today, policy)),
        waiting=tuple(waiting_cases(session, today)),
        ready=tuple(newly_ready(session, today, policy, after=after)),
        ncmd=tuple(ncmd_breaches(session, today, policy)),
        held=tuple(held_messages(session)),
    )


def plan_digest(settings: Settings, today: dt.date) -> int | None:
    """Queue today's digest unless there is nothing to report; return its outbox id."""
    if not is_working_day(settings, today):
        return None
    policy = settings.policy
    with unit_of_work(settings, ACTOR) as uow:
        digest = build_digest(uow.session, today, policy)
        if digest.empty:
            log.info("digest %s: nothing to report, nothing sent", today.isoformat())
            return None
        message, created = outbox.enqueue(
            uow,
            settings,
            key=outbox.business_key("digest", today.isoformat()),
            kind=KIND,
            to=policy.digest_recipients,
            subject=f"{policy.area_name} CDOP daily digest for {today.day} {today:%B %Y}",
            business_date=today,
            secure_route=all(policy.is_secure_address(a) for a in policy.digest_recipients),
            params=digest.counts(),
        )
        uow.commit()
    log.info("digest %s: %s (%s)", today.isoformat(), digest.counts(),
             "queued" if created else "already queued")
    return message.id


def compose(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    policy = settings.policy
    digest = build_digest(session, message.business_date, policy)
    if digest.empty:
        raise outbox.NoLongerWanted("nothing to report any more")
    context = {
        "digest": digest,
        "today": message.business_date,
        "area_name": policy.area_name,
        "office": policy.office,
        "ncmd_hours": policy.ncmd_deadline_hours,
    }
    return outbox.templated_email(message, settings, "digest", context)


def render_text(settings: Settings, today: dt.date) -> str | None:
    """The digest as text for the terminal (None when there is nothing to report)."""
    with unit_of_work(settings) as uow:
        digest = build_digest(uow.session, today, settings.policy)
        if digest.empty:
            return None
        return render("email/digest.txt.j2", digest=digest, today=today,
                      area_name=settings.policy.area_name, office=settings.policy.office,
                      ncmd_hours=settings.policy.ncmd_deadline_hours)
