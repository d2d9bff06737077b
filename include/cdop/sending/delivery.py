"""Delivering the outbox in batches: claim -> compose -> send -> mark sent.

- **Claim.** One UPDATE ... RETURNING takes up to `batch_size` deliverable messages
  (pending, or sending with an expired lease) under a fresh claim token; on PostgreSQL
  its sub-select skips rows another deliverer has locked (FOR UPDATE SKIP LOCKED), on
  SQLite the one writer serialises claimers. Two deliverers never hold one message.
- **Compose.** The batch is composed in one read-only session, with the agency requests
  (case, agency) it needs loaded in one query; no transaction is open while we talk to
  the SMTP server, over ONE connection for the whole run.
- **Mark sent** in small groups on a thread of its own, each guarded by the claim
  token, with the kinds' on_sent hooks (chase ladder step, audit rows) in the same
  transaction; never more than `mark_every` messages sent and not yet marked. The only
  repeat possible is a message the server accepted before it was marked, after a
  crash: it is reclaimed once its lease expires and sent again with the same
  Message-ID, so mail clients fold it.

A message that fails for a reason of its own is **held** (status "held"), never retried
until a coordinator releases it (`release`): it cannot be composed, the server refused
it with a 5xx, or its headers are invalid. The reason kept is the KIND of failure
("could not be composed (ValueError)", "refused by the server (550)", "invalid
header"), never an exception's text, which may hold a value. A transient failure (a
dropped connection, a timeout, a 4xx) releases the message to pending for the next run.

A refusal that is the **server's or the sender's**, not the message's, holds nothing: the
sender refused at MAIL FROM, a failed connection, login or TLS, a 421, failures in a
row, or the same 5xx for message after message (to different recipients, none accepted
between). The run stops, every message stays pending, the run fails loudly
(`RelayOutage`) and operations hear of it once per outage (`cdop.mail.outages`).

A message **partly refused** (accepted for some recipients, refused for others) records
whom the server accepted (`delivered_to`); it counts as sent for its kind (ladder step,
audit) when every primary (To) recipient accepted, and is held for the others. Released,
it goes, with the same Message-ID, only to those who did not get it.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, joinedload, selectinload

from cdop.confidentiality.documents import EmailBlocked
from cdop.confidentiality.held import forget_held, message_output, record_held
from cdop.config import Settings
from cdop.mail import outages
from cdop.mail.mailer import Email, Mailer, MailError, PartlyRefused
from cdop.mail.outbox import MessageKind, NoLongerWanted
from cdop.sending.kinds import REGISTRY
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.models import AgencyRequest, OutboxMessage, utcnow
from cdop.store.statuses import OutboxStatus
from cdop.validation import InputError, Problem, RowReader

log = logging.getLogger(__name__)

HELD = OutboxStatus.HELD
BATCH_SIZE = 200
MARK_EVERY = 12  # at most this many messages sent and not yet marked: the repeat window
MARK_GROUP = 6  # the fewest marked in one commit while marking keeps up (see _deliver)
SWITCH_INTERVAL = 0.0005  # seconds: see deliver
INTERRUPTED = "sending was interrupted too many times"  # see _hold_interrupted
MAX_ID = 2**31 - 1  # an outbox id is an INTEGER column


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)  # business keys (case numbers, codes)
    failed: dict[str, str] = field(default_factory=dict)  # business key -> reason (transient)
    skipped: int = 0  # released unattempted when the run stopped early
    cancelled: list[str] = field(default_factory=list)  # composer said: no longer wanted
    held: dict[str, str] = field(default_factory=dict)  # business key -> kind of reason
    outage: str | None = None  # the server's or the sender's refusal that stopped the run

    def as_dict(self) -> dict:
        counts = {"sent": len(self.sent), "failed": len(self.failed), "skipped": self.skipped}
        if self.cancelled:
            counts["cancelled"] = len(self.cancelled)
        if self.held:
            counts["held"] = len(self.held)
        return counts


class DeliveryFailed(RuntimeError):
    """Some messages were not sent: held ones wait for a coordinator, the others stay
    pending for the next try. The text names business keys (case numbers) only."""


class RelayOutage(DeliveryFailed):
    """The mail server refused us, not a message: nothing was held, the outbox waits."""

    MARK = "mail relay outage"  # how the failure callback knows the outage alert covers it


def _deliverable(cutoff: dt.datetime):
    return or_(
        OutboxMessage.status == OutboxStatus.PENDING,
        (OutboxMessage.status == OutboxStatus.SENDING) & (OutboxMessage.claimed_at < cutoff),
    )


@dataclass
class _Batch:
    """What one claimed batch became, written back in one transaction per flush."""

    token: str
    sent: list[OutboxMessage] = field(default_factory=list)
    released: list[tuple[int, str]] = field(default_factory=list)  # (id, reason)
    unattempted: list[int] = field(default_factory=list)
    held: list[tuple[OutboxMessage, str]] = field(default_factory=list)
    cancelled: list[tuple[OutboxMessage, str]] = field(default_factory=list)
    # Refused for a reason that turned out to be the server's: back to pending, untouched.
    requeued: list[tuple[OutboxMessage, str]] = field(default_factory=list)
    # Whom the server accepted each partly refused message for (id -> addresses so far).
    delivered: dict[int, list[str]] = field(default_factory=dict)
    # Of the sent, those partly refused: counted sent, but held for the rest (id -> reason).
    partly: dict[int, str] = field(default_factory=dict)

    # Of those, the ones _mark_sent marked (set by it): their held audit goes with the rest.
    partly_marked: list[tuple[OutboxMessage, str]] = field(default_factory=list)
    # Held because the gate stopped it: each finding placed (id -> PlacedFinding list),
    # kept as held findings for the coordinator to correct at source or release.
    gate_held: dict[int, list] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.sent or self.released or self.unattempted or self.held or self.cancelled
                    or self.requeued)


@dataclass
class _Claimed:
    """A batch claimed and composed: its ids, whether more may follow, and its messages."""

    ids: list[int]
    more: bool
    batch: _Batch
    composed: list
    taken_over: bool = False  # one message taken over from a sender that stopped


def deliver(
    settings: Settings,
    mailer: Mailer,
    *,
    kinds: Iterable[str] | None = None,
    ids: Iterable[int] | None = None,
    actor: str | None = None,
    max_consecutive_failures: int = 3,
    registry: Mapping[str, MessageKind] = REGISTRY,
    batch_size: int = BATCH_SIZE,
    mark_every: int = MARK_EVERY,
) -> DeliveryReport:
    """Send every deliverable message (optionally only `ids`, or `kinds`). Raises nothing
    for a failed or held message: the report says which and why, and the caller decides
    to raise (`raise_for_failures`). Each message is tried at most once per call."""
    report = DeliveryReport()
    kinds = list(kinds) if kinds else None
    ids = list(ids) if ids is not None else None
    lease = dt.timedelta(minutes=settings.policy.send_lease_minutes)
    for key in _hold_interrupted(settings, actor, kinds, ids, lease):
        report.held[key] = INTERRUPTED
        log.error("held %s: %s", key, INTERRUPTED)

    def claim_and_compose(after_id: int) -> _Claimed | None:
        token = secrets.token_hex(16)
        claimed, more, taken_over = _claim(settings, actor, token, kinds, ids, after_id, batch_size, lease)
        if not claimed:
            return None
        batch = _Batch(token)
        return _Claimed(claimed, more, batch, _compose(settings, actor, token, registry, batch), taken_over)

    # The sending thread wakes from each SMTP reply wanting the interpreter back; with
    # the default switch interval (5 ms) it can wait that long behind the worker, at
    # every one of a message's four replies. A shorter interval while we deliver keeps
    # the conversation at the server's pace.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
    try:
        _deliver(settings, mailer, claim_and_compose, registry, report, actor=actor,
                 batch_size=batch_size, mark_every=mark_every,
                 max_consecutive_failures=max_consecutive_failures)
    finally:
        sys.setswitchinterval(switch_interval)
    if report.outage:
        outages.begin(settings, report.outage, actor=actor)
    elif report.sent:
        outages.end(settings, actor=actor)
    return report


def _deliver(settings: Settings, mailer: Mailer, claim_and_compose, registry: Mapping[str, MessageKind],
             report: DeliveryReport, *, actor: str | None, batch_size: int, mark_every: int,
             max_consecutive_failures: int) -> None:
    # The database work runs on two worker threads while this thread talks to the SMTP
    # server (the socket waits release the interpreter): one claims and composes the
    # next batch, the other marks what was sent, each in the order handed over. Marking
    # has a thread of its own so that it never waits behind the composing of a batch
    # ahead (hundreds of messages, on PostgreSQL longer than sending them).
    #
    # What was sent is marked as soon as the marking thread is free, and no more than
    # `mark_every` messages are ever sent and not yet marked (the sender waits for the
    # marking when the database is slower than the SMTP server): a sender killed
    # mid-batch leaves at most that many accepted and unmarked, the only ones sent again
    # after its lease.
    #
    # A message taken over from a sender that stopped is sent alone: everything sent
    # before it is marked first, nothing is claimed ahead while it is in flight, and it
    # is marked before the next claim. If it stops this sender too, it alone is left
    # "sending" and it alone counts the interruption (`_hold_interrupted`).
    consecutive_failures = 0
    # Permanent refusals with the same reply in a row, none accepted between, that do not
    # say they are the message's own (MailError.about_the_message): held once something
    # else is accepted (or refused otherwise); the server's once they reach recipients at
    # `max_consecutive_failures` domains (one bad mailbox, or one agency's server, is not
    # the relay).
    refusals: list[tuple[OutboxMessage, str, frozenset[str]]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdop-outbox") as database, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdop-outbox-mark") as marking:
        flushes: list[tuple[Future, int]] = []  # pending writes, with the sent messages each marks

        def flush(batch: _Batch) -> None:
            flushes.append((marking.submit(_flush, settings, actor, registry, batch, report), len(batch.sent)))

        def raise_a_failed_flush() -> None:
            while flushes and flushes[0][0].done():
                flushes.pop(0)[0].result()

        def wait_for_flushes() -> None:
            while flushes:
                flushes.pop(0)[0].result()

        def unmarked() -> int:
            return sum(n for f, n in flushes if not f.done())

        def refusals_held(batch: _Batch) -> None:
            batch.held.extend((message, reason) for message, reason, _ in refusals)
            refusals.clear()

        ahead: Future | None = database.submit(claim_and_compose, 0)  # the next batch
        try:
            while True:
                claimed_batch, ahead = ahead.result(), None
                if claimed_batch is None:
                    break
                claimed, more, batch, composed = (claimed_batch.ids, claimed_batch.more,
                                                  claimed_batch.batch, claimed_batch.composed)
                careful = claimed_batch.taken_over
                if careful:
                    wait_for_flushes()
                elif more:
                    ahead = database.submit(claim_and_compose, claimed[-1])
                stop = False
                for message, email in composed:
                    if stop:
                        batch.unattempted.append(message.id)
                        continue
                    raise_a_failed_flush()
                    delivered = list(message.delivered_to or ())
                    if delivered:  # released after a partial refusal: only to the others
                        got = {a.lower() for a in delivered}
                        email = replace(email, envelope_to=tuple(
                            a for a in email.recipients() if a.lower() not in got))
                    try:
                        if email.recipients():
                            mailer.send(email)
                    except PartlyRefused as exc:
                        consecutive_failures = 0
                        refusals_held(batch)
                        refused = {a.lower() for a in exc.refused}
                        batch.delivered[message.id] = delivered + [
                            a for a in email.recipients() if a.lower() not in refused]
                        if any(a.lower() in refused for a in message.to_addrs):
                            batch.held.append((message, exc.reason))
                        else:  # the primary recipients have it: sent, for its kind
                            batch.partly[message.id] = exc.reason
                            batch.sent.append(message)
                    except MailError as exc:
                        if exc.outage:
                            batch.released.append((message.id, exc.reason))
                            report.failed[message.business_key] = exc.reason
                            report.outage = exc.reason
                            log.error("stopping: %s (%s)", RelayOutage.MARK, exc.reason)
                            stop = True
                        elif exc.permanent and not exc.about_the_message:
                            consecutive_failures = 0
                            if refusals and refusals[-1][1] != exc.reason:
                                refusals_held(batch)
                            domains = frozenset(a.rpartition("@")[2].lower() for a in email.recipients())
                            refusals.append((message, exc.reason, domains))
                            if len(frozenset().union(*(d for *_, d in refusals))) >= max_consecutive_failures:
                                # Message after message refused alike: the server's refusal.
                                report.outage = f"the same refusal for every message ({exc.reason})"
                                log.error("stopping: %s (%s)", RelayOutage.MARK, report.outage)
                                for refused_message, reason, _ in refusals:
                                    batch.requeued.append((refused_message, reason))
                                    report.failed[refused_message.business_key] = reason
                                refusals.clear()
                                stop = True
                        elif exc.permanent:  # this message's own: no mailbox, its content
                            consecutive_failures = 0
                            refusals_held(batch)
                            batch.held.append((message, exc.reason))
                        else:
                            batch.released.append((message.id, exc.reason))
                            report.failed[message.business_key] = exc.reason
                            log.warning("could not send %s: %s", message.business_key, exc.reason)
                            consecutive_failures += 1
                            if consecutive_failures >= max_consecutive_failures:
                                log.warning("stopping after %d failures in a row", consecutive_failures)
                                stop = True
                    else:
                        consecutive_failures = 0
                        refusals_held(batch)
                        batch.sent.append(message)
                        if unmarked() + len(batch.sent) >= mark_every:
                            wait_for_flushes()  # the database is behind: it catches up first
                        if unmarked() == 0 and len(batch.sent) >= min(MARK_GROUP, mark_every):
                            flush(batch)
                            batch = _Batch(batch.token)
                flush(batch)
                if careful:
                    wait_for_flushes()
                    if more and not stop:
                        ahead = database.submit(claim_and_compose, claimed[-1])
                if stop or not more:
                    break
            if refusals:  # too few to be the server's: each its message's own
                rest = _Batch("")
                refusals_held(rest)
                flush(rest)
            if ahead is not None:  # claimed ahead and not to be tried in this run: put back
                flushes.append((database.submit(_unclaim_ahead, settings, actor, ahead), 0))
            wait_for_flushes()
        except BaseException:
            # What was claimed ahead goes back now rather than after its lease; what was
            # sent is still marked (the worker finishes its queue before the pool closes).
            if ahead is not None and not ahead.cancel():
                database.submit(_unclaim_ahead, settings, actor, ahead)
            raise


def _unclaim_ahead(settings: Settings, actor: str | None, ahead: Future) -> None:
    claimed_batch = ahead.result()
    if claimed_batch is not None:
        _unclaim(settings, actor, claimed_batch.ids, claimed_batch.batch.token)


def _unclaim(settings: Settings, actor: str | None, claimed: list[int], token: str) -> None:
    """Put back a batch claimed ahead but never tried, with the attempt its claim counted."""
    with unit_of_work(settings, actor) as uow:
        uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(claimed), OutboxMessage.claim_token == token,
                                        OutboxMessage.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING, claim_token=None, claimed_at=None, attempts=OutboxMessage.attempts - 1)
            .execution_options(synchronize_session=False))
        uow.commit()


def _hold_interrupted(settings: Settings, actor: str | None, kinds: list[str] | None,
                      ids: list[int] | None, lease: dt.timedelta) -> list[str]:
    """Hold each message whose lease ran out `policy.send_interrupted_max` times: its
    sender stopped while sending it every time (killed, out of memory, a crash in a
    library), so it may be the cause, and taking it over once more would stop the next
    sender too. Only a message left "sending" counts: a failure that was caught (a 4xx,
    a dropped connection) released it to pending, however many times. Returns the held
    messages' business keys; a coordinator releases them as any other held message."""
    now = utcnow()
    stuck = select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < now - lease,
        OutboxMessage.attempts >= settings.policy.send_interrupted_max)
    if kinds:
        stuck = stuck.where(OutboxMessage.kind.in_(kinds))
    if ids is not None:
        stuck = stuck.where(OutboxMessage.id.in_(ids))
    with unit_of_work(settings, actor) as uow:
        picked = uow.session.scalars(stuck.with_for_update(skip_locked=True)).all()
        if not picked:
            return []
        held = uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(picked), OutboxMessage.status == OutboxStatus.SENDING,
                   OutboxMessage.claimed_at < now - lease)
            .values(status=HELD, claim_token=None, claimed_at=None, last_error=INTERRUPTED)
            .returning(OutboxMessage.id, OutboxMessage.case_id, OutboxMessage.kind,
                       OutboxMessage.business_key)
            .execution_options(synchronize_session=False)
        ).all()
        for message_id, case_id, kind, key in held:
            uow.audit("message_held", "outbox_message", message_id, case_id=case_id, kind=kind,
                      business_key=key, reason=INTERRUPTED)
        uow.commit()
    return sorted(key for *_, key in held)


