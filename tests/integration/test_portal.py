"""The agencies' return portal over real parts: the CDOP database on SQLite and PostgreSQL,
the requests and codes sent through the real SMTP server on loopback and read back from
what it received, and the portal app driven over HTTP (Starlette's test client)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from cdop.portal import tokens
from cdop.portal.app import create_app
from cdop.requests import chasing
from cdop.sending.portal import deliver_now
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case, get_request
from cdop.store.models import (
    AuditEvent,
    ChronologyEntry,
    OutboxMessage,
    PortalAttachment,
    PortalForm,
    PortalLink,
)
from cdop.store.storage import file_store
from cdop_airflow.sending import send_pending
from tests.support.portal import complete_return, csrf_of, latest_code, links_in_mail, sent_case

RUH = "cdr.riverside@nhs.net"  # a secure route
SCH1 = "office@oakfield-primary.example.org.uk"  # not a secure route


def with_portal(settings, **changes):
    portal = settings.policy.portal.model_copy(update=changes)
    return dataclasses.replace(settings, policy=settings.policy.model_copy(update={"portal": portal}))


@pytest.fixture
def sent(agencies, smtp_server):
    number, row, today = sent_case(agencies)
    return {"case": number, "row": row, "today": today}


def client_for(settings) -> TestClient:
    return TestClient(create_app(settings, deliver=deliver_now), follow_redirects=True)


def ask_for_code(client, token: str):
    """Open the link and press "Send me a code": the code page's response."""
    first = client.get(f"/r/{token}")
    assert first.status_code == 200 and "Send me a code" in first.text
    page = client.post(f"/r/{token}/code/send", data={"csrf": csrf_of(first.text)})
    assert page.status_code == 200 and "Enter the code" in page.text
    return page


def open_with_code(client, smtp_server, token: str, to: str = RUH):
    """Open the link, ask for a code, read it from the second email, type it: the form's response."""
    page = ask_for_code(client, token)
    return client.post(f"/r/{token}/code", data={"code": latest_code(smtp_server, to), "csrf": csrf_of(page.text)})


def request_state(settings, case_number, code):
    with unit_of_work(settings) as uow:
        r = get_request(uow, get_case(uow, case_number), code)
        return {"status": r.status, "next_chase_on": r.next_chase_on, "summary": r.summary,
                "entries": uow.session.scalars(select(ChronologyEntry.description)
                                               .where(ChronologyEntry.request_id == r.id)).all()}


# ------------------------------------------------------------------ links and codes


