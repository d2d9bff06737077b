"""Intake services: the agency directory, notifications, returns and investigations.

Each takes primitives, validates everything first, and writes in one unit of work:
a file import is all-or-nothing. Errors name the field and row, never the value.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from cdop.confidentiality import crypto
from cdop.config import Settings
from cdop.rules.stages import (
    InvestigationFacts,
    RequestFacts,
    Stage,
    age_band,
    derive_stage,
)
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.models import Agency, AgencyRequest, Case, Investigation
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


class NotFound(LookupError):
    """A case number or agency code that does not exist (the message names it)."""


class DuplicateNotification(ValueError):
    def __init__(self, case_number: str, rule: str, row: int | None = None):
        self.case_number = case_number
        where = f"row {row}: " if row is not None else ""
        super().__init__(f"{where}duplicate notification: matches existing case {case_number} ({rule})")


# --------------------------------------------------------------------------- agencies


def _parse_agency(r: RowReader, settings: Settings) -> dict[str, Any]:
    code = r.text("code", max_len=40)
    if code is not None and not code.replace("-", "").replace("_", "").isalnum():
        r.problem("code", "may hold only letters, digits, '-' and '_'")
    request_email = r.email("request_email")
    secure = r.boolean("secure", required=False)
    if secure is None and request_email:
        secure = settings.policy.is_secure_address(request_email)
    return {
        "code": code.upper() if code else None,
        "name": r.text("name"),
        "agency_type": r.choice("type", taxonomy().labels("agency_type")),
        "request_email": request_email,
        "escalation_email": r.email("escalation_email", required=False),
        "secure_email": bool(secure),
        "phone": r.text("phone", required=False, max_len=40),
        "active": r.boolean("active", required=False) is not False,
    }


def import_agencies(settings: Settings, rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Create or update the directory from rows (CSV columns); all-or-nothing."""
    parsed = read_rows(rows, lambda r: _parse_agency(r, settings), first_row=2)
    codes = [p["code"] for p in parsed]
    dupes = {c for c in codes if codes.count(c) > 1}
    if dupes:
        rows_at = [i for i, c in enumerate(codes, start=2) if c in dupes]
        raise InputError(Problem("code", "appears more than once in the file", r) for r in rows_at)
    created = updated = 0
    with unit_of_work(settings) as uow:
        existing = {a.code: a for a in uow.session.scalars(select(Agency))}
        for values in parsed:
            agency = existing.get(values["code"])
            if agency is None:
                uow.session.add(Agency(**values))
                created += 1
            else:
                for key, value in values.items():
                    setattr(agency, key, value)
                updated += 1
        uow.session.flush()
        uow.audit("agencies_imported", "agency", created=created, updated=updated)
        uow.commit()
    return {"created": created, "updated": updated}


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


def _split_codes(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).replace(";", ",").replace("|", ",").split(",")
    return [str(i).strip().upper() for i in items if str(i).strip()]


def parse_notification(r: RowReader, *, today: dt.date, known_agencies: set[str]) -> Notification | None:
    tax = taxonomy()
    forenames = r.text("forenames", max_len=100)
    surname = r.text("surname", max_len=100)
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
    agencies = _split_codes(r.raw("agencies"))
    if not agencies:
        r.problem("agencies", "at least one agency known to the child is required")
    unknown = [a for a in agencies if a not in known_agencies]
    if unknown:
        r.problem("agencies", f"{len(unknown)} unknown agency code(s): " + ", ".join(unknown))
    notifier_email = r.email("notifier_email", required=False)
    values = {
        "sex": r.choice("sex", tax.labels("sex")),
        "ethnicity": r.choice("ethnicity", tax.labels("ethnicity"), required=False) or "not_stated",
        "place_of_death": r.choice("place_of_death", tax.labels("place_of_death")),
        "death_expected": r.boolean("expected"),
        "circumstances": r.choices("circumstances", tax.labels("circumstance")),
        "investigations": r.choices("investigations", tax.labels("investigation")),
        "deprivation_decile": r.integer("deprivation_decile", low=1, high=10),
        "address": r.text("address", required=False, max_len=300),
        "notifier_name": r.text("notifier_name", required=False, max_len=120),
        "notifier_role": r.text("notifier_role", required=False, max_len=120),
    }
    if r.problems:
        return None
    return Notification(
        forenames=forenames,
        surname=surname,
        date_of_birth=born,
        date_of_death=died,
        nhs_number=nhs,
        postcode=postcode,
        notifier_email=notifier_email,
        notified_on=notified_on,
        agencies=list(dict.fromkeys(agencies)),
        row=r.row,
        **values,
    )


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
            lambda r: parse_notification(r, today=today, known_agencies=set(agencies)),
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
            AgencyRequest(case_id=case.id, agency_id=agencies[code].id, forms=forms, status="pending")
        )
    for kind in n.investigations:
        uow.session.add(Investigation(case_id=case.id, kind=kind, status="not_started"))
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


