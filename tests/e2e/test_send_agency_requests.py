"""End to end: notifications registered through the installed `cdop` command, the DAG run
with dag.test() against a migrated metadata DB, and what a real SMTP server received."""

import collections
import dataclasses
import datetime as dt

from sqlalchemy import select

from cdop.confidentiality.detectors import office_policy
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.identifiers import case_identifiers
from cdop.mail import outages, task_failures
from cdop.store.db import unit_of_work
from cdop.store.models import AgencyRequest, Case, MailOutage, OutboxMessage
from tests.conftest import cli, run_dag

DAG_ID = "cdop_send_agency_requests"
DAY = dt.date(2026, 11, 26)
CHILDREN = [
    ["--forenames", "Percival", "--surname", "Ashgrove", "--date-of-birth", "2026-11-10",
     "--date-of-death", "2026-11-21", "--nhs-number", "9434765919", "--sex", "male",
     "--place-of-death", "hospital", "--expected", "no", "--postcode", "DT1 2CD",
     "--agency", "RUH", "--agency", "POL", "--agency", "HOS"],  # no school for a newborn
    ["--forenames", "Henrietta", "--surname", "Moorcroft", "--date-of-birth", "2011-04-02",
     "--date-of-death", "2026-11-22", "--nhs-number", "4010232137", "--sex", "female",
     "--place-of-death", "public_place", "--expected", "no", "--circumstance", "suicide_self_harm",
     "--agency", "GPHC", "--agency", "CAMHS", "--agency", "SCH2"],  # + the coroner (a suspected suicide)
]


