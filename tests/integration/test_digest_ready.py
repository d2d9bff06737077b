"""The digest's "newly ready" covers every case that became ready since the last digest
actually sent, on real SQLite and PostgreSQL with the real SMTP server on loopback: a
case that became ready on a day whose digest never went out is listed in the next one."""

from __future__ import annotations

import datetime as dt

import pytest

from cdop.intake.investigations import record_investigation
from cdop.requests import agency_requests, digest
from cdop.requests.returns import record_return
from cdop.sending.delivery import DeliveryFailed
from cdop.store.db import unit_of_work
from cdop_airflow.sending import send_pending
from tests.support.chasing import chase_day, digest_day, notify, received, send_requests

D = dt.date


def _ready(settings, day: dt.date) -> list[str]:
    with unit_of_work(settings) as uow:
        return [c.case_number for c in digest.build_digest(uow.session, day, settings.policy).ready]


def test_a_case_ready_on_a_day_without_a_digest_is_listed_in_the_next_one_sent(agencies, smtp_server):
    number, _ = notify(agencies, ["RUH", "GPHC"], on=D(2026, 11, 13), investigations=["post_mortem"])
    send_requests(agencies, D(2026, 11, 16))
    chase_day(agencies, D(2026, 12, 21))
    digest_day(agencies, D(2026, 12, 21))  # sent: the overdue returns
    assert len(received(smtp_server, kinds=("daily_digest",))) == 1

    record_return(agencies, number, "RUH", received_on=D(2027, 1, 4), today=D(2027, 1, 4))
    agency_requests.waive_request(agencies, number, "GPHC", reason="Not involved", today=D(2027, 1, 4))
    record_investigation(agencies, number, "post_mortem", status="concluded", on=D(2027, 1, 5),
                         today=D(2027, 1, 5))
    # Tue 5 Jan the case became ready; no digest ran that day or the next two (Airflow
    # was down). Friday's digest, three working days on, lists it: the previous working
    # day's window would have lost it.
    assert _ready(agencies, D(2027, 1, 8)) == [number]
    digest_day(agencies, D(2027, 1, 8))
    [friday] = [m for m in received(smtp_server, kinds=("daily_digest",)) if m["date"] == D(2027, 1, 8)]
    assert "NEWLY READY FOR PANEL (1)" in friday["text"] and number in friday["text"]
    # Once listed in a digest that went out, it is no longer new.
    assert _ready(agencies, D(2027, 1, 11)) == []


def test_a_digest_that_failed_to_send_does_not_count_as_sent(agencies, smtp_server):
    number, _ = notify(agencies, ["RUH"], on=D(2026, 11, 13))
    send_requests(agencies, D(2026, 11, 16))
    record_return(agencies, number, "RUH", received_on=D(2027, 1, 5), today=D(2027, 1, 5))
    # Wednesday's digest is queued while the mail server is down: it is not sent.
    smtp_server.stop()
    assert digest.plan_digest(agencies, D(2027, 1, 6)) is not None
    with pytest.raises(DeliveryFailed):
        send_pending(agencies, kinds=[digest.KIND])
    smtp_server.restart()
    assert received(smtp_server, kinds=("daily_digest",)) == []
    # Thursday: no digest has gone out, so the case is still new.
    assert _ready(agencies, D(2027, 1, 7)) == [number]
    # The mail server is back: Wednesday's digest goes out late, and still lists it
    # (it is composed as of its own date); after that, the case is not new any more.
    digest_day(agencies, D(2027, 1, 7))
    sent = {m["date"]: m["text"] for m in received(smtp_server, kinds=("daily_digest",))}
    assert number in sent[D(2027, 1, 6)]
    assert _ready(agencies, D(2027, 1, 8)) == []
