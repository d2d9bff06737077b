"""Demo data: a fictional agency directory and about 20 fictional cases at different stages.

Every name, date and NHS number here is invented (NHS numbers from the 999 test range).
The history is made through the same services a coordinator uses, at past business
dates, so the outbox, audit trail and chase state are what real use would leave.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import random

from sqlalchemy import func, select

from cdop.config import Settings
from cdop.dev.demo_choices import DATA, choose_for, circumstances_for_age
from cdop.dev.demo_clock import happened_on
from cdop.intake.agencies import import_agencies
from cdop.intake.investigations import record_investigation
from cdop.intake.notifications import register_notifications
from cdop.mail.mailer import Email
from cdop.requests.agency_requests import plan_agency_requests
from cdop.requests.returns import record_return
from cdop.rules.workdays import WorkingCalendar, working_calendar
from cdop.sending import delivery
from cdop.store.db import unit_of_work
from cdop.store.models import Case
from cdop.store.statuses import InvestigationStatus, RequestStatus

FORENAMES = ["Amelia", "Oliver", "Isla", "Noah", "Ava", "Leo", "Freya", "Arthur", "Ivy", "Theo",
             "Rosie", "Finley", "Poppy", "Jude", "Esme", "Reuben", "Nia", "Kai", "Maisie", "Idris",
             "Zara", "Ezra", "Layla", "Rohan"]
SURNAMES = ["Ashdown", "Brightwell", "Calloway", "Dunmore", "Elsworth", "Fairbairn", "Greaves",
            "Holloway", "Ingram", "Jessop", "Kettering", "Lowther", "Marchbank", "Netherby",
            "Oakridge", "Pemberton", "Quayle", "Rendell", "Stainforth", "Thistlewood"]
STREETS = ["Orchard Way", "Mill Lane", "Church Street", "Victoria Road", "Beech Close"]


class _HistoryMailer:
    """Demo history predates the mail server: messages are recorded, not delivered."""

    def send(self, email: Email) -> None:
        pass

    def close(self) -> None:
        pass


def demo_nhs_number(rng: random.Random) -> str:
    while True:
        body = "999" + "".join(str(rng.randint(0, 9)) for _ in range(6))
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return body + str(check)


# (stage, notified working days ago, agencies, investigations, returned share, processes concluded)
SCENARIOS = [
    ("notified", 0, ["RUH", "GPHC", "CSC", "SCH1"], ["post_mortem", "cdrm"], 0.0, False),
    ("notified", 0, ["NCH", "GPMV", "POL", "COR"], ["coroner_inquest", "police"], 0.0, False),
    ("notified", 0, ["RUH", "CHS", "WMAS"], ["cdrm"], 0.0, False),
    ("notified", 0, ["NCH", "HOS", "GPHC"], [], 0.0, False),
    ("gathering", 12, ["RUH", "GPHC", "CSC", "EDU"], ["post_mortem", "cdrm"], 0.25, False),
    ("gathering", 22, ["NCH", "GPMV", "POL", "SCH2"], ["coroner_inquest", "police"], 0.5, False),
    ("gathering", 27, ["RUH", "CHS", "WMAS", "CAMHS"], ["coroner_inquest", "cdrm"], 0.5, False),
    ("gathering", 32, ["NCH", "GPHC", "CSC"], ["post_mortem"], 0.34, False),
    ("gathering", 37, ["RUH", "POL", "SCH1", "EDU"], ["coroner_inquest", "police", "cspr"], 0.5, False),
    ("gathering", 45, ["NCH", "GPMV", "CHS"], ["cdrm"], 0.67, False),
    ("gathering", 18, ["RUH", "GPHC"], [], 0.5, False),
    ("gathering", 40, ["HOS", "GPMV", "CHS"], ["cdrm"], 0.0, False),
    ("waiting", 60, ["RUH", "GPHC", "CSC"], ["coroner_inquest", "post_mortem"], 1.0, False),
    ("waiting", 75, ["NCH", "POL", "SCH2"], ["police", "cspr"], 1.0, False),
    ("waiting", 90, ["RUH", "CAMHS", "EDU", "GPMV"], ["coroner_inquest", "leder"], 1.0, False),
    ("waiting", 55, ["NCH", "CHS"], ["nhs_psi"], 1.0, False),
    ("ready", 100, ["RUH", "GPHC", "CSC"], ["post_mortem", "cdrm"], 1.0, True),
    ("ready", 120, ["NCH", "GPMV", "WMAS"], ["cdrm"], 1.0, True),
    ("ready", 80, ["HOS", "GPHC"], ["cdrm"], 1.0, True),
    ("ready", 140, ["RUH", "POL", "SCH1", "CSC"], ["coroner_inquest", "police", "cdrm"], 1.0, True),
    ("ready", 160, ["NCH", "GPHC", "CHS"], ["post_mortem", "cdrm"], 1.0, True),
]


def place_of_death(rng: random.Random, expected: bool, circumstances: list[str]) -> str:
    """A place that fits: an expected death in hospital, a hospice or at home; a road
    traffic death in a public place; a sudden unexpected death in infancy at home."""
    if expected:
        return rng.choice(["hospital", "hospice", "home"] if "palliative_care" in circumstances
                          else ["hospital", "hospital", "home"])
    if "road_traffic_collision" in circumstances:
        return "public_place"
    if "drowning" in circumstances:
        return rng.choice(["public_place", "home"])
    if "sudden_unexpected" in circumstances or "suicide_self_harm" in circumstances:
        return "home"
    return rng.choice(["hospital", "hospital", "home"])


def _child(rng: random.Random, died: dt.date, neonatal: bool) -> dict:
    if neonatal:
        born = died - dt.timedelta(days=rng.randint(0, 20))
    else:
        born = died - dt.timedelta(days=rng.randint(40, 17 * 365))
    return fictional_child(rng, born, died)


def fictional_child(rng: random.Random, born: dt.date, died: dt.date) -> dict:
    """The identifying and demographic fields of a fictional notification (the demo's and
    the simulation's): invented names, a 999-range NHS number, a Demotown address."""
    return {
        "forenames": rng.choice(FORENAMES),
        "surname": rng.choice(SURNAMES),
        "date_of_birth": born.isoformat(),
        "date_of_death": died.isoformat(),
        "nhs_number": demo_nhs_number(rng),
        "sex": rng.choice(["male", "female"]),
        "ethnicity": rng.choice(["white_british", "white_british", "asian_pakistani",
                                 "black_african", "mixed_white_asian", "not_stated"]),
        "address": f"{rng.randint(1, 120)} {rng.choice(STREETS)}, Demotown",
        "postcode": f"DT{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
        "deprivation_decile": rng.randint(1, 10),
        "notifier_name": "Dr " + rng.choice(SURNAMES),
        "notifier_role": "Consultant paediatrician",
        "notifier_email": "notifier@nhs.net",
    }


def load_demo(settings: Settings, *, today: dt.date, seed: int = 2026) -> str:
    """Load the demo (once: a database that already has cases is left alone)."""
    # One name for whoever did the demo's history, whoever runs the load.
    settings = dataclasses.replace(settings, actor="demo")
    with unit_of_work(settings) as uow:
        if uow.session.scalar(select(func.count(Case.id))):
            return "demo data already loaded; nothing changed"
    with (DATA / "demo_agencies.csv").open(newline="", encoding="utf-8") as fh:
        import_agencies(settings, list(csv.DictReader(fh)))
    from cdop.dev.demo_history import load_demo_history

    load_demo_history(settings, today=today, seed=seed)

    rng = random.Random(seed)
    calendar = working_calendar(settings.policy)
    # Oldest notification first, so case numbers run in notification order and the
    # newest cases are left for the running system to send.
    scenarios = sorted(SCENARIOS, key=lambda s: -s[1])
    for number, (stage, ago, agencies, processes, returned_share, concluded) in enumerate(scenarios):
        notified = calendar.subtract(today, ago) if ago else today
        died = notified - dt.timedelta(days=rng.randint(1, 3))
        neonatal = number % 5 == 0
        child = _child(rng, died, neonatal)
        age_days = (died - dt.date.fromisoformat(child["date_of_birth"])).days
        # About a third of child deaths are expected (a life-limiting condition, palliative
        # care): a mix at every stage past notification, as a real caseload has.
        expected = stage != "notified" and number % 3 == 1
        circumstances = (rng.choice([["congenital_anomaly"], ["palliative_care"]]) if expected
                         else circumstances_for_age(rng, age_days))
        # Chosen as registration would (a road traffic death brings the police and the
        # coroner and their processes), so the history below covers every request.
        agencies, processes = choose_for(agencies, processes, age_days, circumstances)
        if not expected and number % 3 and "cdrm" not in processes:
            # Most unexpected deaths have their joint agency response recorded; the rest
            # show the review-meeting flag (cdop.rules.review_meeting).
            processes = ["jar", *processes]
        row = child | {
            "place_of_death": place_of_death(rng, expected, circumstances),
            "expected": "yes" if expected else "no",
            "circumstances": circumstances,
            "agencies": agencies,
            "investigations": processes,
            "notified_on": notified.isoformat(),
        }
        with happened_on(settings, notified, hour=9):
            [case_number] = register_notifications(settings, [row], today=notified, first_row=None)
        if stage == "notified":
            continue
        if ago > 2:
            from cdop.intake.ncmd import record_ncmd_notified

            told = dt.datetime.combine(notified, dt.time(14))  # the day the office heard
            with happened_on(settings, told):
                record_ncmd_notified(settings, case_number, at=told)
        sent_on = calendar.add(notified, 1)
        with happened_on(settings, sent_on, hour=8):
            ids = plan_agency_requests(settings, sent_on)
            delivery.deliver(settings, _HistoryMailer(), ids=ids, actor="demo")
        _record_history(settings, case_number, agencies, processes, returned_share, concluded,
                        sent_on, today, rng, calendar)
    _chase_history(settings, today, calendar)
    from cdop.dev.demo_panel import load_demo_panel

    load_demo_panel(settings, today=today)
    return f"demo data loaded: {len(SCENARIOS)} cases"


def _chase_history(settings: Settings, today: dt.date, calendar: WorkingCalendar) -> None:
    """The reminders and escalations the chase DAG would have sent for the returns still
    outstanding, each on its working day, so no return is weeks overdue and never chased."""
    from cdop.requests import chasing
    from cdop.store.models import AgencyRequest

    with unit_of_work(settings) as uow:
        first = uow.session.scalar(select(func.min(AgencyRequest.next_chase_on))
                                   .where(AgencyRequest.status == RequestStatus.SENT))
    day = first
    while day is not None and day < today:
        if chasing.is_working_day(settings, day):
            with happened_on(settings, day, hour=7):
                chasing.plan_chases(settings, day)
                delivery.deliver(settings, _HistoryMailer(), kinds=list(chasing.KINDS), actor="demo")
        day = calendar.add(day, 1)


def _record_history(settings, case_number, agencies, processes, returned_share, concluded,
                    sent_on, today, rng, calendar) -> None:
    """Returns and processes, each recorded on the day it happened (its audit event too)."""
    returning = agencies[: round(len(agencies) * returned_share)]
    for code in returning:
        received = min(calendar.add(sent_on, rng.randint(5, 25)), today)
        with happened_on(settings, received, hour=11):
            record_return(settings, case_number, code, received_on=received, today=received)
    for kind in processes:
        if concluded:
            when = min(calendar.add(sent_on, rng.randint(20, 60)), today)
            with happened_on(settings, when, hour=14):
                record_investigation(settings, case_number, kind, status=InvestigationStatus.CONCLUDED, on=when, today=when,
                                     outcome="Concluded; findings shared with the panel.")
        else:
            with happened_on(settings, sent_on, hour=15):
                record_investigation(settings, case_number, kind, status=InvestigationStatus.IN_PROGRESS, on=sent_on,
                                     today=sent_on)