def record_return(
    settings: Settings,
    case_number: str,
    agency_code: str,
    *,
    received_on: dt.date,
    today: dt.date,
    file: Path | None = None,
) -> None:
    """Record an agency's returned form; this stops its chase ladder at once."""
    problems = []
    if received_on > today:
        problems.append(Problem("received", "is in the future"))
    if file is not None and not Path(file).is_file():
        problems.append(Problem("file", "no such file"))
    if problems:
        raise InputError(problems)
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        if request.status == "pending":
            raise InputError([Problem("agency", "no request has been sent to this agency yet")])
        if request.requested_on and received_on < request.requested_on:
            raise InputError([Problem("received", "is before the request was sent")])
        stored = _store_file(settings, case.case_number, agency_code, Path(file)) if file else None
        request.status = "returned"
        request.returned_on = received_on
        request.next_chase_on = None
        if stored:
            request.return_file = stored
        uow.audit(
            "return_recorded",
            "agency_request",
            request.id,
            case_id=case.id,
            agency=agency_code.upper(),
            received_on=received_on.isoformat(),
            file_attached=bool(stored),
        )
        uow.commit()


def _store_file(settings: Settings, case_number: str, agency_code: str, source: Path) -> str:
    """Keep a returned file encrypted at rest under CDOP_HOME/files."""
    target_dir = settings.files_dir / case_number / agency_code.upper()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / (source.name + ".enc")
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(crypto.encrypt_bytes(source.read_bytes()))
    shutil.move(tmp, target)
    return str(target.relative_to(settings.home))


INVESTIGATION_STATUSES = ("not_started", "in_progress", "concluded", "not_applicable")


def record_investigation(
    settings: Settings,
    case_number: str,
    kind: str,
    *,
    status: str,
    on: dt.date | None,
    today: dt.date,
    outcome: str | None = None,
) -> None:
    """Add or update a parallel process (inquest, police, CSPR, CDRM...) for a case."""
    reader = RowReader({"kind": kind, "status": status, "date": on})
    kind_code = reader.choice("kind", taxonomy().labels("investigation"))
    status_code = reader.choice("status", taxonomy().labels("investigation_status"))
    day = reader.date("date", required=status_code == "concluded")
    if day and day > today:
        reader.problem("date", "is in the future")
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
        if status_code == "concluded" and inv.started_on and day < inv.started_on:
            raise InputError([Problem("date", "is before the date this process started")])
        if day and day < case.date_of_death:
            raise InputError([Problem("date", "is before the date of death")])
        inv.status = status_code
        if status_code == "in_progress" and day:
            inv.started_on = day
        inv.concluded_on = day if status_code == "concluded" else None
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


def record_ncmd_notified(settings: Settings, case_number: str, *, at: dt.datetime) -> None:
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        case.ncmd_notified_at = at
        uow.audit("ncmd_notified", "case", case.id, case_id=case.id, at=at.isoformat())
        uow.commit()


def case_stage(case: Case) -> Stage:
    return derive_stage(
        [RequestFacts(r.status, r.returned_on, r.waived_on) for r in case.requests],
        [InvestigationFacts(i.kind, i.status, i.concluded_on) for i in case.investigations],
        case.closed_on,
    )


def describe_case(settings: Settings, case_number: str, *, reveal: bool = False) -> dict[str, Any]:
    """A case for the coordinator. Identifiers only with `reveal` (need-to-know)."""
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        born = dt.date.fromisoformat(case.date_of_birth)
        view: dict[str, Any] = {
            "case_number": case.case_number,
            "stage": case_stage(case).value,
            "date_of_death": case.date_of_death.isoformat(),
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
                "nhs_number": case.nhs_number,
                "address": case.address,
                "postcode": case.postcode,
            }
            uow.audit("identifiers_viewed", "case", case.id, case_id=case.id)
            uow.commit()
        return view


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
