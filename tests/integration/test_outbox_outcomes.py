"""Outbox outcomes by cause, on real databases and a real SMTP server on loopback:

- a server that refuses the SENDER (or every message alike) holds nothing: the outbox
  stays pending, the run fails loudly, operations hear of it once, and once the relay is
  fixed every message goes exactly once;
- a message refused for one recipient only is recorded per recipient: it counts as sent
  when its primary recipient has it, and a release sends it to the others only;
- a sender killed mid-message (SIGKILL) counts the interruption against the message in
  flight only, never against the one it had just sent.
"""

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select, update

from cdop.dev import smtp_sink
from cdop.intake.notifications import register_notifications
from cdop.mail import outages, task_failures
from cdop.requests import chasing
from cdop.requests.agency_requests import plan_agency_requests
from cdop.sending import delivery
from cdop.store.db import unit_of_work
from cdop.store.models import AgencyRequest, AuditEvent, MailOutage, OutboxMessage
from cdop_airflow.sending import send_pending, send_task_failure
from tests.conftest import ROOT
from tests.support.chasing import chase_day, notify, send_requests

TODAY = dt.date(2026, 11, 26)
CHILDREN = [
    {"forenames": "Łukasz", "surname": "Weiß", "date_of_birth": "2015-05-05", "date_of_death": "2026-11-20",
     "nhs_number": "9434765919", "sex": "male", "place_of_death": "home", "expected": "no",
     "agencies": ["RUH", "GPHC", "POL", "SCH1"]},
    {"forenames": "Hope", "surname": "O'Neill", "date_of_birth": "2012-08-26", "date_of_death": "2026-11-21",
     "nhs_number": "4010232137", "sex": "female", "place_of_death": "hospital", "expected": "no",
     "agencies": ["RUH", "GPHC", "POL", "SCH2"]},
]


@pytest.fixture
def queued(agencies):
    register_notifications(agencies, CHILDREN, today=TODAY, first_row=None)
    assert len(plan_agency_requests(agencies, TODAY)) == 8
    return agencies


def serve(smtp_server, **faults) -> None:
    """Restart the loopback server on its port and folder with the faults given."""
    smtp_server.stop()
    smtp_server.controller = smtp_sink.start(smtp_server.dir, port=smtp_server.port, **faults)
    smtp_server.running = True


def states(settings) -> dict[str, str]:
    with unit_of_work(settings) as uow:
        return dict(uow.session.execute(select(OutboxMessage.business_key, OutboxMessage.status)
                                        .where(OutboxMessage.kind == "agency_request")).all())


def of_kind(settings, kind: str) -> list[OutboxMessage]:
    with unit_of_work(settings) as uow:
        found = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()
        for m in found:
            uow.session.expunge(m)
        return list(found)


def test_the_failure_notice_dates_itself_in_england_like_every_task(queued, smtp_server):
    """A run at 23:30 UTC on a summer evening belongs to the next day in England: the
    notice is dated as the run's tasks date themselves (runtime.business_date)."""
    serve(smtp_server)
    late = dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC)
    send_task_failure(dag_id="cdop_send_agency_requests", task_id="send_requests",
                      run_id="scheduled__2026-07-01T23:30:00+00:00", failure_text="", logical_date=late)
    [notice] = of_kind(queued, task_failures.KIND)
    assert notice.business_date == dt.date(2026, 7, 2) and notice.status == "sent"


# ------------------------------------------------------------ the server's refusal


