"""The case timeline reads as a coordinator would write it: one line for one thing that
happened, one name for each person or part of the system, and nothing that reads as if
a finding went to the agency it is about."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from cdop.store.db import unit_of_work
from cdop.store.models import Agency
from cdop.views.cases import case_timeline, describe_event, person
from tests.support.chasing import chase_day, notify, send_requests


def test_sending_a_request_is_one_line_with_what_went_with_it(agencies):
    number, _ = notify(agencies, ["RUH", "GPHC"], on=dt.date(2026, 11, 2), seed=4)
    send_requests(agencies, dt.date(2026, 11, 3))
    for day in range(1, 11):  # due 1 December: the first reminder five working days later
        chase_day(agencies, dt.date(2026, 12, day))
    with unit_of_work(agencies) as uow:
        names = dict(uow.session.execute(select(Agency.code, Agency.name)).all())
        lines = [(e["what"], e["who"]) for e in case_timeline(uow.session, number)]
    whats = [w for w, _ in lines]
    for code in ("RUH", "GPHC"):
        about = [w for w in whats if names[code] in w or f" {code} " in f" {w} "]
        assert len(about) == 2, about
        assert about[0].startswith(f"Information request sent to {names[code]}, due ")
        assert about[1] == f"Reminder 1 sent to {names[code]}"
        assert "portal link" in about[0]
    assert not [w for w in whats if w in ("Message sent", "Portal link issued") or "queued; sent" in w]
    assert "Identifiers sent" not in " ".join(whats)


def test_each_actor_has_one_display_name():
    assert person("airflow:cdop_assemble_case_reports") == "Scheduled task (assemble case reports)"
    assert person("airflow-ui:Grace") == person("airflow:Grace") == person("Grace") == "Grace"
    assert person("outbox") == "Outbox" and person("portal") == "Portal"
    assert person("demo") == "Coordinator (demo)"


def test_the_gates_notice_about_a_portal_return_does_not_read_as_sent_to_that_agency():
    line = describe_event({"source": "outbox", "action": "message_queued",
                           "details": {"kind": "portal_return_flagged", "agency": "POL", "status": "sent"}}, {})
    assert "to POL" not in line and "for the coordinator" in line
