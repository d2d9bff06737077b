"""A fixture with known counts for the annual report tests (report year 2026: 1 April
2025 to 31 March 2026), written straight through the models so it loads in a blink."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

from cdop.config import Settings
from cdop.rules.ages import age_band
from cdop.store.db import unit_of_work
from cdop.store.models import (
    Analysis,
    Case,
    CaseIdentifier,
    Recommendation,
    RecommendationUpdate,
)

D = dt.date
_numbers = itertools.count(1)

LEARNING_SUDI = "Safer sleep advice was not repeated when the family moved home."
LEARNING_SUICIDE = "Repeat referrals to mental health services were not linked at triage."
LEARNING_PERINATAL = "Smoking in pregnancy was recorded without a referral to stop-smoking support."
PARENT_NAME = "Rosalind Featherstonehaugh"

# (count, died, age_days, sex, ethnicity, decile, place, expected, circumstances,
#  reviewed_on, category, modifiable, learning)
GROUPS = {
    "A": (10, D(2025, 3, 10), 2, "male", "white_british", 1, "hospital", True, [],
          D(2025, 8, 1), "perinatal", "no", None),
    "B": (8, D(2025, 1, 5), 100, "female", "asian_pakistani", 4, "hospital", True, [],
          D(2025, 11, 20), "congenital", "no", None),
    "C": (3, D(2024, 6, 1), 60, "male", "black_african", 2, "home", False, ["sudden_unexpected"],
          D(2025, 12, 1), "sudden_unexplained", "yes", LEARNING_SUDI),
    "D": (2, D(2025, 5, 1), 5900, "female", "white_british", None, "public_place", False,
          ["suicide_self_harm"], D(2026, 3, 31), "suicide", "yes", LEARNING_SUICIDE),
    "E": (1, D(2025, 6, 15), 1100, "male", "mixed_white_asian", 10, "hospital", False, [],
          D(2025, 9, 1), "infection", "insufficient", None),
    # Outside the year: reviewed the day before it starts, and the day after it ends.
    "X1": (1, D(2024, 4, 20), 10, "male", "white_british", 3, "hospital", True, [],
           D(2025, 3, 31), "perinatal", "no", None),
    "X2": (1, D(2025, 12, 1), 400, "female", "white_british", 3, "hospital", True, [],
           D(2026, 4, 1), "chronic_medical", "no", None),
}


def add_case(session, *, died, age_days, sex="male", ethnicity="white_british", decile=5,
             place="hospital", expected=True, circumstances=(), notified_on=None,
             forenames=None, surname=None) -> Case:
    n = next(_numbers)
    born = died - dt.timedelta(days=age_days)
    case = Case(
        case_number=f"CDOP-{(notified_on or died).year}-{n:04d}",
        forenames=forenames or f"Testchild{n:03d}",
        surname=surname or f"Surnamewith{n:03d}",
        date_of_birth=born.isoformat(),
        nhs_number=None,
        address=f"{n} Fixture Street, Testtown",
        postcode=None,
        notifier_name=None,
        identity_index=f"fixture-{n}",
        date_of_death=died,
        age_at_death_days=age_days,
        age_band=age_band(born, died),
        sex=sex,
        ethnicity=ethnicity,
        deprivation_decile=decile,
        place_of_death=place,
        death_expected=expected,
        circumstances=list(circumstances),
        notified_on=notified_on or died + dt.timedelta(days=1),
    )
    session.add(case)
    session.flush()
    return case


def add_review(session, case: Case, *, reviewed_on, category, modifiable, learning=None) -> Analysis:
    analysis = Analysis(case_id=case.id, reviewed_on=reviewed_on, category=category,
                        modifiable=modifiable, learning=learning, recorded_by="test", finalised_on=reviewed_on)
    session.add(analysis)
    case.closed_on = reviewed_on
    session.flush()
    return analysis


def load_known_counts(settings: Settings, *, learning_a: str | None = LEARNING_PERINATAL) -> dict:
    """The fixture: 24 reviews completed in 2025/26, 16 deaths notified in it; returns ids."""
    ids: dict[str, list[int]] = {}
    with unit_of_work(settings, "test") as uow:
        s = uow.session
        for name, (count, died, age, sex, eth, decile, place, expected, circ, reviewed, category,
                   modifiable, learning) in GROUPS.items():
            for i in range(count):
                case = add_case(s, died=died, age_days=age, sex=sex, ethnicity=eth, decile=decile,
                                place=place, expected=expected, circumstances=circ,
                                notified_on=D(2024, 5, 1) if name == "X1" else None)
                text = learning
                if name == "A" and i == 0:
                    text = learning_a
                add_review(s, case, reviewed_on=reviewed, category=category, modifiable=modifiable,
                           learning=text)
                ids.setdefault(name, []).append(case.id)
        # Twelve deaths notified in the year whose reviews are still open.
        for _ in range(12):
            case = add_case(s, died=D(2025, 9, 30), age_days=3000, notified_on=D(2025, 10, 1))
            ids.setdefault("open", []).append(case.id)
        s.add(CaseIdentifier(case_id=ids["C"][0], field="parent_name", value=PARENT_NAME))
        # Recommendations: one made in the year (in progress at 31 March, completed after),
        # one from 2024/25 completed (no updates recorded), one from 2022/23 not accepted.
        rec1 = Recommendation(case_id=ids["C"][0], organisation="Demo Integrated Care Board",
                              email="icb@example.nhs.net", text="Repeat safer sleep advice at every move.",
                              agreed_on=D(2025, 12, 1), due_on=D(2026, 6, 1), status="completed")
        rec2 = Recommendation(case_id=ids["X1"][0], organisation="Demo Hospitals NHS Trust",
                              email="trust@example.nhs.net", text="Audit early warning scores.",
                              agreed_on=D(2024, 10, 1), due_on=D(2025, 4, 1), status="completed")
        rec3 = Recommendation(case_id=ids["X1"][0], organisation="Demo County Council",
                              email="council@example.gov.uk", text="Review crossings near schools.",
                              agreed_on=D(2022, 6, 1), due_on=D(2022, 12, 1), status="not_accepted")
        s.add_all([rec1, rec2, rec3])
        s.flush()
        s.add_all([
            RecommendationUpdate(recommendation_id=rec1.id, recorded_on=D(2026, 2, 1),
                                 status="in_progress", progress="Started."),
            RecommendationUpdate(recommendation_id=rec1.id, recorded_on=D(2026, 5, 1),
                                 status="completed", progress="Done."),
            RecommendationUpdate(recommendation_id=rec3.id, recorded_on=D(2022, 9, 1),
                                 status="not_accepted", progress="Declined."),
        ])
        uow.commit()
    return ids


def with_threshold(settings: Settings, threshold: int) -> Settings:
    return dataclasses.replace(
        settings, policy=settings.policy.model_copy(update={"suppression_threshold": threshold})
    )
