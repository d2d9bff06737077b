"""A recommendation answered by its organisation through the portal, over real parts: the
CDOP database on SQLite and PostgreSQL, the recommendation and its code sent through the
real SMTP server on loopback and read back from what it received, and the portal app
driven over HTTP. The same link and code as a return; the answer checked for names as a
return's texts are; every step audited; nothing identifying in the URL or the log."""

from __future__ import annotations

import datetime as dt
import logging

from fastapi.testclient import TestClient
from sqlalchemy import select

from cdop.annual_report import build_annual_report
from cdop.annual_report.service import confidential_file
from cdop.clock import today_in_england
from cdop.confidentiality.documents import pdf_text
from cdop.crypto import decrypt_bytes
from cdop.panel import analysis
from cdop.panel.analysis import plan_recommendation_follow_ups
from cdop.portal.app import create_app
from cdop.rules.workdays import working_calendar
from cdop.sending.portal import deliver_now
from cdop.store.db import unit_of_work
from cdop.store.files import check_files, read_encrypted
from cdop.store.models import (
    AuditEvent,
    OutboxMessage,
    PortalLink,
    Recommendation,
    RecommendationEvidence,
)
from cdop_airflow.sending import send_pending
from tests.support.clock import cli_on
from tests.support.panel import every_part_text, gate_for, received
from tests.support.portal import csrf_of, latest_code, links_in_mail
from tests.support.recommendations import GP, ICB, NATIONAL, case_with_recommendations

D = dt.date
NAMED = "Dr Grace O'Brien-Łukasz will lead the audit with May Wilson at 14 Ashdown Road."
OUTCOME = "Children with two or more exacerbations are now recalled every three months; the audit showed all 14 seen."
PDF = b"%PDF-1.4\n% evidence\n"
BY_ROLE = "The practice's lead GP for children will lead the audit; the practice manager books the time."


def _client(settings) -> TestClient:
    return TestClient(create_app(settings, deliver=deliver_now), follow_redirects=True)


def _open(client, smtp_server, token: str, to: str):
    first = client.get(f"/r/{token}")
    assert first.status_code == 200 and "Send me a code" in first.text
    page = client.post(f"/r/{token}/code/send", data={"csrf": csrf_of(first.text)})
    assert page.status_code == 200 and "Enter the code" in page.text
    code_mail = [m for m in received(smtp_server, "portal_code") if to in m["To"]][-1]
    assert "response form for recommendation R" in code_mail.get_body(("plain",)).get_content()
    return client.post(f"/r/{token}/code", data={"code": latest_code(smtp_server, to), "csrf": csrf_of(page.text)})


def _rec(settings, rec_id: int) -> Recommendation:
    with unit_of_work(settings) as uow:
        rec = uow.session.get(Recommendation, rec_id)
        uow.session.expunge(rec)
        return rec


def _audit(settings, action: str) -> list[AuditEvent]:
    with unit_of_work(settings) as uow:
        rows = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)).all()
        for r in rows:
            uow.session.expunge(r)
        return rows


