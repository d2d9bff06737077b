"""Secure links to the portal: one random token per email, stored only as a keyed hash.

A token is 256 random bits (`secrets.token_urlsafe(32)`), bound to one agency request
(and so to its case). The email that carries it is composed at send time, in a
transaction that is never committed; the token's hash is written by the message's
`on_sent` hook, in the same transaction that marks the message sent. So a link works
exactly when its email was sent; a token composed for an email that failed is never
stored and never works. The hand-over between the two is in this process's memory,
keyed by the message and its claim, and holds the hash only.

A link lives `policy.portal.link_valid_days` from the email that carried it. Each later
email for the same request (a reminder) renews every live link of the request to the new
expiry, so the first email's link keeps working. Submitting the form ends them all.

The keyed hash is taken of the token's SHA-256, which is kept too, encrypted like every
identifiable field: `cdop keys rotate` re-keys every link's hash (and every session's)
under the new key, so removing the old key afterwards ends no link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections.abc import Sequence

from sqlalchemy import select, update

from cdop import crypto
from cdop.confidentiality.keys import LINK_INDEX
from cdop.config import Settings
from cdop.store.db import UnitOfWork
from cdop.store.models import AgencyRequest, OutboxMessage, PortalLink, Recommendation, utcnow
from cdop.store.statuses import RecommendationStatus, RequestStatus

TOKEN_BYTES = 32
CSRF_INDEX = "portal-csrf"
_pending: dict[tuple[int, str | None], str] = {}  # (message, claim) -> the token's digest
_pending_lock = threading.Lock()
_PENDING_MAX = 100_000


def token_hash(token: str) -> str:
    """The keyed hash a token is stored and found by (the blind-index key: a copy of the
    database alone does not let anyone test guesses)."""
    return secret_hash(LINK_INDEX, token)


def secret_digest(kind: str, value: str) -> str:
    """The unkeyed SHA-256 of a secret (a token, a session value), kept encrypted beside
    its keyed hash so that `cdop keys rotate` can re-key the hash (cdop.confidentiality.keys)."""
    return hashlib.sha256(kind.encode() + b"\x1f" + value.encode("ascii", "replace")).hexdigest()


def secret_hash(kind: str, value: str) -> str:
    return crypto.blind_index(kind, secret_digest(kind, value))


def secret_hashes(kind: str, value: str) -> tuple[str, ...]:
    """The hash under every configured key, the current one first: the keyed hash of the
    secret's digest (re-keyed by rotation), then the form used before digests were kept
    (a link issued then is found under the key it was issued with, until that key goes)."""
    digest = secret_digest(kind, value)
    message = kind.encode() + b"\x1f" + value.encode("ascii", "replace")
    legacy = tuple(hmac.new(k, message, hashlib.sha256).hexdigest() for k in _keys())
    return crypto.blind_indexes(kind, digest) + legacy


def _csrf_digest(token: str, nonce: str, session_value: str | None) -> str:
    parts = (token, nonce, session_value or "")
    return hashlib.sha256("\x1f".join(parts).encode("ascii", "replace")).hexdigest()


def csrf_value(token: str, nonce: str, session_value: str | None) -> str:
    """A form's CSRF field: a keyed hash of the link, the browser's random CSRF cookie and
    its session, so that a cookie and field an attacker chose (or took from a session of
    their own) never match."""
    return crypto.blind_index(CSRF_INDEX, _csrf_digest(token, nonce, session_value))


def csrf_valid(token: str, nonce: str, session_value: str | None, field: str) -> bool:
    if not field or len(field) > 100:
        return False
    return any(hmac.compare_digest(field, v)
               for v in crypto.blind_indexes(CSRF_INDEX, _csrf_digest(token, nonce, session_value)))


def _keys() -> tuple[bytes, ...]:
    # The blind-index keys, derived from the encryption keys (cdop.crypto).
    return crypto.index_keys()


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.policy.portal.base_url.rstrip('/')}/r/{token}"


def token_for_message(message: OutboxMessage) -> str:
    """A new token for the email `message` is composing; its hash waits for on_sent."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with _pending_lock:
        if len(_pending) >= _PENDING_MAX:  # emails that failed to send leave their hash here
            _pending.pop(next(iter(_pending)))
        _pending[(message.id, message.claim_token)] = secret_digest(LINK_INDEX, token)
    return token


