"""A message that fails for a reason of its own is held, the rest of the batch is sent,
and transient faults are retried: exactly once, on real databases and a real SMTP server
(aiosmtpd on loopback, with faults injected), property-tested."""

import dataclasses
import datetime as dt
import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from cdop.dev import smtp_sink
from cdop.mail import outbox
from cdop.mail.mailer import Email, SmtpMailer
from cdop.mail.outbox import MessageKind
from cdop.sending import delivery
from cdop.store.db import unit_of_work
from cdop.store.models import AuditEvent, OutboxMessage
from tests.conftest import free_port

KIND = "probe"
DAY = dt.date(2026, 12, 25)  # Christmas Day: a bank holiday
POISONS = ("compose", "header", "5xx")
NAMES = ("Łukasz Weiß", "Søren O'Neill", "Grace O’Neill-Hope", "Will May")


def compose_probe(session, message, settings) -> Email:
    poison = message.params["poison"]
    if poison == "compose":
        # A composing bug whose text holds a value: it must never reach the outbox.
        raise ValueError(f"cannot compose for {NAMES[message.sequence % len(NAMES)]}")
    subject = message.subject
    if poison == "header":
        subject = f"Review for {NAMES[message.sequence % len(NAMES)]}\r\nBcc: someone@example.org"
    return Email(message_id=message.message_id, sender=settings.policy.mail_from,
                 to=tuple(message.to_addrs), subject=subject, text=f"probe {message.business_key}\n",
                 headers=outbox.message_headers(message))


def on_sent_probe(uow, message, settings) -> None:
    uow.audit("probe_step_taken", "outbox_message", message.id, step=message.sequence)


REGISTRY = {KIND: MessageKind(compose_probe, on_sent_probe)}
_examples = itertools.count(1)

transient = st.sampled_from(["451 Requested action aborted: try again later", "drop"])


@st.composite
def scenarios(draw):
    kinds = draw(st.lists(st.sampled_from(("good", "good", *POISONS)), min_size=1, max_size=14))
    faults = draw(st.dictionaries(st.integers(1, len(kinds) + 4), transient, max_size=6))
    batch_size = draw(st.integers(1, 6))
    mark_every = draw(st.integers(1, 4))
    return kinds, faults, batch_size, mark_every


def _reset(settings) -> None:
    with unit_of_work(settings) as uow:
        uow.session.execute(delete(AuditEvent))
        uow.session.execute(delete(OutboxMessage))
        uow.commit()


def _enqueue(settings, run: int, kinds: list[str]) -> dict[str, str]:
    """The messages of one example; returns business key -> what it is."""
    expected = {}
    with unit_of_work(settings) as uow:
        for number, what in enumerate(kinds, 1):
            key = outbox.business_key("probe", run, number)
            to = f"refused-{run}-{number}@example.nhs.net" if what == "5xx" else "records@example.nhs.net"
            outbox.enqueue(uow, settings, key=key, kind=KIND, to=[to], subject=f"Probe {number}",
                           business_date=DAY, sequence=number, params={"poison": what})
            expected[key] = what
        uow.commit()
    return expected


@hsettings(max_examples=30, deadline=None, derandomize=True, database=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios())
def test_any_mix_of_good_and_poisoned_messages_and_faults_sends_each_good_one_once(settings, scenario):
    kinds, faults, batch_size, mark_every = scenario
    run = next(_examples)
    _reset(settings)
    expected = _enqueue(settings, run, kinds)
    refused = {f"refused-{run}-{n}@example.nhs.net": "550 5.1.1 no such user"
               for n, what in enumerate(kinds, 1) if what == "5xx"}
    mail_dir = Path(tempfile.mkdtemp(prefix="cdop-probe-mail-"))
    port = free_port()
    sink = smtp_sink.start(
        mail_dir, port=port,
        drop_on={n for n, f in faults.items() if f == "drop"},
        answer_on={n: f for n, f in faults.items() if f != "drop"},
        refuse=refused)
    smtp = dataclasses.replace(settings.smtp, port=port, timeout=10)
    held_seen: dict[str, int] = {}
    try:
        for _round in range(len(faults) + len(kinds) + 3):  # every run makes progress
            mailer = SmtpMailer(smtp, settings.policy.mail_from)
            try:
                report = delivery.deliver(settings, mailer, kinds=[KIND], registry=REGISTRY,
                                          batch_size=batch_size, mark_every=mark_every)
            finally:
                mailer.close()
            for key in report.held:
                held_seen[key] = held_seen.get(key, 0) + 1
            with unit_of_work(settings) as uow:
                open_ = uow.session.scalar(select(func.count()).where(
                    OutboxMessage.status.in_(("pending", "sending"))))
            if not open_:
                break
        # Once nothing is open, further runs send and hold nothing more.
        for _ in range(2):
            mailer = SmtpMailer(smtp, settings.policy.mail_from)
            try:
                again = delivery.deliver(settings, mailer, kinds=[KIND], registry=REGISTRY)
            finally:
                mailer.close()
            assert again.as_dict() == {"sent": 0, "failed": 0, "skipped": 0}
    finally:
        sink.stop()

    received = [m["Message-ID"] for m in smtp_sink.read_messages(mail_dir)]
    with unit_of_work(settings) as uow:
        rows = {m.business_key: m for m in uow.session.scalars(select(OutboxMessage))}
        for m in rows.values():
            uow.session.expunge(m)
        audits = uow.session.execute(select(AuditEvent.action, AuditEvent.entity_id)).all()
    assert set(rows) == set(expected)  # nothing lost
    good = {k for k, what in expected.items() if what == "good"}
    for key, what in expected.items():
        row = rows[key]
        if what == "good":
            assert row.status == "sent", (key, row.status, row.last_error)
            assert received.count(row.message_id) == 1  # one Message-ID, once
        else:
            assert row.status == "held", (key, what, row.status)
            assert row.message_id not in received
            assert held_seen.get(key) == 1  # held once, never tried again
            assert row.last_error == {"compose": "could not be composed (ValueError)",
                                      "header": "invalid header",
                                      "5xx": "refused by the server (550)"}[what]
            assert not any(n.split()[0] in row.last_error for n in NAMES)
    assert len(received) == len(good)
    # The on_sent hook ran once per sent message; each held one is audited once.
    sent_ids = sorted(rows[k].id for k in good)
    assert sorted(i for a, i in audits if a == "probe_step_taken") == sent_ids
    assert sorted(i for a, i in audits if a == "message_sent") == sent_ids
    assert sorted(i for a, i in audits if a == "message_held") == sorted(
        rows[k].id for k in expected if k not in good)
