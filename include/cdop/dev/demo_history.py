"""Demo history: six years of fictional, completed child death reviews, so that the demo's
annual report has a five-year trend, categories, learning and recommendations to show.

Every name, date and NHS number is invented (NHS numbers from the 999 test range).
Notifications go through the intake service (validation, encryption, case numbers);
the panel's analyses, recommendations and their progress are written as the panel
stage records them. Reviews are completed at the panel's monthly meetings (and now and
then at a neonatal meeting; a few between meetings), each case on its meeting's agenda,
and the NCMD is told of most deaths within 48 hours, recorded as the intake service
records it. The history stops where the live demo's open cases begin, and every
historical case is closed, so no agency is ever sent a request for one.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from cdop.config import Settings
from cdop.dev.demo_choices import choose_for
from cdop.intake.notifications import register_notifications
from cdop.rules.recommendations import OPEN_STATUSES
from cdop.store.db import unit_of_work
from cdop.store.models import (
    AgencyRequest,
    Analysis,
    AnalysisFactor,
    AuditEvent,
    Case,
    CaseIdentifier,
    MeetingAllocation,
    PanelMeeting,
    Recommendation,
    RecommendationUpdate,
)
from cdop.store.statuses import RecommendationStatus, RequestStatus
from cdop.taxonomy import factor_codes

HISTORY_YEARS = 6  # report years with completed reviews (a five-year trend and one more)
HISTORY_ENDS_DAYS_AGO = 200  # the live demo's oldest open case was notified ~140 working days ago

# Age mix close to England's: about two thirds of reviews are of children under one.
AGE_MIX = [((0, 27), 0.42), ((28, 364), 0.22), ((365, 5 * 365), 0.10),
           ((5 * 365 + 2, 10 * 365), 0.06), ((10 * 365 + 3, 15 * 365), 0.08),
           ((15 * 365 + 4, 18 * 365 - 10), 0.12)]
CATEGORY_MIX = {
    "neonate": {"perinatal": 55, "congenital": 30, "infection": 6, "acute_medical": 5,
                "sudden_unexplained": 2, "trauma": 2},
    "infant": {"congenital": 25, "sudden_unexplained": 20, "infection": 15, "acute_medical": 14,
               "chronic_medical": 10, "perinatal": 10, "trauma": 4, "abuse_neglect": 2},
    "child": {"malignancy": 20, "chronic_medical": 20, "congenital": 14, "acute_medical": 15,
              "infection": 9, "trauma": 16, "abuse_neglect": 3, "sudden_unexplained": 3},
    "young": {"suicide": 20, "trauma": 25, "malignancy": 15, "chronic_medical": 14,
              "acute_medical": 10, "congenital": 5, "infection": 6, "abuse_neglect": 5},
}
MODIFIABLE_SHARE = {"suicide": 0.7, "trauma": 0.6, "sudden_unexplained": 0.65, "abuse_neglect": 0.8,
                    "infection": 0.3, "acute_medical": 0.3, "perinatal": 0.25}
EXPECTED = {"perinatal": 0.5, "congenital": 0.7, "malignancy": 0.85, "chronic_medical": 0.75}
LEARNING = {
    "sudden_unexplained": "Safer sleep advice was not repeated after the family moved home; "
                          "health visiting should repeat it at every new-birth and transfer visit.",
    "suicide": "The young person had been referred to mental health services twice; the second "
               "referral was not linked to the first. Referrals should be checked for history.",
    "trauma": "Road safety near schools: the crossing had been reported as dangerous before.",
    "infection": "Sepsis was not recognised at the first contact with primary care out of hours; "
                 "the paediatric early warning score was not used.",
    "perinatal": "Smoking in pregnancy was recorded but no referral to stop-smoking support was made.",
    "acute_medical": "Parents were not given written safety-netting advice at discharge.",
    "abuse_neglect": "Information held by the school about missed medical appointments was not "
                     "shared with children's social care.",
    "congenital": "Families were not offered genetic counselling before a further pregnancy.",
    "malignancy": "Palliative care planning started late; an advance care plan helped where it was in place.",
    "chronic_medical": "Transition from children's to adult services was not planned in time.",
}
RECOMMENDATIONS = [
    ("Demo Integrated Care Board", "Commission a repeat safer sleep conversation at every change of address for infants."),
    ("Demo Hospitals NHS Trust", "Audit the use of the paediatric early warning score in the emergency department."),
    ("Demo County Council Public Health", "Extend stop-smoking support to every pregnant smoker referred by midwifery."),
    ("Demo Safeguarding Children Partnership", "Agree how schools share concerns about missed health appointments."),
    ("Demo Child and Adolescent Mental Health Service", "Link repeat referrals so that earlier ones are seen at triage."),
    ("Demo County Council Highways", "Review the crossings near schools reported as dangerous."),
]
FORENAMES = ["Alfie", "Bella", "Caleb", "Daisy", "Elliot", "Florence", "Gabriel", "Harriet",
             "Isaac", "Jasmine", "Kian", "Lottie", "Mason", "Nadia", "Otis", "Phoebe"]
SURNAMES = ["Abernethy", "Blackmore", "Cartwright", "Dalrymple", "Eastwood", "Fotheringham",
            "Gatenby", "Hawksworth", "Illingworth", "Jarrold", "Kenworthy", "Loxley"]
AGENCIES = ["RUH", "NCH", "GPHC", "GPMV", "CHS", "POL", "CSC"]
NEONATAL_EVERY = 3  # months: a neonatal panel meeting in every third month
BETWEEN_MEETINGS = 0.05  # share of reviews completed between meetings
NCMD_MIX = ((0.88, "within"), (0.07, "late"), (0.05, "not_recorded"))


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _nhs_number(rng: random.Random) -> str:
    while True:
        body = "999" + "".join(str(rng.randint(0, 9)) for _ in range(6))
        check = (11 - sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True)) % 11) % 11
        if check != 10:
            return body + str(check)


def _age_group(days: int) -> str:
    if days <= 27:
        return "neonate"
    if days < 365:
        return "infant"
    return "child" if days < 10 * 365 else "young"


def _case_row(rng: random.Random, died: dt.date, age_days: int, category: str) -> dict:
    expected = rng.random() < EXPECTED.get(category, 0.1)
    circumstances = {"sudden_unexplained": ["sudden_unexpected"], "suicide": ["suicide_self_harm"],
                     "trauma": [rng.choice(["road_traffic_collision", "drowning"])],
                     "congenital": ["congenital_anomaly"]}.get(category, [])
    place = "hospital" if expected and rng.random() < 0.7 else rng.choice(
        ["hospital", "hospital", "hospital", "home", "hospice" if expected else "public_place", "other"])
    return {
        "forenames": rng.choice(FORENAMES),
        "surname": rng.choice(SURNAMES),
        "date_of_birth": (died - dt.timedelta(days=age_days)).isoformat(),
        "date_of_death": died.isoformat(),
        "nhs_number": _nhs_number(rng),
        "sex": rng.choice(["male", "male", "female", "female", "not_known"] if age_days < 2 else ["male", "female"]),
        "ethnicity": rng.choice(["white_british"] * 7 + ["white_other", "asian_pakistani", "asian_indian",
                                 "black_african", "black_caribbean", "mixed_white_asian", "other_arab",
                                 "not_stated"]),
        "address": f"{rng.randint(1, 200)} {rng.choice(['Station Road', 'Park Avenue', 'Kings Close'])}, Demotown",
        "postcode": f"DT{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
        "deprivation_decile": rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, None]),
        "place_of_death": place,
        "expected": "yes" if expected else "no",
        "circumstances": circumstances,
        "agencies": choose_for(rng.sample(AGENCIES, 3), [], age_days, circumstances)[0],
        "notifier_name": "Dr " + rng.choice(SURNAMES),
        "notifier_role": "Consultant paediatrician",
        "notifier_email": "notifier@nhs.net",
    }


def _meeting_days(first: dt.date, last: dt.date, neonatal_until: dt.date) -> list[tuple[dt.date, str]]:
    """The panel's meetings from `first` to `last`: the second Tuesday of each month, and
    (until `neonatal_until`) a neonatal meeting on the fourth Tuesday of every third month."""
    days = []
    month = dt.date(first.year, first.month, 1)
    while month <= last:
        tuesday = month + dt.timedelta(days=(1 - month.weekday()) % 7)
        days.append((tuesday + dt.timedelta(days=7), "general"))
        if month.month % NEONATAL_EVERY == 0 and tuesday + dt.timedelta(days=21) <= neonatal_until:
            days.append((tuesday + dt.timedelta(days=21), "neonatal"))
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return [(day, kind) for day, kind in days if first <= day <= last]


def _meeting_for(meetings: list[tuple[dt.date, str]], planned: dt.date, neonatal: bool):
    """The meeting a review planned for `planned` is completed at: the next general one,
    or for a neonatal death the next neonatal one if it comes within six weeks."""
    general = next((m for m in meetings if m[0] >= planned and m[1] == "general"), None)
    if neonatal:
        special = next((m for m in meetings if m[0] >= planned and m[1] == "neonatal"), None)
        if special is not None and (special[0] - planned).days <= 42:
            return special
    return general


def _ncmd_told(rng: random.Random, died: dt.date) -> dt.datetime | None:
    """When the NCMD was told: mostly within 48 hours of the death, some later, a few not
    recorded (the deadline is 48 hours after the end of the day of death)."""
    band = rng.choices([b for _, b in NCMD_MIX], weights=[w for w, _ in NCMD_MIX])[0]
    if band == "not_recorded":
        return None
    days = rng.randint(0, 2) if band == "within" else rng.randint(3, 9)
    return dt.datetime.combine(died + dt.timedelta(days=days), dt.time(rng.randint(9, 17), rng.choice([0, 15, 30, 45])))


def load_demo_history(settings: Settings, *, today: dt.date, seed: int = 2026) -> int:
    """Add the history (once: called by load_demo on an empty database). Returns cases added."""
    from cdop.annual_report.data import latest_closed_year, report_period

    rng = random.Random(seed * 7 + 1)
    latest = latest_closed_year(today)
    first_death = report_period(latest - HISTORY_YEARS)[0]  # a year early, so year one has reviews
    last_death = today - dt.timedelta(days=HISTORY_ENDS_DAYS_AGO)
    review_by = today - dt.timedelta(days=14)

    plans = []
    day = first_death
    while day <= last_death:
        # About 60 deaths a year: a typical panel sees 50-80.
        day += dt.timedelta(days=rng.randint(1, 11))
        if day > last_death:
            break
        (low, high), = rng.choices([band for band, _ in AGE_MIX], weights=[w for _, w in AGE_MIX])
        age_days = rng.randint(low, high)
        category = _pick(rng, CATEGORY_MIX[_age_group(age_days)])
        lag = rng.choice([rng.randint(70, 182), rng.randint(183, 365), rng.randint(183, 365),
                          rng.randint(366, 640)])
        reviewed = min(day + dt.timedelta(days=lag), review_by)
        plans.append((day, age_days, category, reviewed))

    # Meetings and NCMD times come from a stream of their own: the cases stay as they were.
    meeting_rng = random.Random(seed * 11 + 3)
    # The history's meetings stop where the live demo begins (its own meetings, papers and
    # allocations follow); reviews after that were completed between meetings.
    meetings = _meeting_days(min(p[3] for p in plans), last_death, last_death) if plans else []
    held: list[tuple[dt.date, str] | None] = []
    for i, (died, age_days, category, reviewed) in enumerate(plans):
        meeting = None if meeting_rng.random() < BETWEEN_MEETINGS else \
            _meeting_for(meetings, reviewed, age_days <= 27)
        held.append(meeting)
        if meeting is not None:
            plans[i] = (died, age_days, category, meeting[0])
    told = [_ncmd_told(meeting_rng, died) for died, *_ in plans]

    rows = []
    for died, age_days, category, _ in plans:
        row = _case_row(rng, died, age_days, category)
        row["notified_on"] = (died + dt.timedelta(days=rng.randint(0, 2))).isoformat()
        rows.append(row)
    numbers = register_notifications(settings, rows, today=today, first_row=None)

    with unit_of_work(settings, "demo") as uow:
        cases = {c.case_number: c for c in uow.session.scalars(select(Case).where(Case.case_number.in_(numbers)))}
        # Each meeting full with its own reviews: the live demo allocates to meetings of its own.
        rows_of = {}
        for day, kind in sorted({m for m in held if m is not None}):
            rows_of[(day, kind)] = PanelMeeting(meets_on=day, kind=kind, capacity=held.count((day, kind)),
                                                location="Demo House, Demotown", starts_at=dt.time(10))
        uow.session.add_all(rows_of.values())
        uow.session.flush()
        for number, (_died, _age, category, reviewed), meeting in zip(numbers, plans, held, strict=True):
            case = cases[number]
            analysis = _review(uow.session, rng, case, category, reviewed, today)
            if meeting is not None:
                row = rows_of[meeting]
                analysis.meeting_id = row.id
                uow.session.add(MeetingAllocation(
                    meeting_id=row.id, case_id=case.id, allocated_on=row.meets_on - dt.timedelta(days=21),
                    pack="pack", outcome="reviewed", outcome_on=row.meets_on))
        # Each registration at the time it happened: the day the death was notified.
        by_id = {c.id: c for c in cases.values()}
        for event in uow.session.scalars(select(AuditEvent).where(
                AuditEvent.action == "notification_registered", AuditEvent.case_id.in_(list(by_id)))):
            event.occurred_at = dt.datetime.combine(by_id[event.case_id].notified_on, dt.time(9, 30))
        uow.audit("demo_history_loaded", "case", cases=len(numbers))
        uow.commit()
    from cdop.intake.ncmd import record_ncmd_notified

    for number, at in zip(numbers, told, strict=True):
        if at is not None:
            record_ncmd_notified(settings, number, at=at)
    return len(numbers)


def _review(session, rng: random.Random, case: Case, category: str, reviewed: dt.date,
            today: dt.date) -> Analysis:
    for request in session.scalars(select(AgencyRequest).where(AgencyRequest.case_id == case.id)):
        request.status = RequestStatus.RETURNED
        request.requested_on = case.notified_on + dt.timedelta(days=1)
        request.returned_on = request.requested_on + dt.timedelta(days=rng.randint(10, 40))
    if rng.random() < 0.3:
        session.add(CaseIdentifier(case_id=case.id, field="parent_name",
                                   value=f"{rng.choice(FORENAMES)} {case.surname}"))
    roll = rng.random()
    share = MODIFIABLE_SHARE.get(category, 0.12)
    modifiable = "yes" if roll < share else ("insufficient" if roll > 0.93 else "no")
    analysis = Analysis(
        case_id=case.id, reviewed_on=reviewed, category=category, modifiable=modifiable,
        learning=LEARNING.get(category) if modifiable == "yes" or rng.random() < 0.2 else None,
        recorded_by="demo", finalised_on=reviewed,
    )
    session.add(analysis)
    session.flush()
    # Factor lines graded as the analysis form does: a case with modifiable factors has at
    # least one graded 2 (cdop.rules.modifiable), one with insufficient information only 0s.
    codes = factor_codes().by_domain
    chosen = rng.sample(sorted(codes), rng.randint(1, 3))
    for position, domain in enumerate(chosen):
        if modifiable == "yes":
            grade = 2 if position == 0 or rng.random() < 0.4 else 1
        else:
            grade = 0 if modifiable == "insufficient" else 1
        session.add(AnalysisFactor(analysis_id=analysis.id, domain=domain,
                                   factor_code=rng.choice(sorted(codes[domain])), grade=grade,
                                   notes="Factor recorded by the panel (demo)."))
    case.closed_on = reviewed
    if modifiable == "yes" and rng.random() < 0.45:
        organisation, text = rng.choice(RECOMMENDATIONS)
        due = reviewed + dt.timedelta(days=rng.choice([90, 180, 270]))
        rec = Recommendation(case_id=case.id, analysis_id=analysis.id, organisation=organisation,
                             email="actions@demo.example.gov.uk", text=text, agreed_on=reviewed,
                             due_on=due, status=RecommendationStatus.AGREED)
        session.add(rec)
        session.flush()
        # Progress: most older recommendations are completed; a few were not accepted.
        step = reviewed
        going, done, refused = (RecommendationStatus.IN_PROGRESS, RecommendationStatus.COMPLETED,
                                RecommendationStatus.NOT_ACCEPTED)
        for status in rng.choice([[going, done], [going], [done], [refused], [going, going, done]]):
            step = step + dt.timedelta(days=rng.randint(40, 200))
            if step >= today:
                break
            session.add(RecommendationUpdate(recommendation_id=rec.id, recorded_on=step,
                                             status=status, progress=f"Update from {organisation}."))
            rec.status = status
        # An office follows a recommendation up until it is done: none is left open for
        # more than a year past its due date (the recent ones get the follow-up DAG's
        # progress requests).
        if rec.status in OPEN_STATUSES and due < today - dt.timedelta(days=365):
            done = min(max(step, due) + dt.timedelta(days=rng.randint(30, 120)), today - dt.timedelta(days=1))
            session.add(RecommendationUpdate(recommendation_id=rec.id, recorded_on=done,
                                             status=RecommendationStatus.COMPLETED,
                                             progress=f"Completed: evidence of action from {organisation}."))
            rec.status = RecommendationStatus.COMPLETED
    return analysis
