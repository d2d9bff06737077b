"""Helpers for the panel-stage tests (issue 4): a case brought to "ready for panel" through
the real services, what the real SMTP server received, the gate run over every part of a
received message, and answering an Airflow Required Action through Airflow's own API."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time

from cdop.confidentiality.detectors import office_policy
from cdop.confidentiality.documents import pdf_text
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.identifiers import case_identifiers
from cdop.config import Settings
from cdop.dev.demo import demo_nhs_number
from cdop.intake.family import record_family
from cdop.intake.investigations import record_investigation
from cdop.intake.notifications import register_notifications
from cdop.requests.agency_requests import KIND as REQUEST_KIND
from cdop.requests.agency_requests import plan_agency_requests
from cdop.requests.returns import record_return, record_return_content
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case
from cdop.store.models import CaseIdentifier
from cdop_airflow.sending import send_pending

SURNAMES = ["Featherstonehaugh", "Quennell", "Abernethy", "Lovibond", "Pettigrew", "Wolstenholme"]
SCHOOL = "Larkspur Meadow Primary School"


def ready_case(settings: Settings, *, notified: dt.date, agencies=("RUH", "GPHC"), seed: int = 1,
               age_days: int = 1400, investigations=("post_mortem",), expected: bool = False,
               family: bool = True) -> tuple[str, dict]:
    """Register a fictional notification and bring it to "ready for panel": requests sent
    (through the real SMTP server), every return recorded with a summary and chronology,
    every process concluded, the family's circumstances and identifiers recorded.
    Returns (case number, the identifiers used)."""
    rng = random.Random(seed)
    died = notified - dt.timedelta(days=2)
    born = died - dt.timedelta(days=age_days)
    surname = SURNAMES[seed % len(SURNAMES)]
    row = {
        "forenames": "Marigold Clementine",
        "surname": surname,
        "date_of_birth": born.isoformat(),
        "date_of_death": died.isoformat(),
        "nhs_number": demo_nhs_number(rng),
        "sex": "female",
        "place_of_death": "hospital",
        "expected": "yes" if expected else "no",
        "address": "47 Juniper Crescent, Demotown",
        "postcode": "DT4 7QX",
        "notifier_name": "Dr Oswin Ravensworth",
        "agencies": list(agencies),
        "investigations": list(investigations),
        "notified_on": notified.isoformat(),
    }
    [number] = register_notifications(settings, [row], today=notified, first_row=None)
    sent = notified + dt.timedelta(days=1)
    plan_agency_requests(settings, sent)
    send_pending(settings, kinds=[REQUEST_KIND])
    returned = sent + dt.timedelta(days=14)
    for i, code in enumerate(agencies):
        record_return(settings, number, code, received_on=returned, today=returned)
        record_return_content(
            settings, number, code,
            summary=f"{code} summary: known to the service; care was planned and reviewed.",
            entries=[
                # Event dates after the date of birth: an event on it would (rightly) be
                # blocked by the gate, as a date of birth.
                {"date": (died - dt.timedelta(days=min(40 - i, age_days - 1))).isoformat(),
                 "what_happened": f"{code}: routine review; no concerns raised."},
                {"date": (died - dt.timedelta(days=min(3 + i, age_days - 1))).isoformat(),
                 "what_happened": f"{code}: seen with a short febrile illness."},
            ],
            today=returned,
        )
    concluded = returned + dt.timedelta(days=10)
    for kind in investigations:
        record_investigation(settings, number, kind, status="concluded", on=concluded, today=concluded,
                             outcome=f"{kind} concluded: natural causes.")
    idents = {"parent_name": f"Rosalind {surname}", "sibling_name": f"Barnaby {surname}", "school": SCHOOL}
    if family:
        record_family(settings, number,
                      context={"siblings": ["5-9 years"], "key_worker_offered": "yes",
                               "bereavement_support_offered": "declined"},
                      identifiers=[{"field": f, "value": v} for f, v in idents.items()])
    return number, row | idents


def gate_for(settings: Settings, *case_numbers: str) -> Gate:
    """The anonymisation gate for these cases, built straight from the database."""
    identifiers = []
    with unit_of_work(settings) as uow:
        for number in case_numbers:
            case = get_case(uow, number)
            extra = [(i.field, i.value) for i in uow.session.query(CaseIdentifier).filter_by(case_id=case.id)]
            identifiers.extend(case_identifiers(case, extra))
    # What the office's own messages may carry: its addresses, number and mail domain.
    return Gate(tuple(identifiers), policy=office_policy(settings, "email"))


def received(smtp_server, *kinds: str) -> list:
    """Messages of `kinds` the SMTP server received (parsed EmailMessage objects)."""
    return [m for m in smtp_server.messages() if m["X-CDOP-Kind"] in kinds]


def every_part_text(message) -> list[str]:
    """The text of every part of a received message: headers, bodies, attachments (a
    PDF's extracted text), so the gate can be run over all of it."""
    # Routing headers carry the directory addresses the office sends to (and its own):
    # those are the message's recipients, not text anyone wrote; every other header is kept.
    # A multipart boundary is random hex the mailer chose, not text either: one run of ten
    # digits in it reads as an NHS number (one message in about 460), so the content type
    # is kept without its boundary.
    routing = {"to", "cc", "bcc", "from", "reply-to", "sender", "x-envelope-to", "message-id", "return-path"}
    texts = [f"{k}: {v}" for k, v in message.items() if k.lower() not in routing | {"content-type"}]
    texts.append(f"Content-Type: {message.get_content_type()}")
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_filename():
            texts.append(part.get_filename())
        content = part.get_payload(decode=True) or b""
        if part.get_content_type() == "application/pdf":
            texts.append(pdf_text(content))
        else:
            texts.append(content.decode(part.get_content_charset() or "utf-8", "replace"))
    return texts


def pdf_attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True)
            for part in message.walk() if part.get_content_type() == "application/pdf"}