def test_a_relay_that_refuses_the_sender_holds_nothing_fails_loudly_and_alerts_once(queued, smtp_server):
    serve(smtp_server, refuse_sender="550 5.7.1 sender address rejected")
    for _run in range(3):  # the outage lasts three runs
        with pytest.raises(delivery.RelayOutage) as err:
            send_pending(queued, kinds=["agency_request"])
        text = str(err.value)
        assert "the server refused the sender (550)" in text and "nothing was set aside" in text
        assert "Weiß" not in text and "O'Neill" not in text
        assert set(states(queued).values()) == {"pending"}  # 0 held, all pending
        # The task's failure callback: the outage's notice covers the run, none of its own.
        send_task_failure(dag_id="cdop_send_agency_requests", task_id="send_requests",
                          run_id=f"scheduled__2026-11-26T09:0{_run}:00+00:00", failure_text=text,
                          logical_date=None)
    assert smtp_server.messages() == []
    notices = of_kind(queued, outages.KIND)
    assert len(notices) == 1 and notices[0].status == "pending"  # one alert for the outage
    assert notices[0].to_addrs == [queued.policy.operations_email]
    assert of_kind(queued, task_failures.KIND) == []
    with unit_of_work(queued) as uow:
        assert [o.current for o in uow.session.scalars(select(MailOutage))] == [True]

    serve(smtp_server)  # the relay is fixed
    assert send_pending(queued, kinds=["agency_request"])["sent"] == 9  # the eight and the notice
    assert set(states(queued).values()) == {"sent"}
    received = collections.Counter(m["Message-ID"] for m in smtp_server.messages())
    assert len(received) == 9 and set(received.values()) == {1}  # each exactly once
    [alert] = [m for m in smtp_server.messages() if m["X-CDOP-Kind"] == outages.KIND]
    assert alert["To"] == queued.policy.operations_email
    assert "the server refused the sender (550)" in alert.get_body(("plain",)).get_content()
    assert send_pending(queued, kinds=["agency_request"]) == {"sent": 0, "failed": 0, "skipped": 0}
    with unit_of_work(queued) as uow:
        [outage] = uow.session.scalars(select(MailOutage)).all()
        assert outage.current is None and outage.ended_at is not None

    # A later outage is a new one: told again, once.
    serve(smtp_server, refuse_sender="550 5.7.1 sender address rejected")
    register_notifications(queued, [{**CHILDREN[0], "forenames": "Grace", "nhs_number": "9876543210"}],
                           today=TODAY, first_row=None)
    plan_agency_requests(queued, TODAY)
    for _run in range(2):
        with pytest.raises(delivery.RelayOutage):
            send_pending(queued, kinds=["agency_request"])
    assert len(of_kind(queued, outages.KIND)) == 2


def test_the_same_policy_refusal_for_every_message_is_the_servers_not_theirs(queued, smtp_server):
    """Refused at RCPT for every recipient, at every domain, with the same 5.7.1 (a relay
    that no longer relays for us): nothing held, the run fails as an outage."""
    with unit_of_work(queued) as uow:
        addresses = {a for m in uow.session.scalars(select(OutboxMessage)) for a in m.to_addrs}
    serve(smtp_server, refuse={a: "554 5.7.1 relay access denied" for a in addresses})
    with pytest.raises(delivery.RelayOutage) as err:
        send_pending(queued, kinds=["agency_request"])
    assert "the same refusal for every message (refused by the server (554))" in str(err.value)
    assert set(states(queued).values()) == {"pending"}
    serve(smtp_server)
    assert send_pending(queued, kinds=["agency_request"])["sent"] == 9
    received = collections.Counter(m["Message-ID"] for m in smtp_server.messages())
    assert len(received) == 9 and set(received.values()) == {1}


def test_a_bad_mailbox_is_still_the_messages_own(queued, smtp_server):
    """The same "no such mailbox" (5.1.1) for several recipients is theirs: held, the
    rest sent, no outage."""
    with unit_of_work(queued) as uow:
        addresses = sorted({a for m in uow.session.scalars(select(OutboxMessage)) for a in m.to_addrs})
    refused = [a for a in addresses if "riverside" in a or "hillcrest" in a or "cjsm" in a]
    serve(smtp_server, refuse={a: "550 5.1.1 mailbox unavailable" for a in refused})
    with pytest.raises(delivery.DeliveryFailed) as err:
        send_pending(queued, kinds=["agency_request"])
    assert not isinstance(err.value, delivery.RelayOutage)
    assert sorted(states(queued).values()) == ["held"] * 6 + ["sent"] * 2
    assert of_kind(queued, outages.KIND) == []