def _claim(settings: Settings, actor: str | None, token: str, kinds: list[str] | None,
           ids: list[int] | None, after_id: int, limit: int,
           lease: dt.timedelta) -> tuple[list[int], bool, bool]:
    """Claim up to `limit` deliverable messages after `after_id`: pick and lock them, then
    claim the rows picked, in one transaction. Returns the ids claimed, whether more
    may follow, and whether the claim is one message taken over.

    A message taken over from a sender that stopped mid-send (still "sending", its lease
    run out) is claimed alone, and so marked as soon as it is sent: if it is what stops
    senders, it alone counts the interruption towards `_hold_interrupted`, not the batch
    it was claimed with.

    Two statements, not an UPDATE ... WHERE id IN (SELECT ... LIMIT ... FOR UPDATE SKIP
    LOCKED): PostgreSQL may run such a sub-select again for each row it updates, and
    each run skips the rows the UPDATE has just claimed, so one claim took more than
    `limit` messages (six for a limit of two in the test)."""
    now = utcnow()
    pick = select(OutboxMessage.id, OutboxMessage.status).where(_deliverable(now - lease),
                                                                OutboxMessage.id > after_id)
    if kinds:
        pick = pick.where(OutboxMessage.kind.in_(kinds))
    if ids is not None:
        pick = pick.where(OutboxMessage.id.in_(ids))
    pick = pick.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
    with unit_of_work(settings, actor) as uow:
        rows = uow.session.execute(pick).all()
        if not rows:
            return [], False, False
        more = len(rows) >= limit
        taken_over = [i for i, (_, state) in enumerate(rows) if state == OutboxStatus.SENDING]
        if taken_over:
            # Alone if it comes first; else the batch stops short of it (it comes next).
            rows, more = rows[:max(taken_over[0], 1)], True
        picked = [message_id for message_id, _ in rows]
        claimed = uow.session.scalars(
            update(OutboxMessage)
            # The guard again: on PostgreSQL a row another claimer took between its
            # read and our lock is re-checked against it.
            .where(OutboxMessage.id.in_(picked), _deliverable(now - lease))
            .values(status=OutboxStatus.SENDING, claim_token=token, claimed_at=now,
                    attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        ).all()
        uow.commit()
    return sorted(claimed), more, bool(taken_over) and taken_over[0] == 0


def _prefetch(session: Session, messages: Sequence[OutboxMessage], settings: Settings,
              registry: Mapping[str, MessageKind]) -> list[object]:
    """Load what the batch's composers read before the first is composed: each kind's
    own `prefetch` for its messages, and for the others their agency requests (with
    case and agency) in one query, so the composers' `session.get` find them in the
    session. The caller keeps the list: the identity map holds objects only while they
    are referenced."""
    by_prefetch: dict[object, list[OutboxMessage]] = {}
    for message in messages:
        kind = registry.get(message.kind)
        by_prefetch.setdefault(kind.prefetch if kind is not None else None, []).append(message)
    kept: list[object] = []
    for prefetch, group in by_prefetch.items():
        if prefetch is None:
            kept.extend(_requests_of(session, group, with_case=True))
        else:
            try:
                kept.append(prefetch(session, group, settings))
            except DBAPIError:
                raise
            except Exception as exc:  # the composers then read what they need themselves
                log.error("prefetch for %d message(s) failed (%s)", len(group), type(exc).__name__)
    return kept


def _requests_of(session: Session, messages: Sequence[OutboxMessage], *,
                 with_case: bool) -> list[AgencyRequest]:
    """The agency requests of `messages` with their agencies (and cases), in one query
    each. The case is loaded by a second SELECT (selectinload), once per case: joined to
    every request's row, its encrypted columns would be decrypted once per request."""
    request_ids = {m.request_id for m in messages if m.request_id is not None}
    if not request_ids:
        return []
    options = [joinedload(AgencyRequest.agency)]
    if with_case:
        options.append(selectinload(AgencyRequest.case))
    return list(session.scalars(
        select(AgencyRequest).where(AgencyRequest.id.in_(request_ids)).options(*options)
    ).unique().all())


def _compose(settings: Settings, actor: str | None, token: str,
             registry: Mapping[str, MessageKind], batch: _Batch) -> list[tuple[OutboxMessage, Email]]:
    """Compose the claimed batch in one session. A message that cannot be composed is
    held; one no longer wanted is cancelled; a database failure releases the rest."""
    composed: list[tuple[OutboxMessage, Email]] = []
    with unit_of_work(settings, actor) as uow:
        session = uow.session
        messages = session.scalars(
            select(OutboxMessage).where(OutboxMessage.claim_token == token).order_by(OutboxMessage.id)
        ).all()
        loaded = _prefetch(session, messages, settings, registry)  # noqa: F841 -- kept referenced
        for number, message in enumerate(messages):
            try:
                kind = registry.get(message.kind)
                if kind is None:
                    raise LookupError(message.kind)
                composed.append((message, kind.compose(session, message, settings)))
            except NoLongerWanted as exc:
                batch.cancelled.append((message, str(exc)))
            except DBAPIError as exc:
                # The database failed us, not the message: release this one and the rest.
                reason = f"database error while composing ({type(exc.orig).__name__})"
                batch.released.extend((m.id, reason) for m in messages[number:])
                break
            except EmailBlocked as exc:  # the gate stopped it: each finding placed, for the coordinator
                batch.held.append((message, f"could not be composed ({type(exc).__name__})"))
                batch.gate_held[message.id] = [replace(f, case_id=message.case_id) for f in exc.located]
            except Exception as exc:  # a composing bug or bad data: this message only
                batch.held.append((message, f"could not be composed ({type(exc).__name__})"))
        for message in messages:
            session.expunge(message)
    return composed


def _flush(settings: Settings, actor: str | None, registry: Mapping[str, MessageKind],
           batch: _Batch, report: DeliveryReport) -> None:
    """Write back what happened to (part of) a batch: one transaction."""
    if not batch:
        return
    with unit_of_work(settings, actor) as uow:
        marked = _mark_sent(uow, batch, settings, registry)
        hooks_ok = True
        try:
            _run_hooks(uow, marked, settings, registry)
            _write_outcomes(uow, batch)
            uow.commit()
        except DBAPIError:
            raise
        except Exception:
            hooks_ok = False
            uow.rollback()
        if not hooks_ok:
            # A hook failed: mark again, each message's hook in a savepoint of its own,
            # so one bad hook never leaves the others' messages unmarked.
            marked = _mark_sent(uow, batch, settings, registry)
            for message in marked:
                try:
                    with uow.session.begin_nested():
                        _run_hooks(uow, [message], settings, registry)
                except DBAPIError:
                    raise
                except Exception as exc:
                    log.error("on_sent of %s failed (%s)", message.business_key, type(exc).__name__)
                    report.failed[message.business_key] = f"sent, but its follow-up failed ({type(exc).__name__})"
            _write_outcomes(uow, batch)
            uow.commit()
    report.sent.extend(m.business_key for m in marked)
    report.skipped += len(batch.unattempted)
    held = batch.held + [(m, batch.partly[m.id]) for m in marked if m.id in batch.partly]
    for message, reason in held:
        report.held[message.business_key] = reason
        log.error("held %s: %s", message.business_key, reason)
    report.cancelled.extend(m.business_key for m, _ in batch.cancelled)


def _mark_sent(uow: UnitOfWork, batch: _Batch, settings: Settings,
               registry: Mapping[str, MessageKind]) -> list[OutboxMessage]:
    """Mark the batch's sent messages sent where we still hold the claim; return those."""
    if not batch.sent:
        return []
    session = uow.session
    now = utcnow()
    mine = OutboxMessage.claim_token == batch.token
    # A message sent again after a partial refusal keeps the time it first counted as sent.
    sent_at = func.coalesce(OutboxMessage.sent_at, now)
    whole = [m.id for m in batch.sent if m.id not in batch.partly]
    marked_ids = set(session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(whole), mine)
        .values(status=OutboxStatus.SENT, sent_at=sent_at, last_error=None)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).all()) if whole else set()
    for message_id, reason in batch.partly.items():
        # Its primary recipients have it (it counts as sent); held for the others.
        marked_ids.update(session.scalars(
            update(OutboxMessage).where(OutboxMessage.id == message_id, mine)
            .values(status=HELD, sent_at=sent_at, last_error=reason, claim_token=None, claimed_at=None,
                    delivered_to=batch.delivered[message_id])
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)).all())
    # The hooks read the messages as composed (detached, as claimed: no one else may
    # change a message under our claim token), not a fresh copy of each.
    messages = [m for m in batch.sent if m.id in marked_ids]
    batch.partly_marked = [(m, batch.partly[m.id]) for m in messages if m.id in batch.partly]
    # What the hooks read, kept on the session's info for their `session.get` (see
    # _prefetch): the requests and their agencies; no hook reads the case's identifiers.
    session.info["cdop_prefetched"] = _requests_of(session, messages, with_case=False)
    return messages


