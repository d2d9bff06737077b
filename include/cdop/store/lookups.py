"""Finding a case or an agency request by its number and code, or saying it is not there
(the error names the case number or agency code, which are not identifiers)."""

from __future__ import annotations

from sqlalchemy import select

from cdop.store.db import UnitOfWork
from cdop.store.models import Agency, AgencyRequest, Case
from cdop.validation import agency_code as checked_code
from cdop.validation import case_number as checked_number


class NotFound(LookupError):
    """A case number or agency code that does not exist (the message names it)."""


def get_case(uow: UnitOfWork, case_number: str) -> Case:
    """The case, or NotFound; text that is not a case number at all is an InputError
    naming the field (never echoed: it may be anything)."""
    number = checked_number(case_number)
    case = uow.session.scalar(select(Case).where(Case.case_number == number))
    if case is None:
        raise NotFound(f"no case {number}")
    return case


def get_request(uow: UnitOfWork, case: Case, agency_code: str) -> AgencyRequest:
    code = checked_code(agency_code)
    request = uow.session.scalar(
        select(AgencyRequest)
        .join(Agency)
        .where(AgencyRequest.case_id == case.id, Agency.code == code)
    )
    if request is None:
        raise NotFound(f"case {case.case_number} has no request to agency {code}")
    return request
