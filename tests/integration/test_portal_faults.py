"""The portal under faults and attacks, over real connections: uvicorn serving the portal
on loopback (in a thread of this process, so that what the app read of a body can be
counted), the CDOP database on SQLite and PostgreSQL, the codes read back from the real
SMTP server. Concurrent clients are threads, each with its own connection, released
together by a barrier.
"""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from cdop.portal.app import create_app, request_body_limit
from cdop.sending.portal import deliver_now
from cdop.store.db import unit_of_work
from cdop.store.models import AuditEvent, ChronologyEntry, PortalForm, PortalLink
from tests.integration.test_portal import RUH, with_portal
from tests.support.http_server import CHUNK, SERVER_MESSAGE_MAX, Counted, chunked_post, serve
from tests.support.portal import complete_return, csrf_of, latest_code, links_in_mail, sent_case

pytestmark = pytest.mark.timeout(300)

GUESSES = 32
SUBMITS = 6


@pytest.fixture
def portal(agencies, smtp_server):
    """A case whose requests went out, and the portal serving it over real connections.
    The per-minute limits are raised: what is tested is the lock, not the rate limit."""
    settings = with_portal(agencies, requests_per_minute_per_link=10_000, requests_per_minute_per_address=10_000,
                           attachment_max_mb=1, max_attachments=1)
    number, _, today = sent_case(settings)
    counted = Counted(create_app(settings, deliver=deliver_now))
    server, thread, url = serve(counted)
    try:
        yield {"settings": settings, "url": url, "case": number, "today": today, "counted": counted}
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def code_page(client: httpx.Client, token: str) -> str:
    first = client.get(f"/r/{token}")
    assert first.status_code == 200 and "Send me a code" in first.text
    page = client.post(f"/r/{token}/code/send", data={"csrf": csrf_of(first.text)})
    assert page.status_code == 200 and "Enter the code" in page.text
    return csrf_of(page.text)