def test_the_request_email_carries_a_link_stored_only_as_a_hash(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    assert len(token) >= 22  # at least 128 bits, url-safe base64
    with unit_of_work(agencies) as uow:
        links = uow.session.scalars(select(PortalLink)).all()
        dump = "\n".join(str(row) for row in uow.session.execute(text("SELECT * FROM portal_links")).all())
        assert len(links) == 2  # RUH and SCH1, one email each
        assert token not in dump
        assert tokens.token_hash(token) in {link.token_hash for link in links}
        ruh = next(link for link in links if link.sent_to == RUH)
        assert ruh.secure_route and (ruh.expires_at - ruh.issued_at).days == 60


def test_the_form_opens_only_with_the_code_sent_to_the_same_address(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    assert client.get(f"/r/{token}/form").url.path == f"/r/{token}"  # no code yet: back to the code page
    ask_for_code(client, token)
    code_mails = [m for m in smtp_server.messages() if m["X-CDOP-Kind"] == "portal_code"]
    assert len(code_mails) == 1 and code_mails[0]["To"] == RUH
    page = open_with_code(client, smtp_server, token)
    assert page.status_code == 200 and "Return for the child death review" in page.text
    # A secure route: the page says who the return is about.
    assert sent["row"]["surname"] in page.text and sent["case"] in page.text


def test_a_non_secure_link_shows_the_case_number_only(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, SCH1, "agency_request")
    page = open_with_code(client_for(agencies), smtp_server, token, to=SCH1)
    assert page.status_code == 200 and sent["case"] in page.text
    for identifier in (sent["row"]["surname"], sent["row"]["forenames"], sent["row"]["nhs_number"],
                       sent["row"]["postcode"], dt.date.fromisoformat(sent["row"]["date_of_birth"]).strftime("%B %Y")):
        assert identifier not in page.text
    # The email to a non-secure address carries the link and still no identifier.
    [mail] = [m for m in smtp_server.messages() if m["To"] == SCH1 and m["X-CDOP-Kind"] == "agency_request"]
    assert sent["row"]["surname"] not in mail.get_body(("plain",)).get_content()


def test_a_wrong_code_is_refused_and_repeated_wrong_codes_lock_the_link(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    first = ask_for_code(client, token)
    csrf, right = csrf_of(first.text), latest_code(smtp_server, RUH)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    refused = client.post(f"/r/{token}/code", data={"code": wrong, "csrf": csrf})
    assert refused.status_code == 400 and 'role="alert"' in refused.text and 'aria-invalid="true"' in refused.text
    for _ in range(agencies.policy.portal.code_max_failures - 1):
        last = client.post(f"/r/{token}/code", data={"code": wrong, "csrf": csrf})
    assert last.status_code == 429 and "locked" in last.text
    # Locked: even the right code opens nothing now.
    assert client.post(f"/r/{token}/code", data={"code": right, "csrf": csrf}).status_code == 429
    assert "Return for the child death review" not in client.get(f"/r/{token}/form").text
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "portal_link_locked"))


def test_brute_force_across_tokens_is_limited_per_address(agencies, sent, smtp_server):
    client = client_for(with_portal(agencies, requests_per_minute_per_address=10))
    statuses = [client.get(f"/r/guess{n:04d}aaaaaaaaaaaaaaaaaaaa").status_code for n in range(12)]
    assert statuses[:10] == [404] * 10 and statuses[10:] == [429, 429]


def test_requests_on_one_link_are_limited(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(with_portal(agencies, requests_per_minute_per_link=4))
    statuses = [client.get(f"/r/{token}", follow_redirects=False).status_code for _ in range(6)]
    assert statuses[:4] == [200] * 4 and statuses[4:] == [429, 429]


def test_codes_a_link_may_ask_for_are_limited(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(with_portal(agencies, codes_per_hour=2))
    csrf = csrf_of(ask_for_code(client, token).text)
    assert "Enter the code" in client.post(f"/r/{token}/code/new", data={"csrf": csrf}).text
    refused = client.post(f"/r/{token}/code/new", data={"csrf": csrf})
    assert "No more codes can be sent" in refused.text
    assert len([m for m in smtp_server.messages() if m["X-CDOP-Kind"] == "portal_code"]) == 2


def test_unknown_expired_and_used_tokens_get_the_same_plain_page(agencies, sent, smtp_server):
    [ruh] = links_in_mail(smtp_server, RUH, "agency_request")
    [sch] = links_in_mail(smtp_server, SCH1, "agency_request")
    client = client_for(agencies)
    # Used: RUH submits its return.
    form = open_with_code(client, smtp_server, ruh)
    done = client.post(f"/r/{ruh}/form", data={**complete_return(sent["today"]), "csrf": csrf_of(form.text),
                                               "action": "submit"})
    assert "Return submitted" in done.text
    # Expired: SCH1's link is past its date.
    with unit_of_work(agencies) as uow:
        uow.session.execute(update(PortalLink).where(PortalLink.sent_to == SCH1)
                            .values(expires_at=dt.datetime(2020, 1, 1)))
        uow.commit()
    pages = [client.get(f"/r/{t}") for t in (ruh, sch, "x" * 43)]
    assert {p.status_code for p in pages} == {404}
    assert len({p.text for p in pages}) == 1 and "This link cannot be used" in pages[0].text
    assert all(client.get(f"/r/{ruh}/form").text == pages[0].text for _ in range(1))


def test_every_response_is_no_store_with_a_strict_csp(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    for response in (client.get(f"/r/{token}"), client.get("/"), client.get("/r/unknown-token-xxxxxxxxxxxxxx"),
                     client.post(f"/r/{token}/form", data={}), client.delete(f"/r/{token}")):
        assert response.headers["cache-control"] == "no-store"
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "'unsafe-inline'" not in csp
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        # The page's one style block is the one the CSP allows by its hash.
        style = re.search(r"<style>(.*?)</style>", response.text, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_every_route_needs_a_valid_token(agencies, sent, smtp_server):
    """Each of the app's routes, with a token that is not live, opens nothing; and the
    form's routes with a live token but no code open nothing either."""
    app = create_app(agencies, deliver=deliver_now)
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert routes and all(r.path.startswith("/r/{token}") for r in routes)
    [live] = links_in_mail(smtp_server, RUH, "agency_request")
    client = TestClient(app, follow_redirects=False)
    for route in routes:
        for method in route.methods:
            response = client.request(method, route.path.format(token="not-a-live-token-aaaaaaaaaa"))
            assert response.status_code in (400, 404), (method, route.path)
            assert "Return for the child death review" not in response.text
            with_live = client.request(method, route.path.format(token=live), data={"action": "save"})
            assert "Return for the child death review" not in with_live.text, (method, route.path)
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(PortalForm)) is None  # nothing was saved


def test_a_form_post_without_its_csrf_token_writes_nothing(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    open_with_code(client, smtp_server, token)
    refused = client.post(f"/r/{token}/form", data={**complete_return(sent["today"]), "action": "submit",
                                                    "csrf": "forged"})
    assert refused.status_code == 400
    assert request_state(agencies, sent["case"], "RUH")["status"] == "sent"
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(PortalForm)) is None


def test_no_token_reaches_the_log(agencies, sent, smtp_server, caplog):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    caplog.set_level(logging.DEBUG)
    client = client_for(agencies)
    form = open_with_code(client, smtp_server, token)
    client.post(f"/r/{token}/form", data={**complete_return(sent["today"]), "csrf": csrf_of(form.text),
                                          "action": "save"})
    # Everything the server side logged (httpx's own lines are the test's browser, not the portal).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "portal GET /r/{token} 200" in logged
    assert token not in logged and sent["row"]["surname"] not in logged


# ------------------------------------------------------------------ drafts and submission


def test_a_draft_is_kept_encrypted_and_comes_back(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    form = open_with_code(client, smtp_server, token)
    fields = complete_return(sent["today"], summary="Half-written summary about the visit")
    fields.pop("chronology-2-date")
    saved = client.post(f"/r/{token}/form", data={**fields, "csrf": csrf_of(form.text), "action": "save"})
    assert "Your draft is saved" in saved.text
    with unit_of_work(agencies) as uow:
        raw = uow.session.execute(text("SELECT content FROM portal_forms")).scalar_one()
    assert "Half-written" not in raw and "emergency" not in raw
    again = client.get(f"/r/{token}/form")
    assert "Half-written summary about the visit" in again.text and "Named nurse for safeguarding" in again.text
    assert request_state(agencies, sent["case"], "RUH")["status"] == "sent"  # a draft records nothing


def test_a_bad_submission_names_each_field_beside_it_and_records_nothing(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    form = open_with_code(client, smtp_server, token)
    future = (sent["today"] + dt.timedelta(days=5)).isoformat()
    fields = complete_return(sent["today"], **{"chronology-2-date": future,
                                               "safeguarding__safeguarding_concerns": "perhaps"})
    fields.pop("involvement__completed_by_role")
    refused = client.post(f"/r/{token}/form", data={**fields, "csrf": csrf_of(form.text), "action": "submit"})
    assert refused.status_code == 400
    page = refused.text
    assert 'role="alert"' in page
    for field_id in ("involvement__completed_by_role", "chronology-2-date", "safeguarding__safeguarding_concerns"):
        assert f'id="{field_id}-error"' in page and f'href="#{field_id}"' in page
    assert "Chronology entry 2, date: is in the future" in page
    assert "perhaps" not in page.split("There is a problem")[1].split("</div>")[0]  # the value is not repeated
    assert request_state(agencies, sent["case"], "RUH")["status"] == "sent"


def test_a_submission_is_recorded_as_the_cli_would_and_the_queued_chase_step_is_cancelled(
        agencies, sent, smtp_server, env, tmp_path):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    with unit_of_work(agencies) as uow:
        due_chase = get_request(uow, get_case(uow, sent["case"]), "RUH").next_chase_on
    chasing.plan_chases(agencies, due_chase)  # the first reminder is queued, not yet sent
    client = client_for(agencies)
    form = open_with_code(client, smtp_server, token)
    pdf = b"%PDF-1.4\n% a chronology exported from the trust's system\n%%EOF\n"
    done = client.post(f"/r/{token}/form", data={**complete_return(sent["today"]), "csrf": csrf_of(form.text),
                                                 "action": "submit"},
                       files=[("attachments", ("chronology.pdf", pdf, "application/pdf"))])
    assert done.status_code == 200 and "Return submitted" in done.text
    assert f"{sent['case']}-RUH-1" in done.text
    state = request_state(agencies, sent["case"], "RUH")
    assert state["status"] == "returned" and state["next_chase_on"] is None
    assert state["summary"].startswith("Seen in the children's emergency department")
    assert len(state["entries"]) == 2
    report = send_pending(agencies, kinds=list(chasing.KINDS))
    assert report["cancelled"] >= 1
    with unit_of_work(agencies) as uow:
        step = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.business_key == f"{sent['case']}/RUH/chase/1"))
        assert step.status == "cancelled"
        recorded = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "return_recorded"))
        assert recorded.details["agency"] == "RUH" and recorded.details["via"] == "portal"
        assert recorded.actor == "portal" and recorded.details["attachments"] == 1
        attachment = uow.session.scalar(select(PortalAttachment))
        assert file_store(agencies).get(attachment.stored_path).find(b"chronology exported") == -1
    # The link is used: it opens nothing again, not even the receipt.
    assert "This link cannot be used" in client.get(f"/r/{token}/form").text
    # The office reads the answers and the file (audited), never retyping them.
    from tests.conftest import cli

    shown = cli("portal", "show", sent["case"], "RUH", "--json")
    assert shown.returncode == 0, shown.stderr
    answers = {row["question"]: row["answer"] for section in json.loads(shown.stdout)["sections"]
               for row in section["answers"]}
    assert answers["Your role (not your name)"] == "Named nurse for safeguarding"
    assert answers["Did your organisation have safeguarding concerns about the child?"] == "No"
    written = cli("portal", "attachment", sent["case"], "RUH", "1", "--to", str(tmp_path / "out"))
    assert written.returncode == 0, written.stderr
    [out] = (tmp_path / "out").iterdir()
    assert out.name == f"{sent['case']}-RUH-attachment-1.pdf" and out.read_bytes() == pdf
    assert out.stat().st_mode & 0o777 == 0o600


def test_attachments_are_limited_in_type_and_content(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    form = open_with_code(client, smtp_server, token)
    refused = client.post(f"/r/{token}/form", data={**complete_return(sent["today"]), "csrf": csrf_of(form.text),
                                                    "action": "submit"},
                          files=[("attachments", ("run-me.exe", b"MZ\x90\x00", "application/octet-stream")),
                                 ("attachments", ("looks.pdf", b"not a pdf at all", "application/pdf"))])
    assert refused.status_code == 400
    assert "Attachments: attachment 1: must be one of" in refused.text
    assert "Attachments: attachment 2: its content is not what its type says" in refused.text
    assert request_state(agencies, sent["case"], "RUH")["status"] == "sent"


def test_the_gate_reads_the_submission_and_tells_the_coordinator_not_the_agency(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    form = open_with_code(client, smtp_server, token)
    surname = sent["row"]["surname"]
    typed = complete_return(sent["today"], summary=f"The {surname} family were seen twice.")
    warned = client.post(f"/r/{token}/form", data={**typed, "csrf": csrf_of(form.text), "action": "submit"})
    # Checked first: the agency's own words highlighted, and it may submit anyway.
    assert "may name or locate someone" in warned.text and f"<mark title=\"a name\">{surname}</mark>" in warned.text
    done = client.post(f"/r/{token}/form", data={**typed, "csrf": csrf_of(warned.text), "action": "submit_anyway"})
    assert "Return submitted" in done.text and "gate" not in done.text and "identifier" not in done.text
    with unit_of_work(agencies) as uow:
        finding = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "portal_return_gate_findings"))
        assert finding.details["findings"] == ['summary: child.surname, to be replaced by "the child"']
        notice = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "portal_return_flagged"))
        assert notice.to_addrs == [agencies.policy.coordinator_email] and surname not in str(notice.params)
    # Sent at once, naming the field, never the text.
    [mail] = [m for m in smtp_server.messages() if m["X-CDOP-Kind"] == "portal_return_flagged"]
    body = mail.get_body(("plain",)).get_content()
    assert mail["To"] == agencies.policy.coordinator_email
    assert 'summary: child.surname, to be replaced by "the child"' in body
    assert surname not in body and surname not in mail["Subject"]


