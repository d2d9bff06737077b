"""Helpers for the portal's tests: a case whose requests really went out through the real
SMTP server, the link and the code read back from the received emails, and the fields a
complete return sends."""

from __future__ import annotations

import datetime as dt
import re

from cdop.clock import today_in_england
from tests.support.chasing import notify, send_requests

LINK = re.compile(r"https?://[^\s/]+/r/([A-Za-z0-9_-]{20,})")
CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)


def sent_case(settings, agencies=("RUH", "SCH1"), seed: int = 3) -> tuple[str, dict, dt.date]:
    """A case whose requests went out a week ago (portal dates are today's, in England)."""
    today = today_in_england()
    number, row = notify(settings, list(agencies), on=today - dt.timedelta(days=10), seed=seed,
                         died=today - dt.timedelta(days=12))
    send_requests(settings, today - dt.timedelta(days=7))
    return number, row, today


def _plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def links_in_mail(smtp_server, to: str, kind: str | None = None) -> list[str]:
    """Tokens of the portal links in the messages received for `to`, oldest first."""
    found = []
    for m in smtp_server.messages():
        if to in (m["To"] or "") and (kind is None or m["X-CDOP-Kind"] == kind):
            found += LINK.findall(_plain(m))
    return found


def latest_code(smtp_server, to: str) -> str:
    codes = [CODE.search(_plain(m)).group(1) for m in smtp_server.messages()
             if m["X-CDOP-Kind"] == "portal_code" and to in (m["To"] or "")]
    assert codes, "no code email received"
    return codes[-1]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def complete_return(today: dt.date, **extra) -> dict[str, str]:
    """The fields of a complete return from a hospital trust (the reporting form only)."""
    fields = {
        "involvement__completed_by_role": "Named nurse for safeguarding",
        "involvement__first_contact": (today - dt.timedelta(days=300)).isoformat(),
        "safeguarding__safeguarding_concerns": "no",
        "health__known_conditions": "not_known",
        "summary": "Seen in the children's emergency department twice; discharged home with the mother.",
        "chronology-1-date": (today - dt.timedelta(days=40)).isoformat(),
        "chronology-1-what_happened": "Attended the emergency department with a cough; discharged.",
        "chronology-2-date": (today - dt.timedelta(days=13)).isoformat(),
        "chronology-2-what_happened": "Brought in by ambulance; resuscitation was not successful.",
    }
    fields.update(extra)
    return fields
