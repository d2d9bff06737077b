"""One bad row no longer stalls the outbox: a carriage return in an agency's name holds
that agency's messages, the rest are sent, the task fails naming business keys only, the
digest says so and a coordinator releases the message once the directory is fixed."""

import datetime as dt

import pytest
from sqlalchemy import select, update

from cdop.intake.notifications import register_notifications
from cdop.requests import digest
from cdop.requests.agency_requests import plan_agency_requests
from cdop.sending import delivery
from cdop.store.db import unit_of_work
from cdop.store.models import Agency, AuditEvent, OutboxMessage
from cdop_airflow.sending import send_pending
from tests.conftest import cli

TODAY = dt.date(2026, 11, 26)
CHILD = {
    "forenames": "Grace", "surname": "O’Neill-Weiß", "date_of_birth": "2016-05-04", "date_of_death": "2026-11-20",
    "nhs_number": "9434765919", "sex": "female", "place_of_death": "home", "expected": "no",
    "agencies": ["RUH", "GPHC", "POL", "SCH1"],
}
BAD_NAME = "Westshire Police\rBcc: leak@example.org"


@pytest.fixture
def poisoned(agencies):
    """Four requests queued; the police's name in the directory carries a carriage return."""
    register_notifications(agencies, [CHILD], today=TODAY, first_row=None)
    with unit_of_work(agencies) as uow:
        uow.session.execute(update(Agency).where(Agency.code == "POL").values(name=BAD_NAME))
        uow.commit()
    assert len(plan_agency_requests(agencies, TODAY)) == 4
    return agencies


def rows(settings) -> dict[str, OutboxMessage]:
    with unit_of_work(settings) as uow:
        found = {m.business_key: m for m in uow.session.scalars(select(OutboxMessage))}
        for m in found.values():
            uow.session.expunge(m)
        return found


POL_KEY = "CDOP-2026-0001/POL/agency_request/1"


def test_a_bad_agency_name_holds_its_message_and_the_rest_of_the_batch_goes(poisoned, smtp_server):
    with pytest.raises(delivery.DeliveryFailed) as err:
        send_pending(poisoned, kinds=["agency_request"])
    text = str(err.value)
    assert POL_KEY in text and "invalid header" in text
    assert "Westshire" not in text and "O’Neill" not in text and "Bcc" not in text
    assert len(smtp_server.messages()) == 3  # the other three went
    held = rows(poisoned)[POL_KEY]
    assert held.status == "held" and held.last_error == "invalid header" and held.attempts == 1

    # Never retried for ever: the next runs leave it alone and succeed.
    for _ in range(2):
        assert send_pending(poisoned, kinds=["agency_request"]) == {"sent": 0, "failed": 0, "skipped": 0}
    assert rows(poisoned)[POL_KEY].attempts == 1
    assert len(smtp_server.messages()) == 3

    # The digest tells the coordinator.
    shown = digest.render_text(poisoned, dt.date(2026, 11, 27))
    assert "MESSAGES SET ASIDE, NOT SENT (1)" in shown and POL_KEY in shown and "invalid header" in shown
    assert "Westshire" not in shown