def test_the_office_reopens_a_submitted_return_with_a_fresh_link(agencies, sent, smtp_server, env):
    from tests.conftest import cli

    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    form = open_with_code(client, smtp_server, token)
    client.post(f"/r/{token}/form", data={**complete_return(sent["today"]), "csrf": csrf_of(form.text),
                                          "action": "submit"})
    result = cli("portal", "reopen", sent["case"], "RUH")  # the email goes at once
    assert result.returncode == 0, result.stderr
    [fresh] = links_in_mail(smtp_server, RUH, "portal_link")
    assert fresh != token
    assert "This link cannot be used" in client.get(f"/r/{token}").text  # the old one stays ended
    again = client_for(agencies)
    page = open_with_code(again, smtp_server, fresh)
    assert "Named nurse for safeguarding" in page.text  # the answers as they were left
    fields = complete_return(sent["today"], **{"chronology-3-date": sent["today"].isoformat(),
                                               "chronology-3-what_happened": "Key worker visit."})
    done = again.post(f"/r/{fresh}/form", data={**fields, "csrf": csrf_of(page.text), "action": "submit"})
    assert f"{sent['case']}-RUH-2" in done.text
    assert len(request_state(agencies, sent["case"], "RUH")["entries"]) == 3  # replaced, not added


def test_a_reminder_carries_a_new_link_and_renews_the_first(agencies, sent, smtp_server):
    [first] = links_in_mail(smtp_server, RUH, "agency_request")
    with unit_of_work(agencies) as uow:
        due_chase = get_request(uow, get_case(uow, sent["case"]), "RUH").next_chase_on
        uow.session.execute(update(PortalLink).values(expires_at=dt.datetime.now() + dt.timedelta(days=1)))
        uow.commit()
    chasing.plan_chases(agencies, due_chase)
    send_pending(agencies, kinds=list(chasing.KINDS))
    [second] = links_in_mail(smtp_server, RUH, chasing.REMINDER)
    assert second != first
    with unit_of_work(agencies) as uow:
        links = {link.token_hash: (link.expires_at, link.issued_at)
                 for link in uow.session.scalars(select(PortalLink).where(PortalLink.sent_to == RUH))}
    renewed, new = links[tokens.token_hash(first)], links[tokens.token_hash(second)]
    assert renewed[0] == new[0] and (new[0] - new[1]).days == 60


