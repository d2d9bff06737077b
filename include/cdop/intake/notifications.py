"""Intake services: the agency directory, notifications, returns and investigations.

Each takes primitives, validates everything first, and writes in one unit of work:
a file import is all-or-nothing. Errors name the field and row, never the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from cdop import crypto
from cdop.config import Settings
from cdop.rules.ages import age_band
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.models import Agency, AgencyRequest, Case, Investigation
from cdop.store.statuses import InvestigationStatus, RequestStatus
from cdop.taxonomy import taxonomy
from cdop.validation import (
    InputError,
    Problem,
    RowReader,
    nhs_number_valid,
    normalise_nhs_number,
    normalise_postcode,
    read_rows,
)

NAME_MAX = 100


class DuplicateNotification(ValueError):
    def __init__(self, case_number: str, rule: str, row: int | None = None):
        self.case_number = case_number
        where = f"row {row}: " if row is not None else ""
        super().__init__(f"{where}duplicate notification: matches existing case {case_number} ({rule})")


# --------------------------------------------------------------------------- agencies


# ---------------------------------------------------------------------- notifications


@dataclass(frozen=True)
class Notification:
    forenames: str
    surname: str
    date_of_birth: dt.date
    date_of_death: dt.date
    nhs_number: str | None
    sex: str
    ethnicity: str
    address: str | None
    postcode: str | None
    deprivation_decile: int | None
    place_of_death: str
    death_expected: bool
    circumstances: list[str]
    notifier_name: str | None
    notifier_role: str | None
    notifier_email: str | None
    notified_on: dt.date
    agencies: list[str]
    investigations: list[str]
    row: int | None = None


def parse_notification(r: RowReader, *, today: dt.date, known_agencies: set[str],
                       agency_types: Mapping[str, str] | None = None) -> Notification | None:
    """One notification read and checked. With `agency_types` (directory code -> type,
    active agencies, in code order) the agencies are chosen by the child's age and the
    circumstances as the taxonomy says (`choose_agencies`)."""
    tax = taxonomy()
    forenames = r.text("forenames", max_len=NAME_MAX)
    surname = r.text("surname", max_len=NAME_MAX)
    born = r.date("date_of_birth")
    died = r.date("date_of_death")
    nhs = r.text("nhs_number", required=False, max_len=14)
    if nhs is not None:
        nhs = normalise_nhs_number(nhs)
        r.check("nhs_number", nhs_number_valid(nhs), "is not a valid NHS number (10 digits, Modulus 11 check digit)")
    if born and died:
        r.check("date_of_death", died >= born, "is before the date of birth")
        r.check("date_of_death", died <= today, "is in the future")
        eighteenth = _add_years(born, 18)
        r.check("date_of_death", died < eighteenth, "the child was 18 or over at death: not a child death review")
    elif born:
        r.check("date_of_birth", born <= today, "is in the future")
    postcode = r.text("postcode", required=False, max_len=10)
    if postcode:
        postcode = normalise_postcode(postcode)
        r.check("postcode", len(postcode.replace(" ", "")) in range(5, 8), "is not a UK postcode")
    notified_on = r.date("notified_on", required=False) or today
    if died and notified_on < died:
        r.problem("notified_on", "is before the date of death")
    if notified_on > today:
        r.problem("notified_on", "is in the future")
    before = len(r.problems)
    agencies = r.codes("agencies", known_agencies)
    if not agencies and len(r.problems) == before:
        r.problem("agencies", "at least one agency known to the child is required")
    notifier_email = r.email("notifier_email", required=False)
    values = {
        "sex": r.choice("sex", tax.labels("sex")),
        "ethnicity": r.choice("ethnicity", tax.labels("ethnicity"), required=False) or "not_stated",
        "place_of_death": r.choice("place_of_death", tax.labels("place_of_death")),
        "death_expected": r.boolean("expected"),
        "circumstances": r.choices("circumstances", tax.labels("circumstance")),
        "investigations": r.choices("investigations", tax.labels("investigation")),
        "deprivation_decile": r.integer("deprivation_decile", low=1, high=10),
        "address": r.text("address", required=False, max_len=300, multiline=True),
        "notifier_name": r.text("notifier_name", required=False, max_len=120),
        "notifier_role": r.text("notifier_role", required=False, max_len=120),
    }
    investigations = values.pop("investigations")
    if not r.problems and agency_types is not None:
        agencies, investigations = choose_agencies(r, (died - born).days, values["circumstances"],
                                                   agencies, investigations, agency_types)
    if r.problems:
        return None
    return Notification(
        investigations=investigations,
        forenames=forenames,
        surname=surname,
        date_of_birth=born,
        date_of_death=died,
        nhs_number=nhs,
        postcode=postcode,
        notifier_email=notifier_email,
        notified_on=notified_on,
        agencies=agencies,
        row=r.row,
        **values,
    )


def choose_agencies(r: RowReader, age_days: int, circumstances: list[str], agencies: list[str],
                    investigations: list[str], agency_types: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The taxonomy's agency rules (data/taxonomy.toml): an agency type the child was too
    young for is refused (naming the type, not the agency); a circumstance that needs an
    agency type the notification lacks (police and coroner for a road traffic collision)
    gets the directory's first active agency of that type, and its processes."""
    tax = taxonomy()
    labels = tax.labels("agency_type")
    for kind in sorted({agency_types[c] for c in agencies if not tax.agency_applies(agency_types[c], age_days)}):
        r.problem("agencies", f"{labels.get(kind, kind)}: not asked about a child who died aged under "
                              f"{tax.agency_min_age_days[kind]} days")
    needed = tax.required_by(circumstances)
    chosen = list(agencies)
    listed_types = {agency_types[c] for c in agencies}
    for kind in needed.agency_types:
        if kind in listed_types:
            continue
        found = next((code for code, t in agency_types.items() if t == kind), None)
        if found is None:
            r.problem("agencies", f"the circumstances need a {labels.get(kind, kind).lower()} agency, "
                                  "and the directory has none")
        else:
            chosen.append(found)
    return chosen, list(investigations) + [k for k in needed.investigations if k not in investigations]


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28) + dt.timedelta(days=1)


