"""The outbox page lists held messages and releases one (CSRF-protected, audited with the
signed-in Airflow user), through Airflow's own API app as in test_ops_pages."""

import datetime as dt

import pytest
from sqlalchemy import select, update

from cdop.intake.notifications import register_notifications
from cdop.requests.agency_requests import plan_agency_requests
from cdop.sending import delivery
from cdop.store.db import unit_of_work
from cdop.store.models import Agency, AuditEvent, OutboxMessage
from cdop_airflow.sending import send_pending
from tests.e2e.test_ops_pages import airflow_app, signed_in  # noqa: F401 -- fixtures
from tests.support.ops import csrf_from

CHILD = {
    "forenames": "May", "surname": "Ó Briain-Søren", "date_of_birth": "2016-05-04", "date_of_death": "2026-11-20",
    "nhs_number": "9434765919", "sex": "female", "place_of_death": "home", "expected": "no",
    "agencies": ["RUH", "POL"],
}
KEY = "CDOP-2026-0001/POL/agency_request/1"


@pytest.fixture
def held(agencies, smtp_server):
    register_notifications(agencies, [CHILD], today=dt.date(2026, 11, 26), first_row=None)
    with unit_of_work(agencies) as uow:
        uow.session.execute(update(Agency).where(Agency.code == "POL").values(name="Police\r\nBcc: x@y.org"))
        uow.commit()
    plan_agency_requests(agencies, dt.date(2026, 11, 26))
    with pytest.raises(delivery.DeliveryFailed):
        send_pending(agencies, kinds=["agency_request"])
    with unit_of_work(agencies) as uow:
        return uow.session.scalar(select(OutboxMessage.id).where(OutboxMessage.business_key == KEY))


def test_the_outbox_page_shows_a_held_message_and_releases_it(signed_in, agencies, held):  # noqa: F811
    page = signed_in.get("/cdop/outbox")
    assert page.status_code == 200
    assert "Set aside, not sent (1)" in page.text and KEY in page.text and "invalid header" in page.text
    assert "Bcc" not in page.text and "Søren" not in page.text
    token = csrf_from(page.text)

    assert signed_in.post("/cdop/outbox/release", data={"message": str(held)}).status_code == 403  # no token
    assert signed_in.post("/cdop/outbox/release", data={"message": str(held), "csrf_token": token},
                          headers={"sec-fetch-site": "cross-site"}).status_code == 403
    refused = signed_in.post("/cdop/outbox/release", data={"message": "x'; --", "csrf_token": token})
    assert refused.status_code == 422 and "x&#39;; --" not in refused.text and "x'; --" not in refused.text

    done = signed_in.post("/cdop/outbox/release", data={"message": str(held), "csrf_token": token},
                          follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/cdop/outbox?done=message_released"
    assert "Message released" in signed_in.get(done.headers["location"]).text
    again = signed_in.post("/cdop/outbox/release", data={"message": str(held), "csrf_token": token})
    assert again.status_code == 404 and "is not held" in again.text
    with unit_of_work(agencies) as uow:
        assert uow.session.get(OutboxMessage, held).status == "pending"
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "message_released"))
        assert event.actor == "coordinator" and event.details["business_key"] == KEY