def test_a_link_keeps_working_after_the_keys_are_rotated(agencies, sent, smtp_server, env):
    """A token's hash cannot be recomputed (the token is not kept): a link issued before a
    rotation is still found under the older key, which stays configured after it."""
    from cryptography.fernet import Fernet

    from cdop import crypto
    from cdop.confidentiality.keys import rotate
    from cdop.config import settings_from_env

    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    rotated = settings_from_env({**env, "CDOP_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},{env['CDOP_ENCRYPTION_KEYS']}"})
    try:
        rotate(rotated)
        page = open_with_code(client_for(rotated), smtp_server, token)
        assert "Return for the child death review" in page.text
    finally:
        crypto.use_keys(agencies.encryption_keys)


def test_rotation_keeps_every_live_link_and_session_after_the_old_key_is_removed(agencies, sent, smtp_server, env):
    """Issue 22 item 3: links open (one with a session started, one never opened), `cdop
    keys rotate`, then the old key removed as the command advises: each link still opens,
    the session still shows the form and submits, an unknown token still opens nothing."""
    from cryptography.fernet import Fernet

    from cdop import crypto
    from cdop.confidentiality.keys import rotate
    from cdop.config import settings_from_env

    [ruh] = links_in_mail(smtp_server, RUH, "agency_request")
    [sch] = links_in_mail(smtp_server, SCH1, "agency_request")
    before = client_for(agencies)
    assert "Return for the child death review" in open_with_code(before, smtp_server, ruh).text
    new_key = Fernet.generate_key().decode()
    try:
        rotate(settings_from_env({**env, "CDOP_ENCRYPTION_KEYS": f"{new_key},{env['CDOP_ENCRYPTION_KEYS']}"}))
        only_new = settings_from_env({**env, "CDOP_ENCRYPTION_KEYS": new_key})
        crypto.use_keys(only_new.encryption_keys)
        after = client_for(only_new)
        after.cookies = before.cookies  # the same browser, its session cookie kept
        form = after.get(f"/r/{ruh}/form")
        assert form.status_code == 200 and "Return for the child death review" in form.text
        done = after.post(f"/r/{ruh}/form", data={**complete_return(sent["today"]), "csrf": csrf_of(form.text),
                                                  "action": "submit"})
        assert "Return submitted" in done.text
        # The link never opened: asks for a code, which opens the form.
        assert "Return for the child death review" in open_with_code(client_for(only_new), smtp_server, sch,
                                                                       to=SCH1).text
        assert client_for(only_new).get("/r/" + "x" * 43).status_code == 404
    finally:
        crypto.use_keys(agencies.encryption_keys)


