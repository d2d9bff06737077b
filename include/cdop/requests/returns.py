"""What agencies return, and what the panel needs to know of the family.

A return carries a summary of the agency's involvement and chronology entries (date,
agency, what happened), recorded from the documented template (a CSV or JSON file in
include/templates/returns/, which the request email attaches) or field by field. A file
is all-or-nothing: a bad row is refused naming the row and the field, never the value.

The family's circumstances the panel sees (siblings by age band, whether a key worker
and bereavement support were offered) are kept as non-identifying data on the case; the
names and places that would identify the family (a parent's name, the school) are kept
encrypted, only so that the anonymisation gate can look for them in every document.

Return text is confidential and may name people: it is encrypted at rest and is checked
by the gate when the case report is built, where the coordinator redacts what it finds
(`amend_summary`, `amend_entry`). Text the panel stage writes itself (family notes) is
checked when it is recorded.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cdop.confidentiality import crypto
from cdop.config import Settings
from cdop.private_files import private_dir, write_private
from cdop.store.db import unit_of_work
from cdop.store.lookups import NotFound, get_case, get_request
from cdop.store.models import (
    Agency,
    AgencyRequest,
    Case,
    ChronologyEntry,
)
from cdop.validation import (
    InputError,
    Problem,
    RowReader,
    read_rows,
)

ENTRY_COLUMNS = ("type", "date", "agency", "what_happened")
SUMMARY_MAX = 20_000
ENTRY_MAX = 4_000


# ------------------------------------------------------------------------ the gate's view


# ------------------------------------------------------------------------------ returns


def load_return_file(
    path: Path, *, case_number: str | None = None, agency_code: str | None = None
) -> tuple[str | None, list[dict], int, list[Problem]]:
    """Read a return template: JSON {"summary", "chronology": [...]} (entries numbered from
    1) or CSV type,date,agency,what_happened (data from row 2; a row of type "summary"
    holds the summary). Returns (summary, entries, number of the first entry, problems).
    A JSON file that names its case or agency must name the ones it is recorded against."""
    path = Path(path)
    problems: list[Problem] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError([Problem("file", f"is not valid JSON (line {getattr(exc, 'lineno', '?')})")]) from None
        if isinstance(data, list):
            data = {"chronology": data}
        if not isinstance(data, dict):
            raise InputError([Problem("file", "must hold an object with 'summary' and 'chronology'")])
        unknown = sorted(set(data) - {"summary", "chronology", "case_number", "agency"})
        problems += [Problem(k, "is not a section of the return template") for k in unknown]
        for key, expected in (("case_number", case_number), ("agency", agency_code)):
            declared = str(data.get(key) or "").strip().upper()
            if declared and expected and declared != expected.strip().upper():
                problems.append(Problem(key, "does not match the return it is recorded against"))
        summary = data.get("summary")
        if summary is not None and not isinstance(summary, str):
            problems.append(Problem("summary", "must be text"))
            summary = None
        entries = data.get("chronology") or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise InputError([*problems, Problem("chronology", "must be a list of entries")])
        return (summary.strip() or None) if summary else None, entries, 1, problems
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            rows = [{(k or "").strip().lower(): v for k, v in row.items()} for row in reader]
    except UnicodeDecodeError:
        raise InputError([Problem("file", "is not UTF-8 text (save the spreadsheet as CSV UTF-8)")]) from None
    missing = [c for c in ("date", "what_happened") if c not in header]
    if missing:
        raise InputError([Problem(c, "column is missing from the header row") for c in missing])
    summary, entries = None, []
    for number, row in enumerate(rows, start=2):
        if (row.get("type") or "").strip().lower() == "summary":
            if summary is not None:
                problems.append(Problem("type", "only one row may hold the summary", number))
            text = (row.get("what_happened") or "").strip()
            if not text:
                problems.append(Problem("what_happened", "is required (the summary)", number))
            summary = text or None
            entries.append(None)  # keeps entry numbers equal to file rows
        else:
            entries.append(row)
    return summary, entries, 2, problems


def _parse_entry(r: RowReader, *, today: dt.date, agencies: Mapping[str, Agency], default: Agency):
    unknown = [k for k, v in r.data.items() if k not in ENTRY_COLUMNS and v not in (None, "")]
    for key in unknown:
        r.problem(str(key) if key else "(unnamed column)", "is not a column of the return template")
    if (r.raw("type") or "event").lower() != "event":
        r.problem("type", "must be 'event' (the summary has its own place in the template)")
    day = r.date("date")
    if day and day > today:
        r.problem("date", "is in the future")
    agency = default
    code = r.text("agency", required=False, max_len=40)
    if code:
        agency = agencies.get(code.upper())
        if agency is None:
            r.problem("agency", "is not an agency code in the directory")
    text = r.text("what_happened", max_len=ENTRY_MAX)
    if r.problems:
        return None
    return {"event_date": day, "agency_id": agency.id, "description": text}


def record_return_content(
    settings: Settings,
    case_number: str,
    agency_code: str,
    *,
    summary: str | None,
    entries: Sequence[Mapping[str, Any] | None],
    today: dt.date,
    first_row: int = 1,
    replace: bool = False,
    problems: Sequence[Problem] = (),
    actor: str | None = None,
) -> dict[str, int]:
    """Record a return's summary and chronology, all-or-nothing. `entries` are template rows
    (None for a row that held the summary); `problems` are any the file reader found."""
    problems = list(problems)
    if summary is not None and len(summary) > SUMMARY_MAX:
        problems.append(Problem("summary", f"is longer than {SUMMARY_MAX} characters"))
    if summary is None and not any(entries):
        problems.append(Problem("content", "give a summary, chronology entries or both"))
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        if request.status != "returned":
            problems.append(Problem("agency", "the return has not been recorded yet (cdop return record)"))
        agencies = {a.code: a for a in uow.session.scalars(select(Agency))}
        numbered = [(n, e) for n, e in enumerate(entries, start=first_row) if e is not None]
        try:
            parsed = read_rows([e for _, e in numbered],
                               lambda r: _parse_entry(r, today=today, agencies=agencies, default=request.agency))
        except InputError as exc:
            # read_rows numbers from 1; give each problem its file row.
            rows = [n for n, _ in numbered]
            problems += [Problem(p.field, p.message, rows[p.row - 1]) for p in exc.problems]
            parsed = []
        existing = uow.session.scalar(
            select(func.count(ChronologyEntry.id)).where(ChronologyEntry.request_id == request.id)
        )
        if existing and parsed and not replace:
            problems.append(Problem("chronology", f"this return already has {existing} entries; "
                                                  "use --replace to replace them"))
        if problems:
            raise InputError(problems)
        if parsed and existing:
            uow.session.execute(delete(ChronologyEntry).where(ChronologyEntry.request_id == request.id))
        for values in parsed:
            uow.session.add(ChronologyEntry(case_id=case.id, request_id=request.id, **values))
        if summary is not None:
            request.summary = summary
        uow.session.flush()
        uow.audit("return_content_recorded", "agency_request", request.id, case_id=case.id,
                  agency=request.agency.code, entries=len(parsed), summary=summary is not None,
                  replaced=bool(parsed and existing))
        uow.commit()
    return {"entries": len(parsed), "replaced": existing if parsed else 0, "summary": int(summary is not None)}


def amend_summary(settings: Settings, case_number: str, agency_code: str, *, summary: str,
                  actor: str | None = None) -> None:
    """Replace a return's summary (e.g. to redact what the gate found)."""
    reader = RowReader({"summary": summary})
    text = reader.text("summary", max_len=SUMMARY_MAX)
    if reader.problems:
        raise InputError(reader.problems)
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        request.summary = text
        uow.audit("return_summary_amended", "agency_request", request.id, case_id=case.id,
                  agency=request.agency.code)
        uow.commit()


