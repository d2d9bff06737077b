"""Watch months of case work in a minute: a seeded simulation over business dates.

Day by day it calls the same service functions the DAG tasks call (send agency
requests, chase overdue returns, send the daily digest), in the order the schedule runs
them, while a simulated world does what people do: deaths are notified, agencies
return their forms after realistic delays (sooner once chased, some only after an
escalation, a few never, and are waived), parallel processes start and conclude, and
the coordinator records the NCMD notification (not always in time).

It runs on demo data in its own database: `cdop simulate` makes a throwaway home
unless told where to keep one, and never touches the configured CDOP database.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from cdop.config import Settings
from cdop.dev.demo import fictional_child, load_demo
from cdop.dev.demo_choices import choose_for
from cdop.intake import ncmd
from cdop.intake.investigations import record_investigation
from cdop.intake.ncmd import record_ncmd_notified
from cdop.intake.notifications import DuplicateNotification, register_notifications
from cdop.mail.mailer import Email
from cdop.requests import agency_requests, chasing, digest
from cdop.requests.returns import record_return
from cdop.rules.stages import OPEN_INVESTIGATION, Stage, case_ready_since, case_stage
from cdop.rules.workdays import WorkingCalendar, working_calendar
from cdop.sending import delivery
from cdop.store.db import migrate, unit_of_work
from cdop.store.models import Agency, AgencyRequest, Case, Investigation, OutboxMessage
from cdop.store.statuses import InvestigationStatus, OutboxStatus, RequestStatus

ACTOR = "simulation"

# Median working days from request to return, by agency type (some are slower).
MEDIAN_RETURN_DAYS = {
    "hospital_trust": 18, "gp": 14, "community_health": 15, "ambulance": 12, "police": 26,
    "social_care": 21, "education": 19, "mental_health": 24, "coroner": 28, "other": 20,
}
SILENT_SHARE = 0.04  # agencies that never return: the coordinator waives after the ladder
ANSWER_AFTER = {"reminder": 0.35, "escalation": 0.7}  # chance a chase prompts a return soon
# Working days a process runs from the notification (low, high).
PROCESS_DAYS = {
    "post_mortem": (20, 55), "police": (30, 120), "coroner_inquest": (60, 200),
    "cspr": (100, 220), "nhs_psi": (40, 100), "leder": (50, 110), "cdrm": (40, 80),
}
AGENCY_SETS = [
    ["RUH", "GPHC", "CSC", "SCH1"], ["NCH", "GPMV", "POL", "COR"], ["RUH", "CHS", "WMAS"],
    ["NCH", "HOS", "GPHC"], ["RUH", "GPMV", "CSC", "EDU", "CAMHS"], ["NCH", "CHS", "POL", "SCH2"],
]


class CountingMailer:
    """Delivers nowhere: counts what would have been sent, by message kind."""

    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()
        self.last: Email | None = None

    def send(self, email: Email) -> None:
        kind = dict(email.headers).get("X-CDOP-Kind", "agency_request")
        self.by_kind[kind] += 1
        self.last = email

    def close(self) -> None:
        pass


@dataclass
class Summary:
    start: dt.date
    end: dt.date
    working_days: int = 0
    notifications: int = 0
    requests_sent: int = 0
    reminders: int = 0
    escalations: int = 0
    chases_cancelled: int = 0
    returns: int = 0
    waivers: int = 0
    processes_concluded: int = 0
    digests: int = 0
    ncmd_breaches: int = 0  # distinct cases flagged at least once
    became_ready: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    median_return_days: float | None = None

    def lines(self) -> list[str]:
        stages = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.stages.items())
        return [
            f"simulated {self.working_days} working days, {self.start} to {self.end}",
            f"  notifications registered   {self.notifications}",
            f"  requests sent              {self.requests_sent}",
            f"  reminders sent             {self.reminders}",
            f"  escalations sent           {self.escalations}",
            f"  returns received           {self.returns}"
            + (f" (median {self.median_return_days:g} working days after the request)"
               if self.median_return_days is not None else ""),
            f"  returns waived             {self.waivers}",
            *([f"  chases cancelled           {self.chases_cancelled} (the return came after queueing)"]
              if self.chases_cancelled else []),
            f"  processes concluded        {self.processes_concluded}",
            f"  daily digests sent         {self.digests}",
            f"  NCMD deadline breaches     {self.ncmd_breaches}",
            f"  cases became ready for panel  {self.became_ready}",
            f"  cases by stage at the end: {stages}",
        ]


class World:
    """What the people outside the system do, drawn from one seeded generator."""

    def __init__(self, settings: Settings, rng: random.Random, arrivals_per_day: float):
        self.settings = settings
        self.rng = rng
        self.arrivals = arrivals_per_day
        self.calendar = working_calendar(settings.policy)
        self.answer_on: dict[int, dt.date | None] = {}  # request id -> day it returns (None: never)
        self.seen_step: dict[int, int] = {}
        self.conclude_on: dict[int, dt.date] = {}  # investigation id -> day it concludes
        self.ncmd_on: dict[str, dt.date] = {}  # case number -> day the NCMD is told
        self.flagged: set[str] = set()

    # -- agencies
    def _first_answer(self, request, agency_type: str, today: dt.date) -> dt.date | None:
        if self.rng.random() < SILENT_SHARE:
            return None
        median = MEDIAN_RETURN_DAYS.get(agency_type, 20)
        delay = max(3, round(self.rng.lognormvariate(math.log(median), 0.45)))
        day = self.calendar.add(request.requested_on, delay)
        if day < today:  # a request from the demo history whose time has passed
            day = self.calendar.add(today, self.rng.randint(1, 8))
        return day

    def agencies_answer(self, today: dt.date) -> tuple[int, int]:
        returns = waivers = 0
        with unit_of_work(self.settings, ACTOR) as uow:
            rows = uow.session.execute(
                select(AgencyRequest.id, AgencyRequest.requested_on, AgencyRequest.ladder_step,
                       AgencyRequest.last_chased_on, Case.case_number, Agency.code, Agency.agency_type)
                .join(Case, AgencyRequest.case_id == Case.id)
                .join(Agency, AgencyRequest.agency_id == Agency.id)
                .where(AgencyRequest.status == RequestStatus.SENT)
                .order_by(AgencyRequest.id)
            ).all()
        ladder = self.settings.policy.chase_ladder
        for request in rows:
            case_number, code, agency_type = request.case_number, request.code, request.agency_type
            if request.id not in self.answer_on:
                self.answer_on[request.id] = self._first_answer(request, agency_type, today)
                self.seen_step[request.id] = request.ladder_step
            if request.ladder_step > self.seen_step[request.id]:
                # A chase went out since we last looked: it often prompts the return.
                self.seen_step[request.id] = request.ladder_step
                action = ladder[request.ladder_step - 1].action
                if self.rng.random() < ANSWER_AFTER[action]:
                    soon = self.calendar.add(today, self.rng.randint(1, 5))
                    current = self.answer_on[request.id]
                    self.answer_on[request.id] = min(current, soon) if current else soon
            answer = self.answer_on[request.id]
            if answer is not None and answer <= today:
                record_return(self.settings, case_number, code, received_on=today, today=today)
                returns += 1
            elif (answer is None and request.ladder_step >= len(ladder) and request.last_chased_on
                  and self.calendar.between(request.last_chased_on, today) >= 10):
                agency_requests.waive_request(self.settings, case_number, code, today=today,
                                      reason="Agency confirmed by phone that it holds no information.")
                waivers += 1
        return returns, waivers

    # -- parallel processes
    def processes_move(self, today: dt.date) -> int:
        concluded = 0
        with unit_of_work(self.settings, ACTOR) as uow:
            rows = uow.session.execute(
                select(Investigation.id, Investigation.case_id, Investigation.kind, Investigation.status,
                       Investigation.started_on, Case.case_number, Case.notified_on)
                .join(Case, Investigation.case_id == Case.id)
                .where(Investigation.status.in_(OPEN_INVESTIGATION), Case.closed_on.is_(None))
                .order_by(Investigation.id)
            ).all()
            post_mortem_done = dict(uow.session.execute(
                select(Investigation.case_id, Investigation.concluded_on)
                .where(Investigation.kind == "post_mortem", Investigation.status == InvestigationStatus.CONCLUDED)
            ).all())
        for inv in rows:
            case_number, notified_on = inv.case_number, inv.notified_on
            if inv.id not in self.conclude_on:
                low, high = PROCESS_DAYS.get(inv.kind, (30, 90))
                start = max(notified_on, inv.started_on or notified_on)
                self.conclude_on[inv.id] = max(self.calendar.add(start, self.rng.randint(low, high)),
                                               self.calendar.add(today, 1))
            if inv.kind == "cdrm" and inv.case_id not in post_mortem_done and any(
                    i.case_id == inv.case_id and i.kind == "post_mortem" for i in rows):
                continue  # the CDRM is held after the post-mortem report is in
            if self.conclude_on[inv.id] <= today:
                record_investigation(self.settings, case_number, inv.kind, status=InvestigationStatus.CONCLUDED,
                                     on=today, today=today, outcome="Concluded (simulated).")
                concluded += 1
            elif inv.status == InvestigationStatus.NOT_STARTED and self.rng.random() < 0.3:
                record_investigation(self.settings, case_number, inv.kind, status=InvestigationStatus.IN_PROGRESS,
                                     on=today, today=today)
        return concluded

    # -- notifications and the NCMD
    def deaths_notified(self, today: dt.date) -> list[str]:
        numbers = []
        count = sum(1 for _ in range(3) if self.rng.random() < self.arrivals / 3)
        for _ in range(count):
            row = self._notification(today)
            try:
                numbers += register_notifications(self.settings, [row], today=today, first_row=None)
            except DuplicateNotification:  # the generator drew an existing child: skip
                continue
        return numbers

    def _notification(self, today: dt.date) -> dict:
        rng = self.rng
        died = today - dt.timedelta(days=rng.randint(0, 2))
        neonatal = rng.random() < 0.35
        born = died - dt.timedelta(days=rng.randint(0, 27) if neonatal else rng.randint(40, 17 * 365))
        expected = rng.random() < 0.4
        processes = ["cdrm"] if expected else ["post_mortem", "cdrm", "coroner_inquest"]
        if not expected and rng.random() < 0.5:
            processes.append("police")
        for kind, share in (("cspr", 0.05), ("nhs_psi", 0.1), ("leder", 0.05)):
            if rng.random() < share:
                processes.append(kind)
        circumstances = [] if expected or neonatal else rng.choice([[], ["sudden_unexpected"],
                                                                    ["road_traffic_collision"]])
        agencies, processes = choose_for(rng.choice(AGENCY_SETS), processes, (died - born).days, circumstances)
        return fictional_child(rng, born, died) | {
            "place_of_death": "hospital" if expected or neonatal else rng.choice(["home", "hospital", "public_place"]),
            "expected": "yes" if expected else "no",
            "circumstances": circumstances,
            "agencies": agencies,
            "investigations": processes,
            "notified_on": today.isoformat(),
        }

    def ncmd_recorded(self, today: dt.date) -> None:
        """The coordinator tells the NCMD, usually the day the death is notified, not always."""
        with unit_of_work(self.settings, ACTOR) as uow:
            untold = uow.session.execute(
                select(Case.case_number).where(Case.ncmd_notified_at.is_(None), Case.closed_on.is_(None))
            ).scalars().all()
        for number in untold:
            if number not in self.ncmd_on:
                late = self.rng.random() < 0.1
                self.ncmd_on[number] = self.calendar.add(today, self.rng.randint(3, 6) if late else 0)
        for number, day in list(self.ncmd_on.items()):
            if day <= today:
                at = dt.datetime.combine(today, dt.time(self.rng.randint(9, 16), 30))
                record_ncmd_notified(self.settings, number, at=at)
                del self.ncmd_on[number]


def business_days(calendar: WorkingCalendar, start: dt.date, working_days: int) -> Iterator[tuple[dt.date, bool]]:
    """Every calendar day from `start` until `working_days` working days have passed."""
    day, done = start, 0
    while done < working_days:
        working = calendar.is_working_day(day)
        yield day, working
        done += working
        day += dt.timedelta(days=1)


def run_day(settings: Settings, mailer, world: World, day: dt.date) -> dict[str, int]:
    """One business date: the morning DAGs, then what people do, then the request DAG."""
    counts: Counter[str] = Counter()
    # cdop_chase_overdue_returns and cdop_send_daily_digest (both do nothing on a
    # non-working day, as their first task decides).
    if chasing.is_working_day(settings, day):
        chasing.plan_chases(settings, day)
        report = delivery.deliver(settings, mailer, kinds=chasing.KINDS, actor=ACTOR)
        counts["cancelled"] += len(report.cancelled)
        digest.plan_digest(settings, day)
        delivery.deliver(settings, mailer, kinds=[digest.KIND], actor=ACTOR)
        with unit_of_work(settings, ACTOR) as uow:
            world.flagged.update(b.case_number for b in ncmd.ncmd_breaches(uow.session, day, settings.policy))
        # The working day: returns, waivers, processes, new deaths, NCMD notifications.
        counts["returns"], counts["waivers"] = world.agencies_answer(day)
        counts["concluded"] = world.processes_move(day)
        counts["notifications"] = len(world.deaths_notified(day))
        world.ncmd_recorded(day)
    # cdop_send_agency_requests (every few minutes, every day).
    ids = agency_requests.plan_agency_requests(settings, day)
    if ids:
        delivery.deliver(settings, mailer, kinds=[agency_requests.KIND], actor=ACTOR)
    return counts


def simulate(
    settings: Settings,
    *,
    start: dt.date,
    working_days: int = 90,
    seed: int = 2026,
    mailer=None,
    arrivals_per_day: float = 0.3,
    progress: bool = True,
) -> Summary:
    """Run the simulation on `settings` (a database of its own: demo data is loaded)."""
    from tqdm import tqdm

    mailer = mailer or CountingMailer()
    migrate(settings)
    load_demo(settings, today=start, seed=seed)
    world = World(settings, random.Random(seed), arrivals_per_day)
    totals: Counter[str] = Counter()
    last = start
    bar = tqdm(total=working_days, unit="working day", disable=not progress, leave=False)
    try:
        for day, working in business_days(world.calendar, start, working_days):
            totals.update(run_day(settings, mailer, world, day))
            last = day
            if working:
                bar.update(1)
                bar.set_postfix_str(f"{day}, {totals['notifications']} notified, "
                                    f"{totals['returns']} returned", refresh=False)
    finally:
        bar.close()
        mailer.close()
    return _summarise(settings, start, last, working_days, totals, world)


def _summarise(settings, start, end, working_days, totals, world) -> Summary:
    from statistics import median

    calendar = world.calendar
    with unit_of_work(settings, ACTOR) as uow:
        session = uow.session
        sent = dict(session.execute(
            select(OutboxMessage.kind, func.count())
            .where(OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.business_date >= start)
            .group_by(OutboxMessage.kind)
        ).all())
        returned = session.execute(
            select(AgencyRequest.requested_on, AgencyRequest.returned_on)
            .where(AgencyRequest.returned_on >= start, AgencyRequest.requested_on >= start)
        ).all()
        cases = session.scalars(
            select(Case).options(selectinload(Case.requests), selectinload(Case.investigations))
        ).all()
        stages = Counter(case_stage(c).value for c in cases)
        became_ready = 0
        for c in cases:
            if case_stage(c) is Stage.READY:
                since = case_ready_since(c)
                became_ready += bool(since and since >= start)
    delays = [calendar.between(a, b) for a, b in returned]
    order = [s.value for s in Stage]
    return Summary(
        start=start,
        end=end,
        working_days=working_days,
        notifications=totals["notifications"],
        requests_sent=sent.get(agency_requests.KIND, 0),
        reminders=sent.get(chasing.REMINDER, 0),
        escalations=sent.get(chasing.ESCALATION, 0),
        chases_cancelled=totals["cancelled"],
        returns=totals["returns"],
        waivers=totals["waivers"],
        processes_concluded=totals["concluded"],
        digests=sent.get(digest.KIND, 0),
        ncmd_breaches=len(world.flagged),
        became_ready=became_ready,
        stages={k: stages[k] for k in order if stages.get(k)},
        median_return_days=median(delays) if delays else None,
    )