def test_a_link_issued_before_digests_were_kept_is_named_by_rotation_and_still_opens(agencies, sent, smtp_server,
                                                                                   env):
    """A link stored by its hash alone (as before the digest was kept) cannot be re-keyed:
    rotation counts it and says until when the old key must stay; with it, the link opens."""
    from cryptography.fernet import Fernet

    from cdop import crypto
    from cdop.confidentiality.keys import rotate
    from cdop.config import settings_from_env

    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    legacy = tokens.secret_hashes("portal-link", token)[-1]  # the form used before digests
    with unit_of_work(agencies) as uow:
        uow.session.execute(update(PortalLink).where(PortalLink.sent_to == RUH)
                            .values(token_hash=legacy, token_digest=None))
        expires = uow.session.scalar(select(PortalLink.expires_at).where(PortalLink.sent_to == RUH))
        uow.commit()
    rotated = settings_from_env({**env, "CDOP_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},{env['CDOP_ENCRYPTION_KEYS']}"})
    try:
        counts = rotate(rotated)
        assert counts["old_links"] == 1 and counts["old_links_until"] == expires.date().isoformat()
        assert "Return for the child death review" in open_with_code(client_for(rotated), smtp_server, token).text
    finally:
        crypto.use_keys(agencies.encryption_keys)