def test_a_coordinator_lists_and_releases_a_held_message_from_the_command_line(poisoned, smtp_server):
    with pytest.raises(delivery.DeliveryFailed):
        send_pending(poisoned, kinds=["agency_request"])
    listed = cli("outbox", "list", "--status", "held")
    assert listed.returncode == 0, listed.stderr
    assert POL_KEY in listed.stdout and "invalid header" in listed.stdout
    assert "Westshire" not in listed.stdout and listed.stdout.count("\n") == 1

    # Releasing before the cause is fixed just holds it again, once more.
    assert cli("outbox", "release", POL_KEY).returncode == 0
    with pytest.raises(delivery.DeliveryFailed):
        send_pending(poisoned, kinds=["agency_request"])
    assert rows(poisoned)[POL_KEY].status == "held"

    with unit_of_work(poisoned) as uow:  # the directory is corrected (re-import, say)
        uow.session.execute(update(Agency).where(Agency.code == "POL").values(name="Westshire Police"))
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.business_key == POL_KEY)
                            .values(subject="Child death review CDOP-2026-0001: request for information"
                                            " from Westshire Police"))
        uow.commit()
    message_id = rows(poisoned)[POL_KEY].id
    released = cli("outbox", "release", str(message_id))
    assert released.returncode == 0, released.stderr
    assert POL_KEY in released.stdout
    again = cli("outbox", "release", str(message_id))
    assert again.returncode == 2 and "no held message" in again.stderr and "Traceback" not in again.stderr
    assert cli("outbox", "release", "no/such/key").returncode == 2

    assert send_pending(poisoned, kinds=["agency_request"])["sent"] == 1
    sent = [m for m in smtp_server.messages() if m["X-CDOP-Key"] == POL_KEY]
    assert len(sent) == 1 and sent[0]["Message-ID"] == rows(poisoned)[POL_KEY].message_id
    with unit_of_work(poisoned) as uow:
        audits = uow.session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.details)
            .where(AuditEvent.entity == "outbox_message", AuditEvent.entity_id == message_id)
            .order_by(AuditEvent.id)).all()
    # A request on a secure route carries identifiers: its sending is audited as a reveal too.
    assert [a for a, _, _ in audits] == ["message_held", "message_released", "message_held",
                                         "message_released", "identifiers_sent", "message_sent"]
    assert {actor for action, actor, _ in audits if action == "message_released"} == {"test-coordinator"}
    assert all("Westshire" not in str(details) for _, _, details in audits)


def test_a_server_refusal_5xx_holds_only_that_message(poisoned, smtp_server):
    with unit_of_work(poisoned) as uow:  # the bad name is fixed; the GP's address is refused
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.business_key == POL_KEY)
                            .values(subject="Child death review CDOP-2026-0001"))
        gp = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.business_key.like("%/GPHC/%")))
        refused_addr = gp.to_addrs[0]
        uow.commit()
    smtp_server.stop()
    from cdop.dev import smtp_sink

    smtp_server.controller = smtp_sink.start(smtp_server.dir, port=smtp_server.port,
                                             refuse={refused_addr: "550 5.1.1 mailbox unavailable"})
    smtp_server.running = True
    with pytest.raises(delivery.DeliveryFailed) as err:
        send_pending(poisoned, kinds=["agency_request"])
    assert "refused by the server (550)" in str(err.value) and "/GPHC/" in str(err.value)
    assert len(smtp_server.messages()) == 3
    assert {k.split("/")[1]: m.status for k, m in rows(poisoned).items()} == {
        "RUH": "sent", "GPHC": "held", "POL": "sent", "SCH1": "sent"}


def test_a_transient_4xx_is_retried_not_held(poisoned, smtp_server):
    with unit_of_work(poisoned) as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.business_key == POL_KEY)
                            .values(subject="Child death review CDOP-2026-0001"))
        uow.commit()
    smtp_server.stop()
    from cdop.dev import smtp_sink

    smtp_server.controller = smtp_sink.start(smtp_server.dir, port=smtp_server.port,
                                             answer_on={2: "451 4.3.0 try again later"})
    smtp_server.running = True
    with pytest.raises(delivery.DeliveryFailed) as err:
        send_pending(poisoned, kinds=["agency_request"])
    assert "SMTP 451 refused the message" in str(err.value) and "retried" in str(err.value)
    assert sorted(m.status for m in rows(poisoned).values()) == ["pending", "sent", "sent", "sent"]
    assert send_pending(poisoned, kinds=["agency_request"])["sent"] == 1
    ids = [m["Message-ID"] for m in smtp_server.messages()]
    assert len(ids) == 4 and len(set(ids)) == 4
