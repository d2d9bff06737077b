"""The parallel processes a review waits on (inquest, police investigation, CSPR,
CDRM...): recording their status, start and conclusion."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from cdop.confidentiality.identifiers import case_gate, identifier_problem
from cdop.config import Settings
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case
from cdop.store.models import Investigation
from cdop.store.statuses import InvestigationStatus
from cdop.taxonomy import taxonomy
from cdop.validation import (
    InputError,
    Problem,
    RowReader,
)

OUTCOME_MAX = 2000
INVESTIGATION_STATUSES = tuple(s.value for s in InvestigationStatus)


def record_investigation(
    settings: Settings,
    case_number: str,
    kind: str,
    *,
    status: str,
    on: dt.date | None,
    today: dt.date,
    outcome: str | None = None,
) -> dict[str, str]:
    """Add or update a parallel process (inquest, police, CSPR, CDRM...) for a case.
    Returns the kind and status codes recorded."""
    reader = RowReader({"kind": kind, "status": status, "date": on, "outcome": outcome})
    kind_code = reader.choice("kind", taxonomy().labels("investigation"))
    status_code = reader.choice("status", taxonomy().labels("investigation_status"))
    day = reader.date("date", required=status_code == InvestigationStatus.CONCLUDED)
    if day and day > today:
        reader.problem("date", "is in the future")
    outcome = reader.text("outcome", required=False, max_len=OUTCOME_MAX, multiline=True)
    if reader.problems:
        raise InputError(reader.problems)
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        inv = uow.session.scalar(
            select(Investigation).where(Investigation.case_id == case.id, Investigation.kind == kind_code)
        )
        if inv is None:
            inv = Investigation(case_id=case.id, kind=kind_code)
            uow.session.add(inv)
        if status_code == InvestigationStatus.CONCLUDED and inv.started_on and day < inv.started_on:
            raise InputError([Problem("date", "is before the date this process started")])
        if day and day < case.date_of_death:
            raise InputError([Problem("date", "is before the date of death")])
        # The outcome is printed in the case report the panel reads: checked as typed.
        if outcome and (found := identifier_problem(case_gate(uow.session, case, document="text"), "outcome",
                                                     outcome)):
            raise InputError([found])
        inv.status = status_code
        if status_code == InvestigationStatus.IN_PROGRESS and day:
            inv.started_on = day
        inv.concluded_on = day if status_code == InvestigationStatus.CONCLUDED else None
        if outcome is not None:
            inv.outcome = outcome
        uow.session.flush()
        uow.audit(
            "investigation_recorded",
            "investigation",
            inv.id,
            case_id=case.id,
            kind=kind_code,
            status=status_code,
            on=day.isoformat() if day else None,
        )
        uow.commit()
    return {"kind": kind_code, "status": status_code}