def parts_text(message) -> str:
    """Every part of a message as text: headers, bodies and attachments."""
    chunks = [str(v) for _, v in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_content_type() == "application/pdf":
            chunks.append(pdf_text(payload))
        else:
            chunks.append(payload.decode("utf-8", "replace"))
    return "\n".join(chunks)


def pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def register(env):
    for args in CHILDREN:
        result = cli("notify", "--today", DAY.isoformat(), *args)
        assert result.returncode == 0, result.stderr


def gates(settings):
    with unit_of_work(settings) as uow:
        return {c.case_number: Gate(case_identifiers(c)) for c in uow.session.scalars(select(Case))}


def test_requests_reach_every_agency_once_and_identifiers_only_go_secure(
    agencies, smtp_server, dagbag, capfd
):
    register(agencies)
    run = run_dag(dagbag, DAG_ID, DAY)
    assert run.state == "success"

    messages = smtp_server.messages()
    assert len(messages) == 7
    by_recipient = {m["To"]: m for m in messages}
    assert set(by_recipient) == {
        "cdr.riverside@nhs.net", "child.deaths@demo.police.cjsm.net",
        "care.team@willowhospice.example.org.uk", "hillcrest.practice@nhs.net", "camhs.cdr@nhs.net",
        "safeguarding@brookside-academy.example.org.uk", "coroners.office@democounty.gov.uk",
    }
    gate = gates(agencies)
    secure_domains = ("nhs.net", "cjsm.net", "gov.uk")  # Policy.secure_domains
    for recipient, message in by_recipient.items():
        case_number = "CDOP-2026-0001" if recipient.split("@")[1] in (
            "nhs.net", "demo.police.cjsm.net", "willowhospice.example.org.uk") and "hillcrest" not in recipient \
            and "camhs" not in recipient else "CDOP-2026-0002"
        assert message["Subject"].startswith(f"Child death review {case_number}: request for information")
        text = parts_text(message)
        # The office's own addresses and number, and the recipient's own address, are what
        # a request may carry; anything else identifying is a finding.
        policy = office_policy(agencies, "email", allowed_emails=[recipient])
        found = dataclasses.replace(gate[case_number], policy=policy).scan(text)
        if recipient.endswith(secure_domains):
            assert {"child.name", "child.nhs_number", "child.date_of_birth"} <= set(found)
        else:
            assert found == [], f"identifiers sent to a non-secure address: {found}"
            assert "secure email" in text and case_number in text
        # HTML and plain text alternatives, plus the forms as attachments.
        types = [p.get_content_type() for p in message.walk()]
        assert "text/plain" in types and "text/html" in types
        attachments = sorted(p.get_filename() for p in message.iter_attachments())
        expected = {
            "CDOP-2026-0001": ["CDOP-2026-0001-neonatal-form.pdf", "CDOP-2026-0001-reporting-form.pdf",
                               "CDOP-2026-0001-return-template.csv", "CDOP-2026-0001-sudi-form.pdf"],
            "CDOP-2026-0002": ["CDOP-2026-0002-reporting-form.pdf", "CDOP-2026-0002-return-template.csv",
                               "CDOP-2026-0002-suicide-form.pdf"],
        }[case_number]
        assert attachments == expected
        # One route offered, the file route named as the fallback; an NHS number as 3-3-4.
        body = message.get_body(("plain",)).get_content()
        assert "HOW TO REPLY: complete the form online." in body
        assert "ONLY IF YOU CANNOT USE THE ONLINE FORM" in body
        assert body.index("HOW TO REPLY") < body.index("ONLY IF YOU CANNOT")
        if recipient.endswith(secure_domains):
            assert ("943 476 5919" if case_number == "CDOP-2026-0001" else "401 023 2137") in body
        # The reporting form as a document: the portal's questions for this agency's type,
        # the summary and chronology, the case number, and nothing that identifies the child.
        pdfs = {p.get_filename(): p.get_payload(decode=True) for p in message.iter_attachments()
                if p.get_content_type() == "application/pdf"}
        form = " ".join(pdf_text(pdfs[f"{case_number}-reporting-form.pdf"]).split())
        assert form.startswith("Child Death Reporting Form") or "Child Death Reporting Form" in form
        assert "Case number (from the email)" in form and "Your role (not your name)" in form
        assert "Chronology of your contact with the child and family" in form
        for name, data in pdfs.items():
            assert data.startswith(b"%PDF"), name
            assert dataclasses.replace(gate[case_number], policy=policy).scan(pdf_text(data)) == [], name
        if "police" in recipient:
            assert "Health and development" not in form  # a section for health agencies only

    with unit_of_work(agencies) as uow:
        sent = {m.message_id: m.business_key for m in uow.session.scalars(select(OutboxMessage))}
        requests = uow.session.scalars(select(AgencyRequest)).all()
        assert {r.status for r in requests} == {"sent"}
        assert {r.requested_on for r in requests} == {DAY}  # the run's logical date
        assert {r.due_on for r in requests} == {dt.date(2026, 12, 24)}
    assert {m["Message-ID"] for m in messages} == set(sent)

    # A second run sends nothing.
    assert run_dag(dagbag, DAG_ID, DAY + dt.timedelta(days=1)).state == "success"
    assert len(smtp_server.messages()) == 7

    # Nothing identifying in what Airflow showed: task output and XCom.
    out, err = capfd.readouterr()
    for words in ("Ashgrove", "Moorcroft", "9434765919", "4010232137", "Percival"):
        assert words not in out + err
    from airflow import settings as airflow_settings
    from airflow.models.xcom import XComModel

    with airflow_settings.Session() as session:
        values = [x.value for x in session.scalars(select(XComModel).where(XComModel.dag_id == DAG_ID))]
    assert values and all(isinstance(v, (int, dict, str)) for v in values)
    assert not any(w in str(values) for w in ("Ashgrove", "Moorcroft", "9434765919"))


def test_a_server_that_drops_the_connection_mid_batch_loses_and_duplicates_nothing(
    agencies, smtp_server, dagbag
):
    register(agencies)
    smtp_server.restart(drop_on={2, 4})  # hang up on the 2nd and 4th messages
    run = run_dag(dagbag, DAG_ID, DAY)
    assert run.state == "success"  # the retry sent what the first try could not
    ti = run.get_task_instance("send_requests")
    assert ti.try_number == 2

    messages = smtp_server.messages()
    ids = [m["Message-ID"] for m in messages]
    assert len(ids) == 7 and len(set(ids)) == 7
    with unit_of_work(agencies) as uow:
        rows = uow.session.scalars(select(OutboxMessage)).all()
        assert {r.status for r in rows} == {"sent"}
        assert sorted(r.attempts for r in rows) == [1, 1, 1, 1, 1, 2, 2]
        assert {r.message_id for r in rows} == set(ids)


def test_a_send_that_keeps_failing_fails_the_task_with_the_reason(agencies, smtp_server, dagbag):
    """A relay nobody answers is the server's failure, not a message's: every try fails
    loudly (RelayOutage), nothing is held, and operations hear of it once, by the
    outage's notice (cdop.mail.outages), not by a task-failure notice per run."""
    register(agencies)
    smtp_server.stop()  # nobody listening
    run = run_dag(dagbag, DAG_ID, DAY)
    assert run.state == "failed"
    ti = run.get_task_instance("send_requests")
    assert ti.state == "failed" and ti.try_number == 4  # 1 + 3 retries
    reason = "SMTP connection failed (ConnectionRefusedError)"
    with unit_of_work(agencies) as uow:
        # The DAG's own messages (the operations address's outage notice is the other).
        rows = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "agency_request")
                                   .order_by(OutboxMessage.id)).all()
        assert len(rows) == 7 and {r.status for r in rows} == {"pending"}  # none held
        # One alert for the outage, waiting for the server; no failure notice of the task.
        [notice] = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == outages.KIND)).all()
        assert notice.status == "pending" and notice.to_addrs == [agencies.policy.operations_email]
        assert notice.business_key.startswith(f"{outages.KIND}/")
        assert uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == task_failures.KIND)).all() == []
        [outage] = uow.session.scalars(select(MailOutage)).all()
        assert outage.current is True and outage.reason == reason
        # Each try stops at the first refused connection instead of hammering a dead
        # server: the first message was tried once a try, the other six never.
        assert [r.last_error for r in rows] == [reason] + [None] * 6
        assert [r.attempts for r in rows] == [4] + [0] * 6
    smtp_server.restart()
    assert run_dag(dagbag, DAG_ID, DAY + dt.timedelta(days=1)).state == "success"
    kinds = collections.Counter(m["X-CDOP-Kind"] for m in smtp_server.messages())
    assert kinds == {"agency_request": 7, outages.KIND: 1}  # the seven, and the outage told once
    with unit_of_work(agencies) as uow:
        [outage] = uow.session.scalars(select(MailOutage)).all()
        assert outage.current is None and outage.ended_at is not None
