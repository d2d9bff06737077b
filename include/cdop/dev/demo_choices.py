"""How the demo and the simulation choose a fictional notification's agencies and
circumstances: by the child's age and the circumstances of the death, through the same
taxonomy rules registration applies (cdop.intake.notifications.choose_agencies)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from cdop.taxonomy import taxonomy

DATA = Path(__file__).resolve().parents[1] / "data"


def _directory_types() -> dict[str, str]:
    with (DATA / "demo_agencies.csv").open(newline="", encoding="utf-8") as fh:
        return {row["code"]: row["type"] for row in csv.DictReader(fh)}


def agencies_for_age(codes: list[str], age_days: int) -> list[str]:
    """The demo directory's agencies that apply to a child who died at this age (the
    taxonomy's agency rules: no school or nursery for a newborn)."""
    types = _directory_types()
    return [c for c in codes if taxonomy().agency_applies(types.get(c, "other"), age_days)]


# Circumstances a fictional notification may carry, by the child's age at death.
NEWBORN_CIRCUMSTANCES = [[], ["sudden_unexpected"], ["congenital_anomaly"], ["cardiac"]]
CHILD_CIRCUMSTANCES = [[], ["sudden_unexpected"], ["cardiac"], ["road_traffic_collision"],
                       ["suicide_self_harm"], ["congenital_anomaly"]]


def circumstances_for_age(rng: random.Random, age_days: int) -> list[str]:
    if age_days < 365:
        return rng.choice(NEWBORN_CIRCUMSTANCES)
    if age_days < 10 * 365:  # no suicide or self-harm before secondary school age
        return rng.choice([c for c in CHILD_CIRCUMSTANCES if c != ["suicide_self_harm"]])
    return rng.choice(CHILD_CIRCUMSTANCES)


def choose_for(codes: list[str], processes: list[str], age_days: int,
               circumstances: list[str]) -> tuple[list[str], list[str]]:
    """`codes` less the agencies the child was too young for, plus the directory's first
    agency of each type the circumstances need; `processes` plus theirs."""
    types = _directory_types()
    chosen = agencies_for_age(codes, age_days)
    needed = taxonomy().required_by(circumstances)
    for kind in needed.agency_types:
        if not any(types.get(c) == kind for c in chosen):
            chosen += [c for c in sorted(types) if types[c] == kind][:1]
    return chosen, list(processes) + [k for k in needed.investigations if k not in processes]