# ------------------------------------------------------------ a partial refusal


def _request(settings, case_number: str, agency: str) -> dict:
    with unit_of_work(settings) as uow:
        request = uow.session.scalar(select(AgencyRequest).where(AgencyRequest.case.has(case_number=case_number),
                                                                 AgencyRequest.agency.has(code=agency)))
        return {"ladder_step": request.ladder_step, "next_chase_on": request.next_chase_on}


def test_an_escalation_refused_for_the_coordinator_in_copy_counts_as_sent_and_is_released_to_the_coordinator_only(
        agencies, smtp_server):
    case, _ = notify(agencies, ["RUH"], on=dt.date(2026, 11, 13))
    send_requests(agencies, dt.date(2026, 11, 16))
    for day in (dt.date(2027, 1, 20), dt.date(2027, 1, 21)):
        chase_day(agencies, day)
    assert _request(agencies, case, "RUH")["ladder_step"] == 2
    coordinator = agencies.policy.coordinator_email
    serve(smtp_server, refuse={coordinator: "550 5.1.1 mailbox unavailable"})

    with pytest.raises(delivery.DeliveryFailed) as err:
        chase_day(agencies, dt.date(2027, 1, 22))
    assert "refused by the server for some recipients (550)" in str(err.value)
    [escalation] = of_kind(agencies, chasing.ESCALATION)
    agency_addr = escalation.to_addrs[0]
    assert escalation.cc_addrs == [coordinator]
    # The agency has it: it counts as sent -- the ladder moved on -- and whom it reached is kept.
    assert escalation.status == "held" and escalation.sent_at is not None
    assert escalation.delivered_to == [agency_addr]
    assert _request(agencies, case, "RUH") == {"ladder_step": 3, "next_chase_on": None}
    first = [m for m in smtp_server.messages() if m["X-CDOP-Kind"] == chasing.ESCALATION]
    assert len(first) == 1 and first[0]["X-Envelope-To"] == agency_addr

    serve(smtp_server)  # the coordinator's mailbox is back
    delivery.release(agencies, str(escalation.id), actor="coordinator")
    assert chase_day(agencies, dt.date(2027, 1, 25))["sent"] == 1
    copies = [m for m in smtp_server.messages() if m["X-CDOP-Kind"] == chasing.ESCALATION]
    assert len(copies) == 2
    # The second copy went to the coordinator only, with the same Message-ID.
    assert copies[1]["X-Envelope-To"] == coordinator
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"] == escalation.message_id
    assert copies[1]["Cc"] == coordinator and copies[1]["To"] == agency_addr  # the same headers
    [after] = of_kind(agencies, chasing.ESCALATION)
    assert after.status == "sent" and after.sent_at == escalation.sent_at
    assert _request(agencies, case, "RUH") == {"ladder_step": 3, "next_chase_on": None}
    with unit_of_work(agencies) as uow:
        steps = uow.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "chase_sent")).all()
    assert [d["step"] for d in steps] == [1, 2, 3]  # the escalation's step taken once