def _entry(uow, case: Case, entry_id: int) -> ChronologyEntry:
    entry = uow.session.get(ChronologyEntry, entry_id)
    if entry is None or entry.case_id != case.id:
        raise NotFound(f"case {case.case_number} has no chronology entry {entry_id}")
    return entry


def amend_entry(settings: Settings, case_number: str, entry_id: int, *, today: dt.date,
                what_happened: str | None = None, date: dt.date | str | None = None,
                actor: str | None = None) -> None:
    """Change a chronology entry's text and/or date (e.g. to redact a name)."""
    reader = RowReader({"what_happened": what_happened, "date": date})
    text = reader.text("what_happened", required=False, max_len=ENTRY_MAX)
    day = reader.date("date", required=False)
    if day and day > today:
        reader.problem("date", "is in the future")
    if text is None and day is None:
        reader.problem("what_happened", "give the new text, the new date or both")
    if reader.problems:
        raise InputError(reader.problems)
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        entry = _entry(uow, case, entry_id)
        if text is not None:
            entry.description = text
        if day is not None:
            entry.event_date = day
        uow.audit("chronology_entry_amended", "chronology_entry", entry.id, case_id=case.id,
                  text=text is not None, date=day is not None)
        uow.commit()


def remove_entry(settings: Settings, case_number: str, entry_id: int, *, actor: str | None = None) -> None:
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        entry = _entry(uow, case, entry_id)
        uow.session.delete(entry)
        uow.audit("chronology_entry_removed", "chronology_entry", entry_id, case_id=case.id)
        uow.commit()


def chronology(settings: Settings, case_number: str, *, actor: str | None = None) -> list[dict]:
    """The case's merged chronology for the coordinator (the text is confidential: audited)."""
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        rows = merged_chronology(uow.session, case)
        uow.audit("chronology_viewed", "case", case.id, case_id=case.id, entries=len(rows))
        uow.commit()
    return [
        {"id": e.id, "date": e.event_date.isoformat(), "agency": code, "from_return_of": source,
         "what_happened": e.description}
        for e, code, source in rows
    ]


def merged_chronology(session: Session, case: Case) -> list[tuple[ChronologyEntry, str, str | None]]:
    """Every entry from every return in date order: (entry, agency code, returning agency code)."""
    source = Agency.__table__.alias("source")
    query = (
        select(ChronologyEntry, Agency.code, source.c.code)
        .outerjoin(Agency, Agency.id == ChronologyEntry.agency_id)
        .outerjoin(AgencyRequest, AgencyRequest.id == ChronologyEntry.request_id)
        .outerjoin(source, source.c.id == AgencyRequest.agency_id)
        .where(ChronologyEntry.case_id == case.id)
    )
    # The event date is encrypted: one case's entries are ordered here, after decryption
    # (an entry with no agency first, as SQLite orders NULL first).
    rows = [(e, code or "", src) for e, code, src in session.execute(query).all()]
    return sorted(rows, key=lambda row: (row[0].event_date, row[1], row[0].id))


# ------------------------------------------------------------------------------- family


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
    target_dir = private_dir(settings.files_dir / case_number / agency_code.upper())
    # Stored under a name of the system's making: the name the agency gave the file (and
    # that the database would keep in plain text) may be the child's.
    suffix = "".join(c for c in source.suffix.lower() if c.isalnum() or c == ".")[:10]
    target = target_dir / f"{case_number}-{agency_code.upper()}-return{suffix}.enc"
    tmp = target.with_suffix(".tmp")
    write_private(tmp, crypto.encrypt_bytes(source.read_bytes()))
    shutil.move(tmp, target)
    return str(target.relative_to(settings.home))