def test_opening_a_link_sends_no_code_only_the_button_does(agencies, sent, smtp_server):
    """Issue 22 item 8: mail scanners open links; nothing is sent until "Send me a code" is
    pressed on the page, and pressing it twice sends the one code still current."""
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)

    def codes_sent() -> int:
        return len([m for m in smtp_server.messages() if m["X-CDOP-Kind"] == "portal_code"])

    for _ in range(3):
        page = client.get(f"/r/{token}")
        assert page.status_code == 200 and "Send me a code" in page.text
    client.head(f"/r/{token}")
    client.get(f"/r/{token}/form")
    assert codes_sent() == 0
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "portal_code")) is None
    csrf = csrf_of(page.text)
    sent_page = client.post(f"/r/{token}/code/send", data={"csrf": csrf})
    assert "Enter the code we emailed you" in sent_page.text and codes_sent() == 1
    client.post(f"/r/{token}/code/send", data={"csrf": csrf_of(sent_page.text)})  # a double click
    assert codes_sent() == 1
    # The button is a form post like the others: without its CSRF field it sends nothing.
    assert client.post(f"/r/{token}/code/send", data={}).status_code == 400 and codes_sent() == 1


def test_a_csrf_cookie_and_field_the_attacker_chose_are_refused(agencies, sent, smtp_server):
    """Issue 22 item 9: the CSRF field is bound to the link, the cookie and the session; a
    matching cookie and field of the attacker's choosing, or a field made for another
    session, write nothing."""
    from cdop.portal.app import CSRF_COOKIE

    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    form = open_with_code(client, smtp_server, token)
    good = csrf_of(form.text)
    fields = {**complete_return(sent["today"]), "action": "submit"}
    client.cookies.set(CSRF_COOKIE, "chosen-by-the-attacker", path=f"/r/{token}")
    refused = client.post(f"/r/{token}/form", data={**fields, "csrf": "chosen-by-the-attacker"})
    assert refused.status_code == 400 and "The form has expired" in refused.text
    # The real cookie back, but a field made for another browser's session.
    other = client_for(agencies)
    other_form = open_with_code(other, smtp_server, token)
    assert csrf_of(other_form.text) != good
    refused = other.post(f"/r/{token}/form", data={**fields, "csrf": good})
    assert refused.status_code == 400
    assert request_state(agencies, sent["case"], "RUH")["status"] == "sent"
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(PortalForm)) is None
    # The field made for the session works.
    done = other.post(f"/r/{token}/form", data={**fields, "csrf": csrf_of(other_form.text)})
    assert "Return submitted" in done.text


