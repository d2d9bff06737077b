"""A case as the coordinator sees it: stage, requests, investigations; identifiers
only on an audited reveal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cdop.config import Settings
from cdop.rules.ages import age_band
from cdop.rules.stages import case_stage
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case
from cdop.validation import reveal_reason


def describe_case(settings: Settings, case_number: str, *, reveal: bool = False,
                  reason: str | None = None) -> dict[str, Any]:
    """A case for the coordinator. Identifiers only with `reveal` (need-to-know) and a
    stated `reason`, recorded in the audit trail with who and when."""
    if reveal:
        reason = reveal_reason(reason)
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        born = dt.date.fromisoformat(case.date_of_birth)
        view: dict[str, Any] = {
            "case_number": case.case_number,
            "stage": case_stage(case).value,
            "age_band": age_band(born, case.date_of_death),
            "sex": case.sex,
            "ethnicity": case.ethnicity,
            "place_of_death": case.place_of_death,
            "expected": case.death_expected,
            "circumstances": case.circumstances,
            "notified_on": case.notified_on.isoformat(),
            "ncmd_notified_at": case.ncmd_notified_at.isoformat() if case.ncmd_notified_at else None,
            "requests": [
                {
                    "agency": r.agency.code,
                    "agency_name": r.agency.name,
                    "forms": r.forms,
                    "status": r.status,
                    "requested_on": _iso(r.requested_on),
                    "due_on": _iso(r.due_on),
                    "returned_on": _iso(r.returned_on),
                    "ladder_step": r.ladder_step,
                }
                for r in case.requests
            ],
            "investigations": [
                {"kind": i.kind, "status": i.status, "concluded_on": _iso(i.concluded_on)}
                for i in case.investigations
            ],
        }
        if reveal:
            view["identifiable"] = {
                "forenames": case.forenames,
                "surname": case.surname,
                "date_of_birth": case.date_of_birth,
                # The exact date of death narrows who the child was as much as the birth.
                "date_of_death": case.date_of_death.isoformat(),
                "nhs_number": case.nhs_number,
                "address": case.address,
                "postcode": case.postcode,
            }
            uow.audit_reveal("identifiers_viewed", "case", case.id, case.id, reason=reason)
            uow.commit()
        return view


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