class RequiredActionResponder(threading.Thread):
    """Answers the Required Action of a waiting task through Airflow's REST API (the
    PATCH the Airflow UI sends), as soon as the task is parked awaiting input."""

    def __init__(self, client, token: str, dag_id: str, task_id: str, answer: dict, timeout: float = 120,
                 *, first_try_as: str | None = None):
        super().__init__(daemon=True)
        self.client, self.token = client, token
        self.dag_id, self.task_id, self.answer, self.timeout = dag_id, task_id, answer, timeout
        # A token of someone who is not assigned the action: tried first, its answer refused.
        self.first_try_as = first_try_as
        self.refused = None
        self.response = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._answer()
            if self.response.status_code != 200:
                raise AssertionError(f"the API refused the answer: {self.response.status_code}")
        except BaseException as exc:  # reported by the test
            self.error = exc
            self._fail_waiting_task()

    def _fail_waiting_task(self) -> None:
        """Without an answer dag.test() would wait for ever: end the waiting task instead."""
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import update

        with create_session() as session:
            session.execute(update(TaskInstance).where(
                TaskInstance.dag_id == self.dag_id, TaskInstance.task_id == self.task_id,
                TaskInstance.state == TaskInstanceState.AWAITING_INPUT).values(state=TaskInstanceState.FAILED))

    def _answer(self) -> None:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import select

        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with create_session() as session:
                ti = session.scalar(select(TaskInstance).where(
                    TaskInstance.dag_id == self.dag_id, TaskInstance.task_id == self.task_id,
                    TaskInstance.state == TaskInstanceState.AWAITING_INPUT))
                run_id = ti.run_id if ti is not None else None
            if run_id:
                url = f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}/taskInstances/{self.task_id}/-1/hitlDetails"
                if self.first_try_as:
                    self.refused = self.client.patch(
                        url, json=self.answer, headers={"Authorization": f"Bearer {self.first_try_as}"})
                self.response = self.client.patch(
                    f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}/taskInstances/{self.task_id}/-1/hitlDetails",
                    json=self.answer, headers={"Authorization": f"Bearer {self.token}"})
                return
            time.sleep(0.3)
        raise TimeoutError("the task never waited for input")


def review_runs(run_id_prefix: str) -> list[tuple[str, dict]]:
    """The coordinator-check runs (cdop_review_case_report) whose run id starts so, with
    their conf."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        runs = session.scalars(select(DagRun).where(DagRun.dag_id == "cdop_review_case_report",
                                                    DagRun.run_id.like(run_id_prefix + "%"))).all()
        return [(r.run_id, dict(r.conf or {})) for r in runs]


def forget_review_runs(run_id_prefix: str) -> None:
    """Remove those runs from Airflow's metadata database. It is one per test worker, not
    one per test: a test that ran before on the same worker (or this test's turn on the
    other backend) may have left a run of the same case number and hour, and the check
    would then not be offered again (skip_when_already_exists)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(DagRun).where(DagRun.dag_id == "cdop_review_case_report",
                                             DagRun.run_id.like(run_id_prefix + "%")))
