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
from cdop.config import Settings
from cdop.store.db import UnitOfWork
from cdop.store.models import AgencyRequest, OutboxMessage, PortalLink, utcnow

TOKEN_BYTES = 32
_pending: dict[tuple[int, str | None], str] = {}
_pending_lock = threading.Lock()
_PENDING_MAX = 100_000


def token_hash(token: str) -> str:
    """The keyed hash a token is stored and found by (the blind-index key: a copy of the
    database alone does not let anyone test guesses)."""
    return secret_hash("portal-link", token)


def secret_hash(kind: str, value: str) -> str:
    return secret_hashes(kind, value)[0]


def secret_hashes(kind: str, value: str) -> tuple[str, ...]:
    """The hash under every configured key, the current one first. A token's hash cannot
    be recomputed by `cdop keys rotate` (the token is not kept), so a link issued before a
    rotation is found under the older key until that key is removed."""
    message = kind.encode() + b"\x1f" + value.encode("ascii", "replace")
    return tuple(hmac.new(k, message, hashlib.sha256).hexdigest() for k in _keys())


def _keys() -> tuple[bytes, ...]:
    # The blind-index keys, derived from the encryption keys (cdop.crypto).
    crypto.blind_index("portal")  # raises ConfigError if no keys are installed
    return crypto._index_keys


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.policy.portal.base_url.rstrip('/')}/r/{token}"


def token_for_message(message: OutboxMessage) -> str:
    """A new token for the email `message` is composing; its hash waits for on_sent."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with _pending_lock:
        if len(_pending) >= _PENDING_MAX:  # emails that failed to send leave their hash here
            _pending.pop(next(iter(_pending)))
        _pending[(message.id, message.claim_token)] = token_hash(token)
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
            token_hash=digests[message.id], sent_to=message.to_addrs[0],
            secure_route=bool(message.secure_route), issued_at=now, expires_at=expires,
            codes_sent=0, code_failures=0)
        uow.session.add(link)
        # Audited by its request and the email that carried it (one link per email), so
        # that nothing needs flushing here for the link's own id.
        uow.audit("portal_link_issued", "agency_request", request.id, case_id=request.case_id,
                  agency=request.agency.code, outbox_message_id=message.id,
                  expires_on=expires.date().isoformat())
    return links


def live_link(uow: UnitOfWork, token: str, now: dt.datetime | None = None) -> PortalLink | None:
    """The link behind `token` if it is live (known, not expired, not ended, its request
    still open to a return); None for anything else -- the caller cannot tell which."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    link = uow.session.scalar(select(PortalLink).where(
        PortalLink.token_hash.in_(secret_hashes("portal-link", token))))
    if link is None or link.ended_at is not None or link.expires_at <= now:
        return None
    request = uow.session.get(AgencyRequest, link.request_id)
    if request is None or request.case.closed_on is not None or request.status in ("pending", "waived"):
        return None
    return link


def end_links(uow: UnitOfWork, request_id: int, reason: str) -> int:
    """End every live link of a request (submitted, reopened): they open nothing again."""
    return uow.session.execute(
        update(PortalLink)
        .where(PortalLink.request_id == request_id, PortalLink.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_reason=reason, code=None, session_hash=None)
        .execution_options(synchronize_session=False)).rowcount
