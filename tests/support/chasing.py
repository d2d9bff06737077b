"""Helpers for the chasing tests: notifications, a day's DAG work through the same
service functions the DAG tasks call, and what the real SMTP server received."""

from __future__ import annotations

import datetime as dt
import random

from cdop.config import Settings
from cdop.dev.demo import demo_nhs_number
from cdop.intake.ncmd import record_ncmd_notified
from cdop.intake.notifications import register_notifications
from cdop.requests import chasing, digest
from cdop.requests.agency_requests import KIND as REQUEST_KIND
from cdop.requests.agency_requests import plan_agency_requests
from cdop_airflow.sending import send_pending

SURNAMES = ["Quayle", "Thistlewood", "Marchbank", "Stainforth", "Netherby", "Oakridge"]


def notify(settings: Settings, agencies: list[str], *, on: dt.date, investigations=(), seed: int = 1,
           died: dt.date | None = None, ncmd: bool = True) -> tuple[str, dict]:
    """Register one fictional notification; return (case number, the row with identifiers)."""
    rng = random.Random(seed)
    died = died or on - dt.timedelta(days=1)
    row = {
        "forenames": "Wilhelmina",
        "surname": SURNAMES[seed % len(SURNAMES)],
        "date_of_birth": (died - dt.timedelta(days=900 + seed)).isoformat(),
        "date_of_death": died.isoformat(),
        "nhs_number": demo_nhs_number(rng),
        "sex": "female",
        "place_of_death": "hospital",
        "expected": "no",
        "postcode": "DT1 4QZ",
        "agencies": agencies,
        "investigations": list(investigations),
        "notified_on": on.isoformat(),
    }
    [number] = register_notifications(settings, [row], today=on, first_row=None)
    if ncmd:
        record_ncmd_notified(settings, number, at=dt.datetime.combine(died + dt.timedelta(days=1), dt.time(11)))
    return number, row


def send_requests(settings: Settings, day: dt.date) -> None:
    """What cdop_send_agency_requests does on `day`."""
    plan_agency_requests(settings, day)
    send_pending(settings, kinds=[REQUEST_KIND])


def chase_day(settings: Settings, day: dt.date) -> dict | None:
    """What cdop_chase_overdue_returns does on `day`: the same three service calls."""
    if not chasing.is_working_day(settings, day):
        return None
    chasing.plan_chases(settings, day)
    return send_pending(settings, kinds=list(chasing.KINDS))


def digest_day(settings: Settings, day: dt.date) -> dict | None:
    """What cdop_send_daily_digest does on `day`."""
    if not chasing.is_working_day(settings, day):
        return None
    digest.plan_digest(settings, day)
    return send_pending(settings, kinds=[digest.KIND])


def received(smtp_server, kinds=chasing.KINDS) -> list[dict]:
    """Messages of `kinds` the SMTP server received, with their CDOP headers."""
    found = []
    for m in smtp_server.messages():
        if m["X-CDOP-Kind"] not in kinds:
            continue
        body = m.get_body(("plain",)).get_content()
        found.append({
            "key": m["X-CDOP-Key"],
            "kind": m["X-CDOP-Kind"],
            "date": dt.date.fromisoformat(m["X-CDOP-Business-Date"]),
            "to": m["To"],
            "cc": m["Cc"],
            "envelope": m["X-Envelope-To"],
            "subject": m["Subject"],
            "text": body,
            "raw": m.as_string(),
        })
    return found


def days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)
