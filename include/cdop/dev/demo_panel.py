"""Demo data for the panel stage, made through the same services a coordinator uses.

On top of the demo cases (cdop.dev.demo): panel members (one on an address that is not a
secure route), return summaries and chronologies for every return received, the
family's circumstances (and identifiers for the gate) for every case past notification,
a meeting that has happened: three cases taken through report, check and that meeting,
two of them to closure with analyses and recommendations (one already due, so the
follow-up DAG asks for progress) and one waiting for the panel's analysis to be recorded;
one case approved and waiting for the next meeting, whose papers go today, and one ready
case left for the assembly DAG (its check then appears as a Required Action in Airflow).
Each step is stamped with the day it happened (cdop.dev.demo_clock). Everything is
fictional; no text names anyone.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cdop.config import Settings
from cdop.dev.demo_clock import happened_on
from cdop.intake.family import record_family
from cdop.mail.mailer import Email
from cdop.panel.analysis import record_analysis
from cdop.panel.case_reports import build_report, decide
from cdop.panel.meetings import KINDS as PANEL_KINDS
from cdop.panel.meetings import (
    add_meeting,
    add_member,
    allocate_cases,
    list_members,
    pack_date,
    record_meeting,
)
from cdop.panel.papers import plan_panel_papers
from cdop.requests.returns import record_return_content
from cdop.rules.stages import Stage, case_ready_since, case_stage
from cdop.rules.workdays import WorkingCalendar, working_calendar
from cdop.sending import delivery
from cdop.store.db import unit_of_work
from cdop.store.models import Case, MeetingAttendance, PanelMeeting
from cdop.store.statuses import AttendanceStatus, RequestStatus

MEMBERS = [
    ("Dr Helen Armitage", "Designated doctor for child deaths (chair)", "helen.armitage@nhs.net"),
    ("Dr Kwame Mensah", "Consultant neonatologist", "kwame.mensah@nhs.net"),
    ("Claire Dobson", "Designated nurse, safeguarding", "claire.dobson@nhs.net"),
    ("DI Mark Fenwick", "Police, child abuse investigation", "mark.fenwick@demo.police.cjsm.net"),
    ("Priya Natarajan", "Children's social care", "priya.natarajan@democounty.gov.uk"),
    ("Gareth Lloyd", "Lay member", "gareth.lloyd@example.org"),
]
# What each kind of agency would write, for a baby who died in the first weeks and for
# an older child: (summary, chronology events). A GP does not know a week-old baby "from
# birth"; children's social care does not see a child with a cough.
AGENCY_GROUP = {"RUH": "hospital", "NCH": "hospital", "GPHC": "gp", "GPMV": "gp", "CHS": "community",
                "WMAS": "ambulance", "POL": "police", "CSC": "social_care", "EDU": "education",
                "SCH1": "education", "SCH2": "education", "CAMHS": "mental_health", "HOS": "hospice",
                "COR": "coroner"}
TEXTS = {
    "hospital": {
        "baby": ("Cared for on the neonatal unit from birth. Treatment and the plan of care were discussed "
                 "with the parents throughout.",
                 ["Admitted to the neonatal unit after birth; treatment started.",
                  "Review by the consultant neonatologist; plan discussed with the parents.",
                  "Transferred to intensive care; the parents were with the baby."]),
        "child": ("Seen in the emergency department and on the children's ward in the year before the death. "
                  "Records reviewed; no safeguarding concerns were recorded.",
                  ["Attended the emergency department with breathing difficulty; treated and discharged.",
                   "Outpatient review; medication adjusted and the plan explained to the family.",
                   "Brought to the emergency department by ambulance; resuscitation attempted."]),
    },
    "gp": {
        "baby": ("Registered with the practice after birth. The baby had not yet been seen; the six-to-eight-week "
                 "check had been booked.",
                 ["Registered with the practice.", "Six-to-eight-week check booked for the baby."]),
        "child": ("Registered with the practice. Seen for minor illnesses in the year before the death; the "
                  "family engaged well and attended appointments.",
                  ["Seen with a cough and fever; advice given and safety-netting explained to the parent.",
                   "Routine review; growth and development on track.",
                   "Telephone consultation with the parent; appointment arranged."]),
    },
    "community": {
        "baby": ("The health visiting team had made the new-birth contact. No concerns were recorded.",
                 ["New-birth visit by the health visitor; feeding and safe sleep discussed."]),
        "child": ("Known to the health visiting and school nursing teams. Contacts were routine.",
                  ["Home visit by the health visitor; no concerns.", "Missed appointment; follow-up letter sent."]),
    },
    "ambulance": {
        "baby": ("Responded to a call about the baby; crew arrived within the target time and took the baby "
                 "to hospital.", ["999 call received; crew dispatched.", "Crew arrived; baby taken to hospital."]),
        "child": ("Responded to a 999 call; the crew attempted resuscitation and took the child to hospital.",
                  ["999 call received; crew dispatched.", "Crew arrived; resuscitation started."]),
    },
    "police": {
        "baby": ("Attended with the ambulance service under the joint agency response. No offences identified.",
                 ["Officers attended the home with the ambulance crew."]),
        "child": ("Attended under the joint agency response and investigated on behalf of the coroner. No "
                  "offences identified; the file was passed to the coroner.",
                  ["Officers attended the scene.", "Statements taken; file passed to the coroner."]),
    },
    "social_care": {
        "baby": ("Not known to children's social care before the death. Bereavement support was offered "
                 "to the family.", ["Referral received after the death; bereavement support offered."]),
        "child": ("Known to children's social care through an earlier early-help assessment, closed before "
                  "the death. No open plan at the time of death.",
                  ["Early-help assessment completed; support from the family hub agreed.",
                   "Early-help plan closed; needs met."]),
    },
    "education": {
        "child": ("On roll, with good attendance. No concerns were raised by staff; the school community "
                  "was supported after the death.",
                  ["Attendance reviewed; no concerns.", "Parents' evening attended by the family."]),
    },
    "mental_health": {
        "child": ("Referred to the service in the year before the death and seen for assessment; a plan of "
                  "support was agreed with the young person and the family.",
                  ["Assessment appointment attended.", "Follow-up appointment; plan reviewed."]),
    },
    "hospice": {
        "baby": ("Known to the hospice from the antenatal period through the palliative care team; end-of-life "
                 "care was planned with the family.",
                 ["Advance care plan agreed with the parents.", "Transferred to the hospice for end-of-life care."]),
        "child": ("Known to the hospice for respite and symptom care; end-of-life care was planned with the "
                  "family.", ["Respite stay at the hospice.", "Advance care plan reviewed with the family."]),
    },
    "coroner": {
        "baby": ("The death was reported to the coroner, who ordered a post-mortem examination.",
                 ["Death reported to the coroner."]),
        "child": ("The death was reported to the coroner, who opened an investigation and an inquest.",
                  ["Death reported to the coroner.", "Inquest opened and adjourned."]),
    },
}


def return_text(code: str, age_days: int) -> tuple[str, list[str]]:
    """What this agency would say of a child of this age (the demo's returns)."""
    texts = TEXTS[AGENCY_GROUP.get(code, "hospital")]
    return texts["baby"] if age_days < 28 and "baby" in texts else texts.get("child") or texts["baby"]


PARENT_FORENAMES = ["Joanna", "Michael", "Farah", "Daniel", "Bethany", "Tariq"]
SIBLING_FORENAMES = ["Hollis", "Wren", "Casimir", "Delphine"]
SCHOOLS = ["Oakfield Primary School", "Brookside Academy", "St Aidan's Church of England School"]


class _HistoryMailer:
    """Past messages are recorded as sent, not delivered (the demo's history)."""

    def send(self, email: Email) -> None:
        pass

    def close(self) -> None:
        pass


def load_demo_panel(settings: Settings, *, today: dt.date, seed: int = 4) -> str:
    rng = random.Random(seed)
    calendar = working_calendar(settings.policy)
    member_ids = [add_member(settings, name=name, role=role, email=email, actor="demo")["id"]
                  for name, role, email in MEMBERS]
    _attendance_of_earlier_meetings(settings, member_ids, today, rng)
    with unit_of_work(settings) as uow:
        cases = list(uow.session.scalars(
            select(Case).where(Case.closed_on.is_(None))
            .options(selectinload(Case.requests), selectinload(Case.investigations))
            .order_by(Case.notified_on, Case.case_number)))
        plan = [(c.case_number, c.date_of_death, dt.date.fromisoformat(c.date_of_birth),
                 [(r.agency.code, r.returned_on) for r in c.requests if r.status == RequestStatus.RETURNED],
                 case_stage(c), case_ready_since(c),
                 c.age_at_death_days, c.notified_on)
                for c in cases]
    ready = []
    for number, died, born, returned, stage, since, age_days, notified_on in plan:
        for code, received in returned:
            entries = []
            # Events fall after the date of birth: an entry dated on it would be blocked by
            # the gate (a date of birth), so a baby who died on the day of birth has none.
            summary, events = return_text(code, age_days)
            span = max(min(age_days - 1, 90), 0)  # within the child's life, and the last three months
            for what in events[: rng.randint(1, len(events))] if died > born else []:
                day = max(died - dt.timedelta(days=rng.randint(0, span)), born + dt.timedelta(days=1))
                entries.append({"date": day.isoformat(), "what_happened": what})
            entries.sort(key=lambda e: e["date"])
            with happened_on(settings, max(received, died), hour=12):
                record_return_content(settings, number, code, summary=summary,
                                      entries=entries, today=max(received, died), actor="demo")
        if stage != Stage.NOTIFIED:
            surname = _surname(settings, number)
            identifiers = [{"field": "parent_name", "value": f"{rng.choice(PARENT_FORENAMES)} {surname}"},
                           {"field": "sibling_name", "value": f"{rng.choice(SIBLING_FORENAMES)} {surname}"}]
            if age_days > 4 * 365:
                identifiers.append({"field": "school", "value": rng.choice(SCHOOLS)})
            with happened_on(settings, notified_on + dt.timedelta(days=2), hour=16):
                record_family(settings, number, actor="demo", identifiers=identifiers, context={
                    "siblings": rng.choice([[], ["5-9 years"], ["1-4 years", "10-14 years"],
                                            ["18 years and over"]]),
                    "key_worker_offered": rng.choice(["yes", "yes", "not_known"]),
                    "bereavement_support_offered": rng.choice(["yes", "declined", "yes"]),
                })
        if stage == Stage.READY and since is not None:
            ready.append((number, since))

    closed, discussed = _past_meeting(settings, ready, today, calendar)
    upcoming = calendar.add(today, settings.policy.panel_notice_working_days)  # its papers go today
    waiting = [n for n, _ in ready if n not in closed and n not in discussed]
    if waiting:
        number = waiting[0]
        with happened_on(settings, today, hour=9):
            build_report(settings, number, today=today, actor="demo")
            decide(settings, number, approve=True, comments=None, actor="demo", today=today)
    with happened_on(settings, today, hour=9):
        add_meeting(settings, meets_on=upcoming, kind="general", capacity=8, starts_at="10:00",
                    location="Demo County Hall, room 2", today=today, actor="demo")
        add_meeting(settings, meets_on=calendar.add(today, 30), kind="neonatal", capacity=6, starts_at="13:30",
                    location="Northgate Children's Hospital, seminar room", today=today, actor="demo")
    # The approved case is left for cdop_notify_panel to allocate, and its papers go today.
    return (f"panel demo: {len(MEMBERS)} members, a past meeting ({len(closed)} case(s) closed with "
            f"analyses, {len(discussed)} waiting for the analysis), 2 upcoming meetings, "
            f"{min(len(waiting), 1)} approved for the next meeting")


def _attendance_of_earlier_meetings(settings: Settings, member_ids: list[int], today: dt.date,
                                    rng: random.Random) -> None:
    """The earlier years' meetings (cdop.dev.demo_history) had the panel there: each
    member attended or sent apologies, one or two apologies a meeting."""
    with unit_of_work(settings) as uow:
        for meeting_id in uow.session.scalars(select(PanelMeeting.id).where(PanelMeeting.meets_on < today)):
            away = set(rng.sample(member_ids, rng.randint(1, 2)))
            uow.session.add_all(MeetingAttendance(meeting_id=meeting_id, member_id=m,
                                                  status=AttendanceStatus.APOLOGIES if m in away else AttendanceStatus.ATTENDED)
                                for m in member_ids)
        uow.commit()


def _surname(settings: Settings, number: str) -> str:
    with unit_of_work(settings) as uow:
        return uow.session.scalar(select(Case).where(Case.case_number == number)).surname


def _past_meeting(settings: Settings, ready: list[tuple[str, dt.date]], today: dt.date,
                  calendar: WorkingCalendar) -> tuple[list[str], list[str]]:
    """A meeting that has happened: up to three ready cases taken through report, check,
    allocation and papers, each at its own past business date; the panel's analysis is
    recorded for two of them (they close), and the third waits for it. Returns (closed,
    waiting for the analysis)."""
    candidates = sorted(ready, key=lambda item: item[1])[:3]
    if not candidates:
        return [], []
    last_ready = max(since for _, since in candidates)
    built = calendar.add(last_ready, 1)
    meeting = calendar.add(built, settings.policy.panel_notice_working_days + 3)
    if meeting >= calendar.subtract(today, 5):
        return [], []  # the demo's dates leave no room for a past meeting
    with happened_on(settings, built, hour=9):
        meeting_id = add_meeting(settings, meets_on=meeting, kind="general", capacity=8, starts_at="10:00",
                                 location="Demo County Hall, room 2", today=built, actor="demo")
        for number, _ in candidates:
            build_report(settings, number, today=built, actor="demo")
    checked = calendar.add(built, 1)
    with happened_on(settings, checked, hour=10):
        for number, _ in candidates:
            decide(settings, number, approve=True, comments=None, actor="demo", today=checked)
        allocate_cases(settings, checked, actor="demo")
    papers = pack_date(settings.policy, meeting)
    with happened_on(settings, papers, hour=8):
        plan_panel_papers(settings, papers, actor="demo")
        delivery.deliver(settings, _HistoryMailer(), kinds=list(PANEL_KINDS), actor="demo")
    analyses = [
        {"category": "acute_medical",
         "learning": "Earlier recognition of a deteriorating child at home; clearer safety-netting advice.",
         "factors": [{"domain": "child", "factor": "chronic_condition", "grade": 1,
                      "notes": "Underlying respiratory condition."},
                     {"domain": "service", "factor": "care_plan", "grade": 2,
                      "notes": "No written care plan shared with the family."},
                     {"domain": "service", "factor": "recognition", "grade": 2,
                      "notes": "Deterioration at home not recognised as urgent when advice was sought."},
                     {"domain": "social", "factor": "parental_smoking", "grade": 1,
                      "notes": "Parental smoking in the home."},
                     {"domain": "physical", "factor": "housing_quality", "grade": 0}],
         "recommendations": [
             {"agency": "GPHC", "text": "Review how written care plans are shared with families.",
              "due_on": calendar.add(meeting, 15).isoformat()},
             {"agency": "RUH", "text": "Audit safety-netting advice given on discharge from the emergency department.",
              "due_on": calendar.add(today, 60).isoformat()}]},
        {"category": "congenital",
         "learning": "Good coordination of palliative care between hospital, hospice and community teams.",
         "factors": [{"domain": "child", "factor": "congenital", "grade": 1,
                      "notes": "Life-limiting congenital condition."},
                     {"domain": "service", "factor": "care_plan", "grade": 1,
                      "notes": "End-of-life care plan agreed with the family and shared with every team."}],
         "recommendations": [
             {"organisation": "Demo Integrated Care Board", "email": "icb.quality@nhs.net",
              "text": "Share the end-of-life care plan template with every local hospice and community team.",
              "due_on": calendar.add(today, 90).isoformat()}]},
    ]
    # The meeting's business, recorded on the day: who came, who sent apologies, and the
    # panel's outcome for each case it discussed.
    with happened_on(settings, meeting, hour=13):
        invited = [m["id"] for m in list_members(settings) if m["active"]]
        record_meeting(settings, meeting_id, today=meeting, actor="demo",
                       attendance={m: (AttendanceStatus.APOLOGIES if i == len(invited) - 1 else AttendanceStatus.ATTENDED)
                                   for i, m in enumerate(invited)},
                       outcomes={number: "reviewed" for number, _ in candidates})
    closed = []
    recorded = calendar.add(meeting, 1)
    with happened_on(settings, recorded, hour=11):
        for (number, _), analysis in zip(candidates[:2], analyses, strict=False):
            record_analysis(settings, number, analysis, today=recorded, actor="demo")
            closed.append(number)
        delivery.deliver(settings, _HistoryMailer(), kinds=["recommendation"], actor="demo")
    return closed, [number for number, _ in candidates[2:]]