def record_sent_links(uow: UnitOfWork, messages: Sequence[OutboxMessage],
                      settings: Settings) -> dict[int, PortalLink]:
    """on_sent, for a batch of sent messages (message id -> its link): store the hash of
    the token each email carried, and renew each request's other live links to the same
    expiry -- the renewals in one UPDATE, the links and their audit rows left for the
    batch's one flush. A message whose email carried no link (an escalation, a failed
    compose) gets none."""
    with _pending_lock:
        digests = {m.id: d for m in messages
                   if (d := _pending.pop((m.id, m.claim_token), None)) is not None}
    requests = {m.id: r for m in messages if m.id in digests
                and (r := uow.session.get(AgencyRequest, m.request_id)) is not None}
    if not requests:
        return {}
    now = utcnow()
    expires = now + dt.timedelta(days=settings.policy.portal.link_valid_days)
    request_ids = sorted({r.id for r in requests.values()})
    for chunk in range(0, len(request_ids), 500):
        uow.session.execute(
            update(PortalLink)
            .where(PortalLink.request_id.in_(request_ids[chunk:chunk + 500]),
                   PortalLink.ended_at.is_(None), PortalLink.expires_at > now)
            .values(expires_at=expires)
            .execution_options(synchronize_session=False))
    links = {}
    for message in messages:
        request = requests.get(message.id)
        if request is None:
            continue
        links[message.id] = link = PortalLink(
            request_id=request.id, case_id=request.case_id, outbox_message_id=message.id,
            token_hash=crypto.blind_index(LINK_INDEX, digests[message.id]), token_digest=digests[message.id],
            sent_to=message.to_addrs[0],
            secure_route=bool(message.secure_route), issued_at=now, expires_at=expires,
            codes_sent=0, code_failures=0)
        uow.session.add(link)
        # Audited by its request and the email that carried it (one link per email), so
        # that nothing needs flushing here for the link's own id.
        uow.audit("portal_link_issued", "agency_request", request.id, case_id=request.case_id,
                  agency=request.agency.code, outbox_message_id=message.id,
                  expires_on=expires.date().isoformat())
    return links


def record_sent_recommendation_links(uow: UnitOfWork, messages: Sequence[OutboxMessage],
                                     settings: Settings) -> dict[int, PortalLink]:
    """on_sent for the emails that carry a recommendation to its organisation: as
    record_sent_links, the link bound to the recommendation (params) instead of a request."""
    with _pending_lock:
        digests = {m.id: d for m in messages
                   if (d := _pending.pop((m.id, m.claim_token), None)) is not None}
    now = utcnow()
    expires = now + dt.timedelta(days=settings.policy.portal.link_valid_days)
    links = {}
    for message in messages:
        rec = (uow.session.get(Recommendation, (message.params or {}).get("recommendation_id"))
               if message.id in digests else None)
        if rec is None:
            continue
        uow.session.execute(
            update(PortalLink)
            .where(PortalLink.recommendation_id == rec.id, PortalLink.ended_at.is_(None), PortalLink.expires_at > now)
            .values(expires_at=expires).execution_options(synchronize_session=False))
        links[message.id] = link = PortalLink(
            request_id=None, recommendation_id=rec.id, case_id=rec.case_id, outbox_message_id=message.id,
            token_hash=crypto.blind_index(LINK_INDEX, digests[message.id]), token_digest=digests[message.id],
            sent_to=message.to_addrs[0], secure_route=bool(message.secure_route), issued_at=now,
            expires_at=expires, codes_sent=0, code_failures=0)
        uow.session.add(link)
        uow.audit("portal_link_issued", "recommendation", rec.id, case_id=rec.case_id,
                  outbox_message_id=message.id, expires_on=expires.date().isoformat())
    return links


def any_link(uow: UnitOfWork, token: str) -> PortalLink | None:
    """The link behind `token` whatever its state (live, ended, expired); None if unknown."""
    if not token or len(token) > 100:
        return None
    return uow.session.scalar(select(PortalLink).where(PortalLink.token_hash.in_(secret_hashes(LINK_INDEX, token))))


def live_link(uow: UnitOfWork, token: str, now: dt.datetime | None = None) -> PortalLink | None:
    """The link behind `token` if it is live (known, not expired, not ended, its request
    still open to a return); None for anything else -- the caller cannot tell which."""
    now = now or utcnow()
    link = any_link(uow, token)
    if link is None or link.ended_at is not None or link.expires_at <= now:
        return None
    if link.recommendation_id is not None:
        # A recommendation's link: live while the recommendation is open (not completed).
        rec = uow.session.get(Recommendation, link.recommendation_id)
        if rec is None or rec.status == RecommendationStatus.COMPLETED:
            return None
        return link
    request = uow.session.get(AgencyRequest, link.request_id)
    if request is None or request.case.closed_on is not None or request.status in (RequestStatus.PENDING, RequestStatus.WAIVED):
        return None
    return link


def end_links(uow: UnitOfWork, request_id: int, reason: str) -> int:
    """End every live link of a request (submitted, reopened): they open nothing again.
    A submitted link keeps its session's hash: the browser that submitted may ask again
    (a double click) and is shown its receipt, nothing else (cdop.portal.service.submit)."""
    values: dict = {"ended_at": utcnow(), "ended_reason": reason, "code": None}
    if reason != "submitted":
        values.update(session_hash=None, session_digest=None)
    return uow.session.execute(
        update(PortalLink)
        .where(PortalLink.request_id == request_id, PortalLink.ended_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)).rowcount