def _run_hooks(uow: UnitOfWork, messages: Sequence[OutboxMessage], settings: Settings,
               registry: Mapping[str, MessageKind]) -> None:
    # No autoflush between hooks: what they add (ladder steps, links, audit rows) is
    # written in one flush at the end, a few multi-row statements rather than a flush per
    # message. A hook that must read its own writes flushes them itself.
    by_kind: dict[str, list[OutboxMessage]] = {}
    for message in messages:
        if message.sent_at is None:  # not counted as sent before (see PartlyRefused)
            by_kind.setdefault(message.kind, []).append(message)
    with uow.session.no_autoflush:
        for kind, sent in by_kind.items():
            spec = registry.get(kind)
            if spec is not None and spec.on_sent_batch is not None:
                spec.on_sent_batch(uow, sent, settings)
            elif spec is not None and spec.on_sent is not None:
                for message in sent:
                    spec.on_sent(uow, message, settings)
        for message in messages:
            uow.audit("message_sent", "outbox_message", message.id, case_id=message.case_id,
                      kind=message.kind, business_key=message.business_key)
    uow.session.flush()


def _write_outcomes(uow: UnitOfWork, batch: _Batch) -> None:
    """Release, hold and cancel what the batch did not send, under its claim token."""
    session = uow.session
    mine = OutboxMessage.claim_token == batch.token
    by_reason: dict[str, list[int]] = {}
    for message_id, reason in batch.released:
        by_reason.setdefault(reason, []).append(message_id)
    for reason, message_ids in by_reason.items():
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(message_ids), mine)
            .values(status=OutboxStatus.PENDING, claim_token=None, claimed_at=None, last_error=reason)
            .execution_options(synchronize_session=False))
    if batch.unattempted:
        # Never tried in this run: back as they were (the claim counted no attempt).
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(batch.unattempted), mine)
            .values(status=OutboxStatus.PENDING, claim_token=None, claimed_at=None,
                    attempts=OutboxMessage.attempts - 1)
            .execution_options(synchronize_session=False))
    for message, reason in batch.requeued:
        # Refused by a server that refused every message alike: as it was, pending.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.claim_token == message.claim_token)
            .values(status=OutboxStatus.PENDING, claim_token=None, claimed_at=None, last_error=reason)
            .execution_options(synchronize_session=False))
    for status, entries, action in ((HELD, batch.held, "message_held"),
                                    (OutboxStatus.CANCELLED, batch.cancelled, "message_cancelled")):
        for message, reason in entries:
            values = {"status": status, "claim_token": None, "claimed_at": None, "last_error": reason}
            if message.id in batch.delivered:
                values["delivered_to"] = batch.delivered[message.id]
            changed = session.execute(
                # Its own claim token: a refusal held in a later batch was claimed earlier.
                update(OutboxMessage)
                .where(OutboxMessage.id == message.id,
                       OutboxMessage.claim_token == (message.claim_token or batch.token))
                .values(**values)
                .execution_options(synchronize_session=False)).rowcount
            if changed == 1:
                uow.audit(action, "outbox_message", message.id, case_id=message.case_id,
                          kind=message.kind, business_key=message.business_key, reason=reason)
                if message.id in batch.gate_held:  # located: `cdop gate held`, the held-findings page
                    record_held(uow, message_output(message.id), batch.gate_held[message.id], utcnow().date())
    for message, reason in batch.partly_marked:  # held by _mark_sent, for the others
        uow.audit("message_held", "outbox_message", message.id, case_id=message.case_id,
                  kind=message.kind, business_key=message.business_key, reason=reason)