def _identity_parts(n: Notification) -> tuple[str, ...]:
    return (n.forenames, n.surname, n.date_of_birth.isoformat(), n.date_of_death.isoformat())


def _find_duplicate(uow: UnitOfWork, n: Notification) -> tuple[str, str] | None:
    if n.nhs_number:
        hit = uow.session.scalar(
            select(Case.case_number).where(Case.nhs_index.in_(crypto.blind_indexes(n.nhs_number)))
        )
        if hit:
            return hit, "same NHS number"
    hit = uow.session.scalar(
        select(Case.case_number).where(
            Case.identity_index.in_(crypto.blind_indexes(*_identity_parts(n)))
        )
    )
    if hit:
        return hit, "same name, date of birth and date of death"
    return None


def next_case_number(uow: UnitOfWork, prefix: str, year: int) -> str:
    stem = f"{prefix}-{year}-"
    last = uow.session.scalar(
        select(func.max(Case.case_number)).where(Case.case_number.like(stem + "%"))
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{stem}{number:04d}"


def register_notifications(
    settings: Settings, rows: Iterable[Mapping[str, Any]], *, today: dt.date, first_row: int | None = 1
) -> list[str]:
    """Register one or many notifications; all-or-nothing. Returns the new case numbers."""
    rows = list(rows)
    with unit_of_work(settings) as uow:
        agencies = {a.code: a for a in uow.session.scalars(select(Agency).where(Agency.active))}
        parsed = read_rows(
            rows,
            lambda r: parse_notification(r, today=today, known_agencies=set(agencies),
                                         agency_types={c: agencies[c].agency_type for c in sorted(agencies)}),
            first_row=first_row,
        )
        # Duplicates within the file first, then against existing cases, all before
        # anything is written: the case number quoted is always a committed one.
        seen: dict[str, int | None] = {}
        for n in parsed:
            keys = [("nhs_number", "nhs:" + n.nhs_number)] if n.nhs_number else []
            keys.append(("surname", "id:" + "|".join(_identity_parts(n)).lower()))
            for field, key in keys:
                if key in seen:
                    raise InputError([Problem(field, f"duplicates the notification in row {seen[key]}", n.row)])
                seen[key] = n.row
        for n in parsed:
            dup = _find_duplicate(uow, n)
            if dup:
                raise DuplicateNotification(dup[0], dup[1], n.row)
        numbers = [_create_case(uow, settings, n, agencies) for n in parsed]
        uow.commit()
    return numbers


def _create_case(uow: UnitOfWork, settings: Settings, n: Notification, agencies: dict[str, Agency]) -> str:
    number = next_case_number(uow, settings.policy.case_number_prefix, n.notified_on.year)
    age_days = (n.date_of_death - n.date_of_birth).days
    case = Case(
        case_number=number,
        forenames=n.forenames,
        surname=n.surname,
        date_of_birth=n.date_of_birth.isoformat(),
        nhs_number=n.nhs_number,
        address=n.address,
        postcode=n.postcode,
        notifier_name=n.notifier_name,
        nhs_index=crypto.blind_index(n.nhs_number) if n.nhs_number else None,
        identity_index=crypto.blind_index(*_identity_parts(n)),
        date_of_death=n.date_of_death,
        age_at_death_days=age_days,
        age_band=age_band(n.date_of_birth, n.date_of_death),
        sex=n.sex,
        ethnicity=n.ethnicity,
        deprivation_decile=n.deprivation_decile,
        place_of_death=n.place_of_death,
        death_expected=n.death_expected,
        circumstances=n.circumstances,
        notifier_role=n.notifier_role,
        notifier_email=n.notifier_email,
        notified_on=n.notified_on,
    )
    uow.session.add(case)
    uow.session.flush()
    forms = taxonomy().forms_for(
        age_days=age_days, expected=n.death_expected, circumstances=n.circumstances
    )
    for code in n.agencies:
        uow.session.add(
            AgencyRequest(case_id=case.id, agency_id=agencies[code].id, forms=forms, status=RequestStatus.PENDING)
        )
    for kind in n.investigations:
        uow.session.add(Investigation(case_id=case.id, kind=kind, status=InvestigationStatus.NOT_STARTED))
    uow.session.flush()
    uow.audit(
        "notification_registered",
        "case",
        case.id,
        case_id=case.id,
        case_number=number,
        agencies=len(n.agencies),
        forms=forms,
        investigations=n.investigations,
    )
    return number


# ------------------------------------------------------------------ returns and processes


