"""Finding a case or an agency request by its number and code, or saying it is not there
(the error names the case number or agency code, which are not identifiers)."""

from __future__ import annotations

from sqlalchemy import select

from cdop.store.db import UnitOfWork
from cdop.store.models import Agency, AgencyRequest, Case


class NotFound(LookupError):
    """A case number or agency code that does not exist (the message names it)."""


def get_case(uow: UnitOfWork, case_number: str) -> Case:
    case = uow.session.scalar(select(Case).where(Case.case_number == case_number.strip().upper()))
    if case is None:
        raise NotFound(f"no case {case_number.strip().upper()}")
    return case


def get_request(uow: UnitOfWork, case: Case, agency_code: str) -> AgencyRequest:
    request = uow.session.scalar(
        select(AgencyRequest)
        .join(Agency)
        .where(AgencyRequest.case_id == case.id, Agency.code == agency_code.strip().upper())
    )
    if request is None:
        raise NotFound(f"case {case.case_number} has no request to agency {agency_code.strip().upper()}")
    return request