def at_once(count: int, work) -> list:
    """`work(i)` in `count` threads released together; their results in order."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_wrong_codes_are_compared_at_most_the_limit_and_lock_the_link(portal, smtp_server):
    """Issue 22 item 1: 32 wrong codes at once, each on its own connection. The link's row
    is locked for each comparison, so at most the limit are compared, the link locks, and
    the right code is refused after."""
    settings, url = portal["settings"], portal["url"]
    limit = settings.policy.portal.code_max_failures
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    with httpx.Client(base_url=url) as browser:
        csrf = code_page(browser, token)
        cookies = dict(browser.cookies)
    right = latest_code(smtp_server, RUH)
    wrong = f"{(int(right) + 1) % 10**6:06d}"

    def guess(_):
        with httpx.Client(base_url=url, cookies=cookies, timeout=120) as c:
            return c.post(f"/r/{token}/code", data={"code": wrong, "csrf": csrf}).status_code

    statuses = at_once(GUESSES, guess)
    # Each answer is "not right" (400) or "locked" (429); none is an error.
    assert set(statuses) <= {400, 429}, statuses
    with unit_of_work(settings) as uow:
        compared = uow.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "portal_code_refused"))
        link = uow.session.scalar(select(PortalLink).where(PortalLink.sent_to == RUH))
        assert link.code_failures == limit and link.locked_until is not None
    assert compared == limit
    # Only a compared code can be answered "not right"; the one that locked the link is not.
    assert statuses.count(400) <= limit - 1
    with httpx.Client(base_url=url, cookies=cookies) as c:
        refused = c.post(f"/r/{token}/code", data={"code": right, "csrf": csrf}, follow_redirects=True)
        assert refused.status_code == 429 and "Return for the child death review" not in refused.text


def test_concurrent_submits_all_get_the_receipt_and_record_the_return_once(portal, smtp_server):
    """Issue 22 item 6: a double (here sixfold) click on Submit, each on its own
    connection: six receipts with the same reference, one return recorded."""
    settings, url, today = portal["settings"], portal["url"], portal["today"]
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    with httpx.Client(base_url=url, follow_redirects=True) as browser:
        csrf = code_page(browser, token)
        form = browser.post(f"/r/{token}/code", data={"code": latest_code(smtp_server, RUH), "csrf": csrf})
        assert "Return for the child death review" in form.text
        csrf, cookies = csrf_of(form.text), dict(browser.cookies)
    fields = {**complete_return(today), "csrf": csrf, "action": "submit"}

    def submit(_):
        with httpx.Client(base_url=url, cookies=cookies, timeout=120) as c:
            return c.post(f"/r/{token}/form", data=fields)

    pages = at_once(SUBMITS, submit)
    assert [p.status_code for p in pages] == [200] * SUBMITS, [p.text[:300] for p in pages]
    assert all("Return submitted" in p.text for p in pages)
    reference = f"{portal['case']}-RUH-1"
    assert all(reference in p.text for p in pages)
    with unit_of_work(settings) as uow:
        form_row = uow.session.scalar(select(PortalForm))
        assert form_row.submissions == 1 and form_row.reference == reference
        assert uow.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "portal_return_submitted")) == 1
        assert uow.session.scalar(select(func.count(ChronologyEntry.id))) == 2
    # The ended link opens nothing else for that browser: the form is gone.
    with httpx.Client(base_url=url, cookies=cookies) as c:
        assert c.get(f"/r/{token}/form").status_code == 404


def test_a_chunked_body_without_a_length_is_refused_past_the_limit_unread(portal, smtp_server):
    """Issue 22 item 5: a chunked upload, no length, to a link path, to an unknown path and
    to a live link's form: refused with 413 once past the limit; the app was handed at
    most the limit plus the one message that crossed it, not the 30 MB sent at it."""
    limit = request_body_limit(portal["settings"])
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    counted = portal["counted"]
    for path in (f"/r/{token}/form", f"/r/{token}/code", "/r/not-a-token-aaaaaaaaaaaaaaaaaaaa/form"):
        counted.body_bytes = 0
        status, sent = chunked_post(portal["url"], path, total=10 * limit)
        assert status == 413, path
        # The app read nothing after the message that crossed the limit...
        assert counted.body_bytes - counted.last_message <= limit < counted.body_bytes, path
        # ... and that message was one server read, not the rest of the upload.
        assert counted.last_message <= SERVER_MESSAGE_MAX, (path, counted.last_message)


def test_a_declared_length_over_the_limit_is_refused_before_reading(portal, smtp_server):
    limit = request_body_limit(portal["settings"])
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    counted = portal["counted"]
    counted.body_bytes = 0
    host, port = portal["url"].removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=120) as sock:
        sock.sendall(f"POST /r/{token}/form HTTP/1.1\r\nHost: {host}\r\nContent-Length: {limit + 1}\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode() + b"a" * CHUNK)
        answer = sock.recv(4096)
    assert answer.split(b" ", 2)[1] == b"413"
    assert counted.body_bytes == 0
    # A body within the limit still reaches the form (refused there as a stale form, 400).
    with httpx.Client(base_url=portal["url"]) as c:
        assert c.post(f"/r/{token}/form", content=b"a=b" * 1000,
                      headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400


def test_hsts_is_sent_when_the_trusted_proxy_says_https(portal, smtp_server):
    """Issue 22 item 9: Strict-Transport-Security on every answer to a request that came
    over HTTPS (here as the trusted proxy on loopback says), never over plain HTTP."""
    [token] = links_in_mail(smtp_server, RUH, "agency_request")
    with httpx.Client(base_url=portal["url"]) as c:
        for path in (f"/r/{token}", "/r/not-a-token-aaaaaaaaaaaaaaaaaaaa", "/"):
            over_tls = c.get(path, headers={"x-forwarded-proto": "https"})
            assert over_tls.headers["strict-transport-security"] == "max-age=31536000", path
            assert "strict-transport-security" not in c.get(path).headers, path