def test_a_message_refused_for_its_primary_recipient_is_not_sent_and_goes_to_them_only_on_release(
        agencies, smtp_server):
    case, _ = notify(agencies, ["RUH"], on=dt.date(2026, 11, 13))
    send_requests(agencies, dt.date(2026, 11, 16))
    for day in (dt.date(2027, 1, 20), dt.date(2027, 1, 21)):
        chase_day(agencies, day)
    with unit_of_work(agencies) as uow:
        escalation_to = uow.session.scalar(select(AgencyRequest).where(
            AgencyRequest.case.has(case_number=case))).agency.escalation_email
    serve(smtp_server, refuse={escalation_to: "550 5.1.1 mailbox unavailable"})
    with pytest.raises(delivery.DeliveryFailed):
        chase_day(agencies, dt.date(2027, 1, 22))
    [escalation] = of_kind(agencies, chasing.ESCALATION)
    assert escalation.status == "held" and escalation.sent_at is None
    assert escalation.delivered_to == [agencies.policy.coordinator_email]
    assert _request(agencies, case, "RUH")["ladder_step"] == 2  # not taken: the agency has not got it
    serve(smtp_server)
    delivery.release(agencies, escalation.business_key, actor="coordinator")
    chase_day(agencies, dt.date(2027, 1, 25))
    copies = [m for m in smtp_server.messages() if m["X-CDOP-Kind"] == chasing.ESCALATION]
    assert [m["X-Envelope-To"] for m in copies] == [agencies.policy.coordinator_email, escalation_to]
    assert _request(agencies, case, "RUH")["ladder_step"] == 3


# ------------------------------------------------------------ a crash in flight

DELIVERER = """
from cdop.config import get_settings
from cdop.sending import delivery
from cdop.mail.mailer import SmtpMailer
settings = get_settings()
mailer = SmtpMailer(settings.smtp, settings.policy.mail_from)
delivery.deliver(settings, mailer, kinds=["agency_request"])
"""


def attempts(settings) -> dict[str, tuple[str, int]]:
    with unit_of_work(settings) as uow:
        return {k: (s, n) for k, s, n in uow.session.execute(
            select(OutboxMessage.business_key, OutboxMessage.status, OutboxMessage.attempts)).all()}


def test_a_sender_killed_in_flight_counts_against_that_message_only(queued, smtp_server):
    """The server never answers the poison's DATA; each time the sender is killed there
    (SIGKILL). From the takeover on, only the poison's counter rises: its neighbours are
    sent and marked before it goes, and none is held as interrupted."""
    cap = queued.policy.send_interrupted_max
    with unit_of_work(queued) as uow:
        keys = list(uow.session.scalars(select(OutboxMessage.business_key).order_by(OutboxMessage.id)))
    poison, before = keys[3], keys[2]
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'include'}{os.pathsep}{ROOT}"}
    seen = []
    for _ in range(cap):
        serve(smtp_server, hang_on_key=poison)
        victim = subprocess.Popen([sys.executable, "-c", DELIVERER], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        try:
            while not smtp_server.controller.handler.hanging.is_set():
                assert victim.poll() is None, victim.communicate()[1][-2000:]
                time.sleep(0.05)
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=60)
        with unit_of_work(queued) as uow:  # the lease runs out
            uow.session.execute(update(OutboxMessage).where(OutboxMessage.status == "sending").values(
                claimed_at=dt.datetime.utcnow() - dt.timedelta(minutes=queued.policy.send_lease_minutes + 1)))
            uow.commit()
        seen.append(attempts(queued))
    # The first kill left its whole batch "sending"; the next run took them over one at
    # a time, sent and marked those before the poison, and was killed on the poison.
    assert all(seen[1][k][0] == "sent" for k in keys[:3]) and seen[1][before][0] == "sent"
    # Each further kill raised the poison's count only: nothing else changed.
    for earlier, later in zip(seen[1:], seen[2:], strict=False):
        assert later[poison] == ("sending", earlier[poison][1] + 1)
        assert {k: v for k, v in later.items() if k != poison} == {k: v for k, v in earlier.items() if k != poison}

    serve(smtp_server)
    report = delivery.deliver(queued, _mailer(queued), kinds=["agency_request"])
    assert report.held == {poison: delivery.INTERRUPTED}  # the poison alone
    assert states(queued) == {**dict.fromkeys(set(keys) - {poison}, "sent"), poison: "held"}


def _mailer(settings):
    from cdop.mail.mailer import SmtpMailer

    return SmtpMailer(settings.smtp, settings.policy.mail_from)
