"""The six-digit code: opening a link emails a code, separately, to the address the link
went to; the form opens only with it (policy.portal.code_required, on by default).

- A code lives `code_valid_minutes`; it is kept encrypted until it is used (the email
  that carries it is composed from the database at send time, like every message).
- `code_max_failures` wrong codes in a row lock the link for `lockout_minutes`; the
  code is then void and a new one must be asked for. A link may ask for at most
  `codes_per_hour` codes.
- Guesses at one link are taken one at a time: the link's row is locked (SELECT ... FOR
  UPDATE on PostgreSQL; SQLite's writers are serialised already) before its code is
  compared, so concurrent wrong codes each count and none is compared once it is locked.
- The right code starts a browser session for this one request: a random value in a
  cookie, kept here as its keyed hash, for `session_minutes`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdop.confidentiality.keys import SESSION_INDEX
from cdop.config import Settings
from cdop.mail import outbox
from cdop.mail.mailer import Email
from cdop.portal.tokens import secret_digest, secret_hash, secret_hashes
from cdop.store.db import UnitOfWork
from cdop.store.models import AgencyRequest, Case, OutboxMessage, PortalLink, Recommendation, utcnow

KIND = "portal_code"


class TooMany(Exception):
    """More codes asked for in the hour than policy allows."""


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def issue_code(uow: UnitOfWork, settings: Settings, link: PortalLink, today: dt.date) -> OutboxMessage:
    """A new code for the link, queued to the link's address; returns the message (the
    caller commits and sends it at once)."""
    policy = settings.policy.portal
    now = utcnow()
    if link.recommendation_id is not None:
        return _issue_recommendation_code(uow, settings, link, today)
    request = uow.session.get(AgencyRequest, link.request_id)
    hour_ago = now - dt.timedelta(hours=1)
    recent = uow.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.kind == KIND, OutboxMessage.request_id == link.request_id,
            OutboxMessage.created_at > hour_ago))
    if recent >= policy.codes_per_hour:
        raise TooMany()
    link.codes_sent += 1
    link.code = new_code()
    link.code_expires_at = now + dt.timedelta(minutes=policy.code_valid_minutes)
    link.code_failures = 0
    message, _ = outbox.enqueue(
        uow, settings,
        key=outbox.business_key(request.case.case_number, request.agency.code, KIND, f"{link.id}-{link.codes_sent}"),
        kind=KIND, sequence=link.codes_sent, to=[link.sent_to],
        subject=f"Child death review {request.case.case_number}: your code for the return form",
        business_date=today, case_id=link.case_id, agency_id=request.agency_id, request_id=request.id,
        secure_route=link.secure_route, params={"link": link.id})
    uow.audit("portal_code_sent", "portal_link", link.id, case_id=link.case_id, agency=request.agency.code)
    return message


def _issue_recommendation_code(uow: UnitOfWork, settings: Settings, link: PortalLink,
                               today: dt.date) -> OutboxMessage:
    """As issue_code, for a link that opens a recommendation (no agency request behind it)."""
    policy = settings.policy.portal
    now = utcnow()
    rec = uow.session.get(Recommendation, link.recommendation_id)
    number = uow.session.get(Case, rec.case_id).case_number
    prefix = outbox.business_key(number, f"recommendation-{rec.id}", KIND)
    recent = uow.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.kind == KIND, OutboxMessage.business_key.startswith(prefix + "/"),
            OutboxMessage.created_at > now - dt.timedelta(hours=1)))
    if recent >= policy.codes_per_hour:
        raise TooMany()
    link.codes_sent += 1
    link.code = new_code()
    link.code_expires_at = now + dt.timedelta(minutes=policy.code_valid_minutes)
    link.code_failures = 0
    message, _ = outbox.enqueue(
        uow, settings, key=outbox.business_key(prefix, f"{link.id}-{link.codes_sent}"),
        kind=KIND, sequence=link.codes_sent, to=[link.sent_to],
        subject=f"CDOP recommendation R{rec.id}: your code for the response form",
        business_date=today, case_id=link.case_id, agency_id=rec.agency_id,
        secure_route=link.secure_route, params={"link": link.id})
    uow.audit("portal_code_sent", "portal_link", link.id, case_id=link.case_id, recommendation=rec.id)
    return message


def locked(link: PortalLink, now: dt.datetime | None = None) -> bool:
    return link.locked_until is not None and link.locked_until > (now or utcnow())


def lock_link(uow: UnitOfWork, link: PortalLink) -> PortalLink:
    """The link's row, locked until the transaction ends and read afresh: what another
    request committed meanwhile (a failure counted, a lock, a session) is seen."""
    return uow.session.scalars(select(PortalLink).where(PortalLink.id == link.id).with_for_update()
                               .execution_options(populate_existing=True)).one()


def check_code(uow: UnitOfWork, settings: Settings, link: PortalLink, typed: str) -> str | None:
    """The code typed for the link: on success a new session value (for the cookie);
    None if wrong, expired or the link is locked. Wrong codes count towards the lockout;
    the link is locked for the comparison (concurrent guesses are counted one by one)."""
    policy = settings.policy.portal
    link = lock_link(uow, link)
    now = utcnow()
    if locked(link, now) or link.code is None:
        return None
    typed = (typed or "").strip().replace(" ", "")
    good = (link.code_expires_at is not None and link.code_expires_at > now
            and len(typed) == 6 and hmac.compare_digest(typed.encode(), link.code.encode()))
    if not good:
        link.code_failures += 1
        uow.audit("portal_code_refused", "portal_link", link.id, case_id=link.case_id,
                  failures=link.code_failures)
        if link.code_failures >= policy.code_max_failures:
            link.locked_until = now + dt.timedelta(minutes=policy.lockout_minutes)
            link.code = None
            uow.audit("portal_link_locked", "portal_link", link.id, case_id=link.case_id,
                      failures=link.code_failures)
        return None
    return start_session(uow, settings, link)


def start_session(uow: UnitOfWork, settings: Settings, link: PortalLink) -> str:
    value = secrets.token_urlsafe(32)
    link.code = None
    link.code_failures = 0
    link.session_hash = secret_hash(SESSION_INDEX, value)
    link.session_digest = secret_digest(SESSION_INDEX, value)
    link.session_expires_at = utcnow() + dt.timedelta(minutes=settings.policy.portal.session_minutes)
    uow.audit("portal_opened", "portal_link", link.id, case_id=link.case_id)
    return value


def session_valid(link: PortalLink, value: str | None) -> bool:
    if not value or link.session_hash is None or link.session_expires_at is None:
        return False
    if link.session_expires_at <= utcnow():
        return False
    return any(hmac.compare_digest(link.session_hash, h) for h in secret_hashes(SESSION_INDEX, value))


def compose(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    """The code email, composed at send time from the link's (encrypted) code. A code
    already used, replaced or void is not sent."""
    link = session.get(PortalLink, (message.params or {}).get("link"))
    if link is None or link.code is None or link.ended_at is not None or link.codes_sent != message.sequence:
        raise outbox.NoLongerWanted("the code is no longer wanted")
    policy = settings.policy
    if link.recommendation_id is not None:
        rec = session.get(Recommendation, link.recommendation_id)
        case_number, addressee = session.get(Case, rec.case_id).case_number, rec.organisation
        form_name = f"response form for recommendation R{rec.id}"
    else:
        form_name = "return form"
        request = session.get(AgencyRequest, link.request_id)
        case_number, addressee = request.case.case_number, request.agency.name
    context = {"case_number": case_number, "agency_name": addressee, "form_name": form_name,
               "code": link.code, "minutes": policy.portal.code_valid_minutes,
               "office": policy.office, "area_name": policy.area_name}
    return outbox.templated_email(message, settings, "portal_code", context)