def test_the_organisation_accepts_or_declines_through_the_same_link_and_code(agencies, smtp_server, caplog):
    settings = agencies
    number, (r_gp, r_icb) = case_with_recommendations(settings)
    send_pending(settings, kinds=list(analysis.KINDS))
    # Each organisation's email carries its own link; the email is still gated clean.
    gate = gate_for(settings, number)
    for message in received(smtp_server, "recommendation"):
        assert gate.scan("\n".join(every_part_text(message))) == []
    [gp_token] = links_in_mail(smtp_server, GP, kind="recommendation")
    [icb_token] = links_in_mail(smtp_server, ICB, kind="recommendation")
    with unit_of_work(settings) as uow:
        links = uow.session.scalars(select(PortalLink).order_by(PortalLink.id)).all()
        assert {(link.recommendation_id, link.request_id) for link in links if link.recommendation_id} == {
            (r_gp, None), (r_icb, None)}
    assert len(_audit(settings, "portal_link_issued")) >= 2

    caplog.set_level(logging.INFO, logger="cdop")
    gp = _client(settings)
    # Without the code the page does not open: it goes back to the code page.
    assert "Send me a code" in gp.get(f"/r/{gp_token}/recommendation").text
    page = _open(gp, smtp_server, gp_token, GP)
    assert page.status_code == 200 and page.url.path == f"/r/{gp_token}/recommendation"
    assert f"Recommendation R{r_gp}: accept or decline" in page.text
    assert "Audit asthma reviews" in page.text and NATIONAL in page.text
    # A recommendation's link opens no return form: it goes to its own page.
    asked = gp.get(f"/r/{gp_token}/form")
    assert asked.url.path == f"/r/{gp_token}/recommendation" and "Submit return" not in asked.text

    # Declining without reasons, or answering nothing: refused naming the field, nothing recorded.
    refused = gp.post(f"/r/{gp_token}/recommendation",
                      data={"csrf": csrf_of(page.text), "response": "declined", "reasons": "", "action": "send", "step": "response"})
    assert refused.status_code == 400 and "Your reasons: give your reasons for declining" in refused.text
    refused = gp.post(f"/r/{gp_token}/recommendation",
                      data={"csrf": csrf_of(refused.text), "response": "maybe", "action": "send", "step": "response"})
    assert refused.status_code == 400 and "Your answer: choose whether you accept or decline" in refused.text
    assert "maybe" not in refused.text
    assert _rec(settings, r_gp).response is None

    # Check my text: a name and an address typed by the organisation are shown back,
    # highlighted, to this session; nothing is recorded yet.
    warned = gp.post(f"/r/{gp_token}/recommendation",
                     data={"csrf": csrf_of(refused.text), "response": "accepted", "reasons": NAMED, "action": "send", "step": "response"})
    assert warned.status_code == 200 and "some of your text may name or locate someone" in warned.text
    assert "<mark" in warned.text and "Send anyway" in warned.text
    assert _rec(settings, r_gp).response is None
    assert [e.details.get("fields") for e in _audit(settings, "portal_text_warned")] == [1]

    # Changed to roles, it goes at once; recorded, audited, the status moved on.
    done = gp.post(f"/r/{gp_token}/recommendation",
                   data={"csrf": csrf_of(warned.text), "response": "accepted", "reasons": BY_ROLE, "action": "send", "step": "response"})
    assert done.status_code == 200 and "was recorded on" in done.text
    rec = _rec(settings, r_gp)
    assert (rec.response, rec.status, rec.response_reasons) == ("accepted", "in_progress", BY_ROLE)
    [event] = _audit(settings, "recommendation_response")
    assert (event.actor, event.entity_id, event.details["response"]) == ("portal", r_gp, "accepted")
    # A second answer changes nothing (the office reopens one if needed).
    again = gp.post(f"/r/{gp_token}/recommendation",
                    data={"csrf": csrf_of(warned.text), "response": "declined", "reasons": "Changed our mind.",
                          "action": "send", "step": "response"})
    assert "was recorded on" in again.text and _rec(settings, r_gp).response == "accepted"

    # Next, the action plan: owners by role, dates to come. Bad rows are refused naming the
    # row and the column, never the value; a person's name as an owner is refused outright.
    assert "Send action plan" in again.text and "Next, please send your action plan" in done.text
    csrf = csrf_of(again.text)
    future = (today_in_england() + dt.timedelta(days=60)).isoformat()
    bad = gp.post(f"/r/{gp_token}/recommendation", data={
        "csrf": csrf, "step": "plan", "action": "send",
        "action-1-action": "Audit asthma reviews of the last year.", "action-1-owner_role": "Dr Grace O'Brien-Łukasz",
        "action-1-target_on": future,
        "action-2-action": "Report the audit to the practice meeting.", "action-2-owner_role": "Practice manager",
        "action-2-target_on": "2020-01-01",
        "action-3-owner_role": "Lead nurse"})
    assert bad.status_code == 400
    for expected in ("Action 1, owner: give the owner&#39;s role, not a person&#39;s name",
                     "Action 2, target date: must not be in the past", "Action 3, what will be done: must be given",
                     "Action 3, target date: must be a date"):
        assert expected in bad.text, expected
    assert "2020-01-01" in bad.text  # shown back in its own field to correct, never in a message
    assert _rec(settings, r_gp).plan is None
    nothing = gp.post(f"/r/{gp_token}/recommendation", data={"csrf": csrf, "step": "plan", "action": "send"})
    assert nothing.status_code == 400 and "Action 1, give at least one action" in nothing.text
    plan = {"action-1-action": "Audit asthma reviews of the last year.", "action-1-owner_role": "Named GP for children",
            "action-1-target_on": future,
            "action-2-action": "Agree a recall for children with two or more exacerbations.",
            "action-2-owner_role": "Practice manager", "action-2-target_on": future}
    planned = gp.post(f"/r/{gp_token}/recommendation", data={"csrf": csrf, "step": "plan", "action": "send", **plan})
    assert planned.status_code == 200 and "Named GP for children" in planned.text
    assert "Send action plan" not in planned.text
    rec = _rec(settings, r_gp)
    assert [r["owner_role"] for r in rec.plan] == ["Named GP for children", "Practice manager"]
    [event] = _audit(settings, "recommendation_plan")
    assert (event.entity_id, event.details["actions"]) == (r_gp, 2)

    # Then evidence and the outcome. A file that is not what its name says is refused by
    # its place in the list; an outcome without any evidence is refused; a good file is
    # kept even when the outcome is not yet right, stored encrypted.
    assert "Send outcome" in planned.text
    sent = gp.post(f"/r/{gp_token}/recommendation", data={"csrf": csrf, "step": "outcome", "action": "send",
                                                           "outcome": "Recall agreed."},
                   files=[("evidence", ("Grace-audit.pdf", b"not a pdf", "application/pdf"))])
    assert sent.status_code == 400
    assert "Evidence: file 1: its content is not what its type says" in sent.text and "Grace" not in sent.text
    assert "Evidence: send at least one file showing what was done" in sent.text
    kept = gp.post(f"/r/{gp_token}/recommendation", data={"csrf": csrf, "step": "outcome", "action": "send",
                                                           "outcome": ""},
                   files=[("evidence", ("Grace-audit.pdf", PDF, "application/pdf"))])
    assert kept.status_code == 400 and "The outcome: describe what changed as a result" in kept.text
    assert "File 1 (" in kept.text and "Grace" not in kept.text
    with unit_of_work(settings) as uow:
        [evidence] = uow.session.scalars(select(RecommendationEvidence)).all()
        assert evidence.recommendation_id == r_gp and evidence.original_name == "Grace-audit.pdf"
        assert "Grace" not in evidence.stored_path
        assert read_encrypted(settings, evidence.stored_path) == PDF
    # The outcome text is checked like every other.
    warned = gp.post(f"/r/{gp_token}/recommendation", data={
        "csrf": csrf, "step": "outcome", "action": "send", "outcome": "Recall set up by " + NAMED})
    assert "some of your text may name or locate someone" in warned.text and _rec(settings, r_gp).outcome is None
    reported = gp.post(f"/r/{gp_token}/recommendation", data={
        "csrf": csrf, "step": "outcome", "action": "send", "outcome": OUTCOME})
    assert reported.status_code == 200 and "The outcome you reported" in reported.text
    assert "The CDOP office will check it" in reported.text
    rec = _rec(settings, r_gp)
    assert (rec.outcome, rec.status) == (OUTCOME, "in_progress")  # the coordinator confirms completion
    assert [e.entity_id for e in _audit(settings, "recommendation_outcome")] == [r_gp]
    assert len(_audit(settings, "recommendation_evidence_added")) == 1

    # The other organisation declines, sending its text as it is after the warning: the
    # gate's finding goes to the audit by kind only.
    icb = _client(settings)
    page = _open(icb, smtp_server, icb_token, ICB)
    sent = icb.post(f"/r/{icb_token}/recommendation",
                    data={"csrf": csrf_of(page.text), "response": "declined", "reasons": NAMED,
                          "action": "send_anyway", "step": "response"})
    assert sent.status_code == 200 and "was recorded on" in sent.text
    rec = _rec(settings, r_icb)
    assert (rec.response, rec.status) == ("declined", "not_accepted")
    [flagged] = _audit(settings, "recommendation_text_flagged")
    assert flagged.entity_id == r_icb and flagged.details["kinds"]
    assert "Grace" not in str(flagged.details) and flagged.reason is None

    # Nothing identifying, and no token, in the log.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (gp_token, icb_token, "Grace", "Ashdown", "lead GP"):
        assert secret not in logged