def raise_for_failures(report: DeliveryReport) -> None:
    """Fail the task if anything was not sent, naming business keys (case numbers,
    agency codes, kinds) and kinds of reason only."""
    parts = []
    if report.held:
        reasons = sorted(set(report.held.values()))
        keys = ", ".join(sorted(report.held)[:20])
        parts.append(f"{len(report.held)} message(s) held ({'; '.join(reasons)}): {keys}"
                     " -- set aside until released (cdop outbox release, or the outbox page)")
    if report.failed:
        reasons = sorted(set(report.failed.values()))
        keys = ", ".join(sorted(report.failed)[:10])
        parts.append(f"{len(report.failed)} message(s) not sent ({'; '.join(reasons)}): {keys}"
                     " -- they stay pending and will be retried")
    if report.outage:
        parts.insert(0, f"{RelayOutage.MARK}: {report.outage} -- nothing was set aside, the outbox"
                        " waits and goes when the server accepts again; operations are told once")
        raise RelayOutage(" | ".join(parts))
    if parts:
        raise DeliveryFailed(" | ".join(parts))


# ---------------------------------------------------------------- held messages


class NotHeld(LookupError):
    """The message named is not held (or does not exist)."""


def held_messages(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == HELD).order_by(OutboxMessage.id)))


def release(settings: Settings, ref: str, *, actor: str) -> OutboxMessage:
    """Put a held message back to pending once its cause is fixed; audited with the actor.
    `ref` is the message's id or its business key; a ref that can be neither is refused
    naming the field, never repeating it."""
    reader = RowReader({"message": ref})
    ref = reader.text("message", max_len=200)
    if reader.problems:
        raise InputError(reader.problems)
    if ref.isascii() and ref.isdigit() and int(ref) > MAX_ID:
        raise InputError([Problem("message", f"is not an outbox id (ids go up to {MAX_ID})")])
    with unit_of_work(settings, actor) as uow:
        session = uow.session
        query = select(OutboxMessage).where(OutboxMessage.status == HELD)
        if ref.isascii() and ref.isdigit():
            query = query.where(OutboxMessage.id == int(ref))
        else:
            query = query.where(OutboxMessage.business_key == ref)
        message = session.scalar(query.with_for_update())
        if message is None:
            raise NotHeld("no held message with that id or business key")
        reason = message.last_error
        changed = session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.status == HELD)
            .values(status=OutboxStatus.PENDING, claim_token=None, claimed_at=None)
            .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            raise NotHeld("no held message with that id or business key")
        uow.audit("message_released", "outbox_message", message.id, case_id=message.case_id,
                  kind=message.kind, business_key=message.business_key, held_for=reason)
        forget_held(session, message_output(message.id))  # tried again: stopped again, found again
        uow.commit()
        session.refresh(message)
        session.expunge(message)
        return message


def release_held_finding(settings: Settings, finding_id: int, reason: str, *, actor: str) -> dict:
    """The coordinator releases a false alarm the gate holds (cdop.confidentiality.held.
    release: audited, the reason encrypted). When it held an outgoing email and nothing
    else holds that email now, the email goes back to the outbox (audited as any release):
    its next composition lets the released text through, and it is sent."""
    from cdop.confidentiality import held

    done = held.release(settings, finding_id, reason, actor)
    done["message"] = None
    what, _, key = done["output"].partition(":")
    if what == held.MESSAGE:
        with unit_of_work(settings) as uow:
            remaining = held.still_held(uow.session, done["output"])
        if not remaining:
            try:
                release(settings, key, actor=actor)
                done["message"] = int(key)
            except NotHeld:  # sent, cancelled or released meanwhile: nothing to put back
                pass
    return done