def test_a_value_fastapi_cannot_read_is_named_never_echoed(agencies, sent, smtp_server):
    """Issue 22 item 9: the portal's routes take no typed value today; one that did (a
    route added here with a number in its query) gets the portal's page naming the field,
    not FastAPI's JSON repeating the value."""
    app = create_app(agencies, deliver=deliver_now)

    @app.get("/r/{token}/numbered")
    def numbered(token: str, page: int = 1):
        return {"page": page}

    answer = TestClient(app).get("/r/some-token-aaaaaaaaaaaaaaaaaa/numbered?page=Qzv7700O’Neill")
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/html")
    assert "These could not be read: page." in answer.text
    assert "Qzv7700" not in answer.text and "O’Neill" not in answer.text
    assert answer.headers["cache-control"] == "no-store"


def test_hsts_only_over_https(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    app = create_app(agencies, deliver=deliver_now)
    assert "strict-transport-security" not in TestClient(app).get(f"/r/{token}").headers
    secure = TestClient(app, base_url="https://portal.test").get(f"/r/{token}")
    assert secure.headers["strict-transport-security"] == "max-age=31536000"


def test_cdop_portal_reopen_refuses_a_return_never_submitted(agencies, sent, env):
    from tests.conftest import cli

    result = cli("portal", "reopen", sent["case"], "RUH")
    assert result.returncode == 2
    assert "field 'agency': this agency has no submitted portal return to reopen" in result.stderr
    assert "Traceback" not in result.stderr


def test_with_the_code_switched_off_the_link_alone_opens_the_form(agencies, sent, smtp_server):
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(with_portal(agencies, code_required=False))
    page = client.get(f"/r/{token}")
    assert page.url.path == f"/r/{token}/form" and "Return for the child death review" in page.text
    assert not [m for m in smtp_server.messages() if m["X-CDOP-Kind"] == "portal_code"]


# ------------------------------------------------------------------ check my text

def test_text_that_names_someone_is_shown_back_highlighted_before_submitting_and_may_be_sent_anyway(
        agencies, sent, smtp_server):
    """Check my text: the agency's own words that appear to name someone are highlighted,
    for its session only, with the request to refer to people by role; the draft is kept;
    'Submit anyway' records the return (the office decides). A word the agency typed that
    only the family's recorded identifiers know (a sibling's name) is never highlighted:
    that would confirm a guess. The coordinator's notice names each field and the
    replacement proposed, never the words."""
    from cdop.intake.family import record_family
    from cdop.portal.warnings import REQUEST

    sibling = "Quorvanth"  # recorded for the family: the gate knows it, the agency's page must not say so
    record_family(agencies, sent["case"], context=None, identifiers=[{"field": "sibling_name", "value": sibling}])
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    client = client_for(agencies)
    form = open_with_code(client, smtp_server, token)
    surname = sent["row"]["surname"]
    typed = complete_return(
        sent["today"],
        summary=f"Seen with {sibling} twice; Mrs O’Neill, a neighbour, called the ambulance.",
        **{"chronology-1-what_happened": f"The {surname} family attended the emergency department."})
    warned = client.post(f"/r/{token}/form", data={**typed, "csrf": csrf_of(form.text), "action": "submit"})
    assert warned.status_code == 200 and REQUEST.replace("'", "&#39;") in warned.text
    assert '<a href="#summary">Summary</a> (a name)' in warned.text
    assert '<mark title="a name">Mrs O’Neill</mark>' in warned.text
    assert f'<mark title="a name">{surname}</mark>' in warned.text  # the child's, which this page shows
    assert f"<mark title=\"a name\">{sibling}</mark>" not in warned.text  # only a recorded sibling's: not said
    assert 'value="submit_anyway"' in warned.text and "no-store" in warned.headers.get("cache-control", "")
    assert request_state(agencies, sent["case"], "RUH")["status"] == "sent"  # nothing submitted yet
    with unit_of_work(agencies) as uow:  # the typed text is kept as the draft
        draft = uow.session.scalar(select(PortalForm))
        assert draft.status == "draft" and "Mrs O’Neill, a neighbour" in draft.content["summary"]

    done = client.post(f"/r/{token}/form", data={**typed, "csrf": csrf_of(warned.text), "action": "submit_anyway"})
    assert "Return submitted" in done.text
    assert request_state(agencies, sent["case"], "RUH")["status"] == "returned"
    [mail] = [m for m in smtp_server.messages() if m["X-CDOP-Kind"] == "portal_return_flagged"]
    body = mail.get_body(("plain",)).get_content()
    assert 'summary: sibling_name, to be replaced by "Sibling 1"' in body
    assert 'chronology row 1: child.surname, to be replaced by "the child"' in body
    assert 'summary: unrecorded.name (flag), to be replaced by "[person A]"' in body
    for words in (sibling, surname, "O’Neill", "ONeill"):
        assert words not in body and words not in mail["Subject"]


def test_the_warning_gate_uses_only_what_the_page_shows(agencies, sent):
    """On a non-secure route the warning knows nothing recorded; on a secure one, only the
    child's own name and dates (shown on that page): never the family's identifiers."""
    from cdop.intake.family import record_family
    from cdop.portal.warnings import text_warnings, warning_gate

    record_family(agencies, sent["case"], context=None, identifiers=[{"field": "sibling_name", "value": "Quorvanth"}])
    surname = sent["row"]["surname"]
    text = f"{surname} and Quorvanth were seen."
    with unit_of_work(agencies) as uow:
        case = get_case(uow, sent["case"])
        secure, open_route = warning_gate(case, True), warning_gate(case, False)
        assert {i.field for i in secure.identifiers} <= {"child.name", "child.forenames", "child.surname",
                                                          "child.date_of_birth", "child.date_of_death"}
        assert open_route.identifiers == ()
        [warned] = text_warnings(secure, [("summary", "Summary", text)])
        assert [p.text for p in warned.pieces if p.kind] == [surname]
        assert text_warnings(open_route, [("summary", "Summary", "Quorvanth was seen.")]) == []


def test_the_portal_warms_at_start_up_before_its_first_request(agencies, sent, smtp_server):
    """Its templates are compiled (and the gate's detectors loaded) while it starts, not
    by the first agency to submit; the first request is then answered as before."""
    from cdop.mail.templating import environment

    environment().cache.clear()
    app = create_app(agencies, deliver=deliver_now)
    assert not [name for _, name in environment().cache.keys() if name.startswith("portal/")]

    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    with TestClient(app, follow_redirects=True) as client:  # runs the start-up
        compiled = {name for _, name in environment().cache.keys()}
        assert {"portal/form.html.j2", "portal/code.html.j2", "portal/receipt.html.j2",
                "portal/message.html.j2", "portal/unusable.html.j2"} <= compiled
        first = client.get(f"/r/{token}")
    assert first.status_code == 200 and "Send me a code" in first.text