def test_a_return_link_opens_no_recommendation_page_and_a_completed_one_closes_its_link(agencies, smtp_server):
    settings = agencies
    number, (r_gp, _) = case_with_recommendations(settings)
    send_pending(settings, kinds=list(analysis.KINDS))
    [gp_token] = links_in_mail(smtp_server, GP, kind="recommendation")
    client = _client(settings)
    page = _open(client, smtp_server, gp_token, GP)
    assert page.url.path == f"/r/{gp_token}/recommendation"
    with unit_of_work(settings) as uow:
        uow.session.get(Recommendation, r_gp).status = "completed"
        uow.commit()
    closed = client.get(f"/r/{gp_token}/recommendation")
    assert closed.status_code == 404 and "This link cannot be used" in closed.text
    # An unknown token gets the same plain page.
    assert client.get("/r/" + "x" * 43 + "/recommendation").status_code == 404


def test_each_step_owed_is_chased_on_working_days_escalated_and_closed_only_on_evidence(agencies, smtp_server,
                                                                                        tmp_path):
    settings = agencies
    calendar = working_calendar(settings.policy)
    number, (r_gp, r_icb) = case_with_recommendations(settings)
    send_pending(settings, kinds=list(analysis.KINDS))
    [first_token] = links_in_mail(smtp_server, GP, kind="recommendation")

    # The answer is owed by the due date (Monday 8 March 2027): asked then, on a working day
    # only, with a fresh link; again a follow-up interval later; the third request escalates
    # (Hillcrest has no escalation contact: to the coordinator), with no link in it.
    assert plan_recommendation_follow_ups(settings, D(2027, 3, 6)) == []  # a Saturday
    assert len(plan_recommendation_follow_ups(settings, D(2027, 3, 8))) == 1
    send_pending(settings, kinds=list(analysis.KINDS))
    [reminder] = received(smtp_server, "recommendation_reminder")
    body = reminder.get_body(("plain",)).get_content()
    assert "We are still waiting for your answer (accept or decline)" in body
    [reminder_token] = links_in_mail(smtp_server, GP, kind="recommendation_reminder")
    second = calendar.add(D(2027, 3, 8), settings.policy.recommendation_follow_up_working_days)
    assert plan_recommendation_follow_ups(settings, second - dt.timedelta(days=1)) == []
    assert len(plan_recommendation_follow_ups(settings, second)) == 1
    assert plan_recommendation_follow_ups(settings, second) == []  # a rerun: once
    send_pending(settings, kinds=list(analysis.KINDS))
    third = calendar.add(second, settings.policy.recommendation_follow_up_working_days)
    assert len(plan_recommendation_follow_ups(settings, third)) == 1
    send_pending(settings, kinds=list(analysis.KINDS))
    [escalation] = received(smtp_server, "recommendation_escalation")
    assert escalation["To"] == settings.policy.coordinator_email
    text = escalation.get_body(("plain",)).get_content()
    assert f"R{r_gp}" in text and "We have asked 2 times for your answer" in text and "/r/" not in text
    gate = gate_for(settings, number)
    for message in (reminder, escalation):
        assert gate.scan("\n".join(every_part_text(message))) == []
    [event] = _audit(settings, "recommendation_escalated")
    assert (event.entity_id, event.details["owed"], event.details["request"]) == (r_gp, "response", 3)

    # The coordinator cannot confirm what has no evidence (by the command or the service).
    refused = cli_on(third, "recommendation", "confirm", f"R{r_gp}", "--today", third.isoformat())
    assert refused.returncode == 2 and "field 'evidence': has no outcome with evidence reported yet" in refused.stderr

    # The reminder's link opens the same page as the first email's (both live); the answer
    # starts the count again and the plan is owed 10 working days later.
    client = _client(settings)
    page = _open(client, smtp_server, reminder_token, GP)
    csrf = csrf_of(page.text)
    client.post(f"/r/{reminder_token}/recommendation",
                data={"csrf": csrf, "step": "response", "action": "send", "response": "accepted"})
    rec = _rec(settings, r_gp)
    today = today_in_england()
    assert (rec.requests_for_step, rec.next_follow_up_on) == (
        0, calendar.add(today, settings.policy.recommendation_plan_working_days))
    # A request queued for the plan, then overtaken by the plan itself, is cancelled.
    assert len(plan_recommendation_follow_ups(settings, calendar.add(rec.next_follow_up_on, 0))) == 1
    future = (today + dt.timedelta(days=30)).isoformat()
    client.post(f"/r/{reminder_token}/recommendation", data={
        "csrf": csrf, "step": "plan", "action": "send", "action-1-action": "Audit the reviews.",
        "action-1-owner_role": "Named GP for children", "action-1-target_on": future})
    assert send_pending(settings, kinds=list(analysis.KINDS)).get("cancelled") == 1
    assert _rec(settings, r_gp).next_follow_up_on == D.fromisoformat(future) + dt.timedelta(days=1)
    client.post(f"/r/{reminder_token}/recommendation", data={"csrf": csrf, "step": "outcome", "action": "send",
                                                             "outcome": OUTCOME},
                files=[("evidence", (f"R{r_gp}.pdf", PDF, "application/pdf"))])
    assert _rec(settings, r_gp).next_follow_up_on is None  # nothing owed: the office confirms now
    planned = plan_recommendation_follow_ups(settings, D(2028, 3, 6))
    with unit_of_work(settings) as uow:  # only the other recommendation is still asked
        assert {uow.session.get(OutboxMessage, i).params["recommendation_id"] for i in planned} == {r_icb}
    assert _rec(settings, r_gp).follow_ups_sent == 3

    # The coordinator reads the evidence (an owner-only file named by the recommendation,
    # audited), then confirms on it: completed, audited, the organisation's links closed.
    wrote = cli_on(third, "recommendation", "evidence", f"R{r_gp}", "1", "--to", str(tmp_path / "out"))
    target = tmp_path / "out" / f"R{r_gp}-evidence-1.pdf"
    assert wrote.returncode == 0 and target.read_bytes() == PDF and target.stat().st_mode & 0o077 == 0
    missing = cli_on(third, "recommendation", "evidence", f"R{r_gp}", "2", "--to", str(tmp_path / "out"))
    assert missing.returncode == 2 and "field 'number': the recommendation has 1 evidence file(s)" in missing.stderr
    assert len(_audit(settings, "recommendation_evidence_read")) == 1
    with unit_of_work(settings) as uow:  # `cdop files check` counts evidence as owned by its row
        checked = check_files(uow.session, settings)
        assert not [k for k in checked.files_without_row if f"/R{r_gp}/" in k] and not checked.rows_without_file
    done = cli_on(third, "recommendation", "confirm", f"R{r_gp}", "--today", third.isoformat())
    assert done.returncode == 0 and f"R{r_gp} completed" in done.stdout
    assert _rec(settings, r_gp).status == "completed"
    assert [e.details["evidence_files"] for e in _audit(settings, "recommendation_confirmed")] == [1]
    for token in (first_token, reminder_token):
        assert client.get(f"/r/{token}/recommendation").status_code == 404
    again = cli_on(third, "recommendation", "confirm", f"R{r_gp}", "--today", third.isoformat())
    assert again.returncode == 0 and len(_audit(settings, "recommendation_confirmed")) == 1

    # The annual report for the year the recommendations were agreed (to 31 March 2027)
    # shows each one's answer, plan and outcome: the confidential edition in full, the
    # public one without reasons or owners.
    result = build_annual_report(settings, 2027, today=D(2027, 6, 2))
    public = " ".join(pdf_text((result.directory / "annual-report-2027.pdf").read_bytes()).split())
    confidential = " ".join(pdf_text(decrypt_bytes(
        (result.directory / confidential_file(2027)).read_bytes())).split())
    last_due = f"{D.fromisoformat(future):%B %Y}"
    for text in (public, confidential):
        assert "Answers national recommendation NCMD-2025-SUDI-3" in text
        assert "Answer: Accepted" in text and "Answer: No answer by 31 March" in text
        assert "Outcome: reported with 1 evidence file" in text
        assert OUTCOME[:40] in text  # the outcome is the action taken
    assert f"Action plan: 1 action, the last due {last_due}" in public
    assert "Named GP for children" not in public
    assert "Audit the reviews. (owner: Named GP for children; by" in confidential
