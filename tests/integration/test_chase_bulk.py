"""The chase sweep's bulk path on real SQLite and PostgreSQL: one INSERT ... SELECT ...
ON CONFLICT DO NOTHING queues exactly what the message-by-message path would, once,
whether the sweep is rerun, runs twice at once, or dies before it commits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import func, literal, select

from cdop.config import LadderStep
from cdop.mail import bulk, outbox
from cdop.requests import chasing
from cdop.store.db import unit_of_work
from cdop.store.models import Agency, AgencyRequest, Case, OutboxMessage

D = dt.date
TODAY = D(2027, 3, 1)  # a Monday
ROOT = Path(__file__).resolve().parents[2]
COORDINATOR = "cdop.coordinator@example.nhs.net"

# (code, name, request address, escalation contact): secure and not, with and without
# an escalation contact, names with apostrophes straight and curly and diacritics.
AGENCIES = [
    ("RUH", "Royal United Hospitals NHS Foundation Trust", "cdr.ruh@nhs.net", "safeguarding.ruh@nhs.net"),
    ("STM", "St Mary’s Children’s Hospice", "office@stmarys.example.org.uk", None),
    ("OSW", "O'Neill & Søren Weiß Practice", "gp.oneill@nhs.net", "partner.weiss@example.com"),
    ("POL", "Łódź Road Police", "cdr@police.cjsm.net", ""),
]


def build_world(settings, cases: int = 12) -> dict[str, dict]:
    """Requests at every rung, due today or not, of open and closed cases, written
    directly; return the expected state of each request by business-key prefix."""
    with unit_of_work(settings) as uow:
        s = uow.session
        agencies = [Agency(code=c, name=n, agency_type="other", request_email=r, escalation_email=e,
                           secure_email=False) for c, n, r, e in AGENCIES]
        s.add_all(agencies)
        s.flush()
        for i in range(cases):
            case = Case(case_number=f"CDOP-2026-{i + 1:04d}", forenames="Grace", surname="O’Neill-Hope",
                        date_of_birth="2019-05-06", identity_index=f"{i:064d}", date_of_death=D(2026, 5, 25),
                        age_at_death_days=2576, age_band="5-9 years", sex="female", ethnicity="not_stated",
                        place_of_death="hospital", death_expected=False, notified_on=D(2026, 5, 26),
                        closed_on=D(2027, 2, 1) if i % 6 == 5 else None)
            s.add(case)
            s.flush()
            for j, agency in enumerate(agencies):
                k = i * len(agencies) + j
                due = k % 5 != 4
                s.add(AgencyRequest(
                    case_id=case.id, agency_id=agency.id, forms=["reporting"], status="sent",
                    requested_on=D(2026, 12, 1), due_on=D(2026, 12, 30), ladder_step=k % 3,
                    next_chase_on=TODAY - dt.timedelta(days=k % 9) if due else TODAY + dt.timedelta(days=2)))
        uow.commit()
    return expected_messages(settings)


def expected_messages(settings) -> dict[str, dict]:
    """What the message-by-message path (outbox.enqueue with recipients()) would queue."""
    policy = settings.policy
    expected = {}
    with unit_of_work(settings) as uow:
        rows = uow.session.execute(chasing.due_for_chase(TODAY)).all()
        for r in rows:
            step = r.ladder_step + 1
            if step > len(policy.chase_ladder) or r.closed_on is not None:
                continue
            action = policy.chase_ladder[step - 1].action
            to, cc = chasing.recipients(policy, r, action)
            key = outbox.business_key(r.case_number, r.agency_code, "chase", step)
            expected[key] = {
                "message_id": outbox.message_id_for(key, policy.mail_domain),
                "kind": chasing._KIND_FOR_ACTION[action], "sequence": step,
                "request_id": r.request_id, "case_id": r.case_id, "agency_id": r.agency_id,
                "to_addrs": to, "cc_addrs": cc,
                # Stored: a generic subject (encrypted); the full one is written at send time.
                "subject": chasing._STORED_SUBJECT[action],
                "secure_route": all(policy.is_secure_address(a) for a in to + cc),
                "business_date": TODAY, "params": {"step": step, "action": action},
                "status": "pending", "attempts": 0,
            }
    return expected


def queued(settings) -> dict[str, dict]:
    fields = ("message_id", "kind", "sequence", "request_id", "case_id", "agency_id", "to_addrs", "cc_addrs",
              "subject", "secure_route", "business_date", "params", "status", "attempts")
    with unit_of_work(settings) as uow:
        return {m.business_key: {f: getattr(m, f) for f in fields}
                for m in uow.session.scalars(select(OutboxMessage))}


def outbox_ids(settings) -> list[int]:
    with unit_of_work(settings) as uow:
        return sorted(uow.session.scalars(select(OutboxMessage.id)))


def test_the_bulk_sweep_queues_what_enqueue_would_and_a_rerun_queues_nothing(settings):
    expected = build_world(settings)
    assert 20 < len(expected) < 48  # some due, some not, some closed
    first = chasing.plan_chases(settings, TODAY)
    assert queued(settings) == expected
    assert first == outbox_ids(settings)
    assert chasing.plan_chases(settings, TODAY) == []  # a rerun
    assert queued(settings) == expected
    with unit_of_work(settings) as uow:
        # Queuing moves no request up the ladder: that waits for the step to be sent.
        steps = uow.session.execute(select(AgencyRequest.ladder_step, func.count()).group_by(
            AgencyRequest.ladder_step)).all()
        assert sorted(steps) == [(0, 16), (1, 16), (2, 16)]


def test_the_stored_subject_names_nothing_and_the_sent_one_names_the_case_and_agency(settings):
    build_world(settings)
    chasing.plan_chases(settings, TODAY)
    with unit_of_work(settings) as uow:
        messages = list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        assert messages
        for message in messages[:6]:
            request = uow.session.get(AgencyRequest, message.request_id)
            number, agency = request.case.case_number, request.agency.name
            assert number not in message.subject and agency not in message.subject
            action = "reminder" if message.kind == chasing.REMINDER else "escalation"
            email = chasing.compose(uow.session, message, settings)
            assert email.subject == chasing.subject_line(action, number, agency)
            assert number in email.subject and agency in email.subject


def test_the_message_id_in_sql_is_the_one_enqueue_derives(settings):
    keys = ["CDOP-2026-0001/RUH/chase/1", "CDOP-2026-0002/OSW/chase/3", "Søren/Weiß/O’Neill/1"]
    with unit_of_work(settings) as uow:
        dialect = bulk.dialect_of(uow)
        for key in keys:
            got = uow.session.scalar(select(bulk.message_id_sql(literal(key), "cdop.example.nhs.net", dialect)))
            assert got == outbox.message_id_for(key, "cdop.example.nhs.net"), key


def test_a_shortened_ladder_stops_the_chase_and_closed_cases_are_left_alone(settings):
    build_world(settings)
    short = dataclasses.replace(settings, policy=settings.policy.model_copy(update={"chase_ladder": (
        LadderStep(after_working_days=5, action="reminder"), LadderStep(after_working_days=10, action="escalation"))}))
    expected = {k: v for k, v in expected_messages(short).items()}
    chasing.plan_chases(short, TODAY)
    assert queued(short) == expected
    assert {v["sequence"] for v in expected.values()} == {1, 2}
    assert {v["kind"] for v in expected.values() if v["sequence"] == 2} == {"chase_escalation"}
    with unit_of_work(short) as uow:
        s = uow.session
        top = s.scalars(select(AgencyRequest).where(AgencyRequest.ladder_step == 2)).all()
        # At the top of the shortened ladder: no date any more, nothing queued.
        assert top and all(r.next_chase_on is None or r.next_chase_on > TODAY for r in top)
        closed = s.execute(select(AgencyRequest.next_chase_on).join(Case).where(
            Case.closed_on.is_not(None), AgencyRequest.ladder_step < 2)).scalars().all()
        assert closed and all(d is not None for d in closed)  # left as they were
        assert not s.scalar(select(func.count()).select_from(OutboxMessage).join(Case).where(
            Case.closed_on.is_not(None)))


def test_two_sweeps_at_once_queue_each_step_once(settings, monkeypatch):
    expected = build_world(settings)
    real = bulk.enqueue_select
    entered = threading.Event()
    inside = threading.Lock()
    first_done = []

    def overlapping(uow, s, messages):
        # The first sweep to insert holds its transaction open until the second has
        # started its own statement (or a while has passed: SQLite makes it wait at BEGIN).
        with inside:
            first = not first_done
            first_done.append(True)
        if not first:
            entered.set()
        ids = real(uow, s, messages)
        if first:
            entered.wait(timeout=3)
        return ids

    monkeypatch.setattr(bulk, "enqueue_select", overlapping)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def sweep():
        try:
            barrier.wait()
            results.append(chasing.plan_chases(settings, TODAY))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    a, b = results
    assert not set(a) & set(b)
    assert sorted(a + b) == outbox_ids(settings)
    assert queued(settings) == expected


CHILD = """
import datetime as dt, sys, time
from cdop.config import settings_from_env
from cdop.requests import chasing
from sqlalchemy import text
from cdop.store import db

def stall(self):
    n = self.session.execute(text("SELECT count(*) FROM outbox_messages")).scalar()
    print(f"inserted {n}", flush=True)
    time.sleep(600)

db.UnitOfWork.commit = stall
chasing.plan_chases(settings_from_env(), dt.date.fromisoformat(sys.argv[1]))
"""


def test_a_sweep_killed_before_it_commits_leaves_nothing_half_queued(settings):
    expected = build_world(settings)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "include"), str(ROOT)]))
    child = subprocess.Popen([sys.executable, "-c", CHILD, TODAY.isoformat()], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        # Inside its own transaction the dead sweep had queued every step.
        assert line.strip() == f"inserted {len(expected)}"
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert outbox_ids(settings) == []
    first = chasing.plan_chases(settings, TODAY)
    assert len(first) == len(expected)
    assert queued(settings) == expected
    assert chasing.plan_chases(settings, TODAY) == []
