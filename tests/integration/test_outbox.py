"""Exactly-once delivery through the outbox on real databases."""

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select, update

from cdop.intake.notifications import register_notifications
from cdop.mail import outbox
from cdop.mail.mailer import MailError, RecordingMailer
from cdop.requests.agency_requests import plan_agency_requests
from cdop.sending import delivery
from cdop.store.db import unit_of_work
from cdop.store.models import AgencyRequest, OutboxMessage

TODAY = dt.date(2026, 11, 26)
CHILD = {
    "forenames": "Wren", "surname": "Halloway", "date_of_birth": "2015-05-05", "date_of_death": "2026-11-20",
    "nhs_number": "9434765919", "sex": "female", "place_of_death": "home", "expected": "no",
    "agencies": ["RUH", "GPHC", "POL", "SCH1"],
}


@pytest.fixture
def planned(agencies):
    register_notifications(agencies, [CHILD], today=TODAY, first_row=None)
    ids = plan_agency_requests(agencies, TODAY)
    assert len(ids) == 4
    assert plan_agency_requests(agencies, TODAY) == []  # planning again adds nothing
    return agencies


def statuses(settings):
    with unit_of_work(settings) as uow:
        return sorted(uow.session.scalars(select(OutboxMessage.status)))


def test_deliver_twice_sends_once(planned):
    mailer = RecordingMailer()
    assert delivery.deliver(planned, mailer).as_dict() == {"sent": 4, "failed": 0, "skipped": 0}
    assert delivery.deliver(planned, mailer).as_dict() == {"sent": 0, "failed": 0, "skipped": 0}
    assert len(mailer.sent) == 4 and len({e.message_id for e in mailer.sent}) == 4
    with unit_of_work(planned) as uow:
        requests = uow.session.scalars(select(AgencyRequest)).all()
        assert {r.status for r in requests} == {"sent"}
        assert {r.due_on for r in requests} == {dt.date(2026, 12, 24)}  # 20 working days
        assert {r.next_chase_on for r in requests} == {dt.date(2027, 1, 5)}  # +5, over Christmas


def test_two_runs_at_once_never_send_a_second_copy(planned):
    class SlowMailer(RecordingMailer):
        def send(self, email):
            time.sleep(0.05)
            super().send(email)

    first, second = SlowMailer(), SlowMailer()
    threads = [threading.Thread(target=delivery.deliver, args=(planned, m)) for m in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = [e.message_id for e in first.sent + second.sent]
    assert len(sent) == 4 and len(set(sent)) == 4
    assert statuses(planned) == ["sent"] * 4


def test_a_failed_send_stays_pending_with_its_reason_and_is_sent_next_time(planned):
    report = delivery.deliver(planned, RecordingMailer(fail_on={2}))
    assert report.as_dict() == {"sent": 3, "failed": 1, "skipped": 0}
    with pytest.raises(delivery.DeliveryFailed) as err:
        delivery.raise_for_failures(report)
    assert "SMTP connection failed" in str(err.value) and "CDOP-2026-0001/" in str(err.value)
    assert "Halloway" not in str(err.value)
    with unit_of_work(planned) as uow:
        failed = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.status == "pending"))
        assert failed.last_error == "SMTP connection failed (test)" and failed.attempts == 1
        request = uow.session.get(AgencyRequest, failed.request_id)
        assert request.status == "pending" and request.due_on is None  # not sent, not due
        failed_message_id = failed.message_id
    retry = RecordingMailer()
    assert delivery.deliver(planned, retry).as_dict()["sent"] == 1
    assert retry.sent[0].message_id == failed_message_id


def test_a_sender_that_died_after_claiming_is_taken_over_after_the_lease(planned):
    with unit_of_work(planned) as uow:
        # Simulate a worker that claimed a message, handed it to SMTP and died.
        victim = uow.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id))
        victim_id, victim_message_id = victim.id, victim.message_id
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.id == victim_id)
                            .values(status="sending", claim_token="dead", claimed_at=dt.datetime.utcnow()))
        uow.commit()
    mailer = RecordingMailer()
    assert delivery.deliver(planned, mailer).as_dict()["sent"] == 3  # still leased: left alone
    with unit_of_work(planned) as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.id == victim_id)
                            .values(claimed_at=dt.datetime.utcnow() - dt.timedelta(hours=1)))
        uow.commit()
    assert delivery.deliver(planned, mailer).as_dict()["sent"] == 1
    assert mailer.sent[-1].message_id == victim_message_id  # a repeat carries the same Message-ID
    assert statuses(planned) == ["sent"] * 4


def test_message_id_is_derived_from_the_business_key(planned):
    with unit_of_work(planned) as uow:
        msg = uow.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id))
        uow.session.expunge(msg)
    assert msg.business_key == "CDOP-2026-0001/RUH/agency_request/1"
    assert msg.message_id == outbox.message_id_for(msg.business_key, planned.policy.mail_domain)
    assert msg.message_id.endswith("@cdop.example.nhs.net>")


def test_unexpected_mail_error_type_is_reported_without_content():
    err = MailError("SMTP 554 refused the message")
    assert "554" in str(err)
