"""Delivery with its database work on a worker thread beside the sends: a run that stops
puts back what it claimed ahead, and a chase batch is composed in the same few queries
whatever its size (real databases; a recording mailer that writes each message)."""

import datetime as dt
import threading

from sqlalchemy import event, select, update

from cdop.intake.notifications import register_notifications
from cdop.mail.mailer import RecordingMailer
from cdop.requests import chasing
from cdop.requests.agency_requests import plan_agency_requests
from cdop.sending import delivery
from cdop.store.db import make_engine, unit_of_work
from cdop.store.models import AgencyRequest, OutboxMessage

TODAY = dt.date(2026, 11, 26)
CHILDREN = [
    {"forenames": "Łukasz", "surname": "Weiß", "date_of_birth": "2015-05-05", "date_of_death": "2026-11-20",
     "nhs_number": "9434765919", "sex": "male", "place_of_death": "home", "expected": "no",
     "agencies": ["RUH", "GPHC", "POL", "SCH1"]},
    {"forenames": "Hope", "surname": "O'Neill", "date_of_birth": "2012-08-26", "date_of_death": "2026-11-21",
     "nhs_number": "4010232137", "sex": "female", "place_of_death": "hospital", "expected": "no",
     "agencies": ["RUH", "GPHC", "POL", "SCH2"]},
]


def queue_requests(settings) -> None:
    register_notifications(settings, CHILDREN, today=TODAY, first_row=None)
    assert len(plan_agency_requests(settings, TODAY)) == 8


def outbox(settings):
    with unit_of_work(settings) as uow:
        return uow.session.execute(
            select(OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.claim_token)
            .order_by(OutboxMessage.id)).all()


def test_a_run_that_stops_puts_back_the_batch_it_claimed_ahead(agencies):
    queue_requests(agencies)
    # Batches of two: the first two sends fail, then the first of the second batch, and
    # the run stops; the third batch was already claimed (and composed) meanwhile.
    failing = RecordingMailer(fail_on={1, 2, 3})
    report = delivery.deliver(agencies, failing, batch_size=2, max_consecutive_failures=3)
    assert report.as_dict() == {"sent": 0, "failed": 3, "skipped": 1}
    rows = outbox(agencies)
    assert [r.status for r in rows] == ["pending"] * 8
    assert [r.attempts for r in rows] == [1, 1, 1, 0, 0, 0, 0, 0]  # a claim ahead counts no attempt
    assert {r.claim_token for r in rows} == {None}
    # The next run sends every one, once.
    mailer = RecordingMailer()
    assert delivery.deliver(agencies, mailer, batch_size=2).as_dict() == {"sent": 8, "failed": 0, "skipped": 0}
    assert len({e.message_id for e in mailer.sent}) == 8
    assert [r.status for r in outbox(agencies)] == ["sent"] * 8


def count_selects(settings, work) -> int:
    """The SELECTs of claiming and composing: not those of marking sent, which runs on a
    thread of its own as soon as it is free (so as many times as the timing makes it)."""
    engine = make_engine(settings)
    seen = []

    def listen(conn, cursor, statement, *args):
        if threading.current_thread().name.startswith("cdop-outbox-mark"):
            return
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return len(seen)


def test_a_chase_batch_is_composed_in_the_same_queries_whatever_its_size(agencies):
    queue_requests(agencies)
    assert delivery.deliver(agencies, RecordingMailer()).as_dict()["sent"] == 8
    with unit_of_work(agencies) as uow:
        ids = uow.session.scalars(select(AgencyRequest.id).order_by(AgencyRequest.id)).all()
    # Two of the eight are due their first reminder on 5 January, the other six a day later.
    with unit_of_work(agencies) as uow:
        uow.session.execute(update(AgencyRequest).where(AgencyRequest.id.in_(ids[2:]))
                            .values(next_chase_on=dt.date(2027, 1, 6)))
        uow.commit()
    selects = {}
    for day, due in ((dt.date(2027, 1, 5), ids[:2]), (dt.date(2027, 1, 6), ids[2:])):
        assert len(chasing.plan_chases(agencies, day)) == len(due)
        mailer = RecordingMailer()
        selects[len(due)] = count_selects(
            agencies, lambda m=mailer: delivery.deliver(agencies, m, kinds=chasing.KINDS))
        assert len(mailer.sent) == len(due)
        assert all("CDOP-" in e.subject for e in mailer.sent)
    assert selects[2] == selects[6], selects
