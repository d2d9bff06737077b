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

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cdop.config import Settings
from cdop.store import files
from cdop.store.db import unit_of_work
from cdop.store.lookups import NotFound, get_case, get_request
from cdop.store.models import (
    Agency,
    AgencyRequest,
    Case,
    ChronologyEntry,
)
from cdop.store.statuses import RequestStatus
from cdop.validation import (
    CODE_MAX,
    DATE_MAX,
    DATE_MIN,
    MAX_RECORDS,
    InputError,
    Problem,
    RowReader,
    clean_text,
    field_label,
    load_json_file,
    load_table_file,
    read_rows,
)

ENTRY_COLUMNS = ("type", "date", "agency", "what_happened")
SUMMARY_MAX = 20_000
ENTRY_MAX = 4_000


# ------------------------------------------------------------------------ the gate's view


# ------------------------------------------------------------------------------ returns


def load_return_file(
    path: Path, *, case_number: str | None = None, agency_code: str | None = None
) -> tuple[str | None, list[dict | None], int, list[Problem]]:
    """Read a return template: JSON {"summary", "chronology": [...]} or CSV
    type,date,agency,what_happened (a row of type "summary" holds the summary). Records
    are numbered from 1 in both (the CSV's header row is not counted). Returns (summary,
    entries, number of the first entry, problems). A JSON file that names its case or
    agency must name the ones it is recorded against."""
    path = Path(path)
    problems: list[Problem] = []
    if path.suffix.lower() == ".json":
        data = load_json_file(path)
        if isinstance(data, list):
            data = {"chronology": data}
        if not isinstance(data, dict):
            raise InputError([Problem("file", "must hold an object with 'summary' and 'chronology'")])
        sections = ("summary", "chronology", "case_number", "agency")
        problems += [Problem(field_label(k, sections, i), "is not a section of the return template")
                     for i, k in enumerate(data, start=1) if k not in sections]
        for key, expected in (("case_number", case_number), ("agency", agency_code)):
            declared, wrong = clean_text(data.get(key), max_len=40)
            if wrong:
                problems.append(Problem(key, wrong))
            elif declared and expected and declared.upper() != expected.strip().upper():
                problems.append(Problem(key, "does not match the return it is recorded against"))
        summary = data.get("summary")
        if summary is not None and not isinstance(summary, str):
            problems.append(Problem("summary", "must be text"))
            summary = None
        entries = data.get("chronology") or []
        if not isinstance(entries, list):
            raise InputError([*problems, Problem("chronology", "must be a list of entries")])
        if len(entries) > MAX_RECORDS:
            raise InputError([Problem("file", f"has more than {MAX_RECORDS} records")])
        problems += [Problem("chronology", "is not an object", i)
                     for i, e in enumerate(entries, start=1) if not isinstance(e, dict)]
        if problems and any(not isinstance(e, dict) for e in entries):
            raise InputError(problems)
        return summary, entries, 1, problems
    header, rows = load_table_file(path)
    header = [h.lower() for h in header or []]
    missing = [c for c in ("date", "what_happened") if c not in header]
    if missing:
        raise InputError([Problem(c, "column is missing from the header row") for c in missing])
    summary, entries = None, []
    for number, row in enumerate(rows, start=1):
        row = {(k or "").strip().lower(): v for k, v in row.items()}
        if (row.get("type") or "").strip().lower() == "summary":
            if summary is not None:
                problems.append(Problem("type", "only one row may hold the summary", number))
            text = row.get("what_happened") or ""
            if not text.strip():
                problems.append(Problem("what_happened", "is required (the summary)", number))
            summary = text if text.strip() else None
            entries.append(None)  # keeps entry numbers equal to record numbers
        else:
            entries.append(row)
    return summary, entries, 1, problems


def _parse_entry(r: RowReader, *, today: dt.date, agencies: Mapping[str, Agency], default: Agency):
    for position, (key, value) in enumerate(r.data.items(), start=1):
        if key not in ENTRY_COLUMNS and value not in (None, ""):
            r.problem(field_label(key, ENTRY_COLUMNS, position), "is not a column of the return template")
    kind = r.text("type", required=False, max_len=20)
    if kind is not None and kind.lower() != "event":
        r.problem("type", "must be 'event' (the summary has its own place in the template)")
    day = r.date("date")
    if day and day > today:
        r.problem("date", "is in the future")
    agency = default
    code = r.text("agency", required=False, max_len=CODE_MAX)
    if code:
        agency = agencies.get(code.upper())
        if agency is None:
            r.problem("agency", "is not an agency code in the directory")
    text = r.text("what_happened", max_len=ENTRY_MAX, multiline=True)
    if r.problems:
        return None
    return {"event_date": day, "agency_id": agency.id, "description": text}


def typed_entries(lines: Sequence[str]) -> list[dict]:
    """Chronology entries as typed, one a line: 'YYYY-MM-DD | what happened' or
    'YYYY-MM-DD | AGENCY | what happened' (`cdop return content --entry`, and the case
    page's box). A line of another shape is kept with nothing in what happened, so that
    record_return_content names its row and field."""
    rows: list[dict] = []
    for line in lines:
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 2:
            rows.append({"date": parts[0], "what_happened": parts[1]})
        elif len(parts) == 3:
            rows.append({"date": parts[0], "agency": parts[1], "what_happened": parts[2]})
        else:
            rows.append({"date": parts[0], "what_happened": None})
    return rows


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
    checked = RowReader({"summary": summary})
    summary = checked.text("summary", required=False, max_len=SUMMARY_MAX, multiline=True)
    problems += checked.problems
    if len(entries) > MAX_RECORDS:
        raise InputError([*problems, Problem("chronology", f"has more than {MAX_RECORDS} entries")])
    if summary is None and not any(entries) and not checked.problems:
        problems.append(Problem("content", "give a summary, chronology entries or both"))
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        if request.status != RequestStatus.RETURNED:
            problems.append(Problem("agency", "the return has not been recorded yet (cdop return record)"))
        result = _record_content(uow, case, request, summary=summary, entries=entries, today=today,
                                 first_row=first_row, replace=replace, problems=problems)
        uow.commit()
    return result


def _record_content(uow, case: Case, request: AgencyRequest, *, summary: str | None,
                    entries: Sequence[Mapping[str, Any] | None], today: dt.date, first_row: int,
                    replace: bool, problems: list[Problem], via: str | None = None) -> dict[str, int]:
    """The content of a return, in the caller's unit of work (which commits); raises
    InputError with every problem and writes nothing if there is one."""
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
    details = {"via": via} if via else {}
    uow.audit("return_content_recorded", "agency_request", request.id, case_id=case.id,
              agency=request.agency.code, entries=len(parsed), summary=summary is not None,
              replaced=bool(parsed and existing), **details)
    return {"entries": len(parsed), "replaced": existing if parsed else 0, "summary": int(summary is not None)}


def amend_summary(settings: Settings, case_number: str, agency_code: str, *, summary: str,
                  actor: str | None = None) -> None:
    """Replace a return's summary (e.g. to redact what the gate found). A correction is
    checked as typed: one that still holds an identifier is refused naming the field."""
    reader = RowReader({"summary": summary})
    text = reader.text("summary", max_len=SUMMARY_MAX, multiline=True)
    if reader.problems:
        raise InputError(reader.problems)
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        _refuse_identifiers(uow, case, "summary", text)
        request.summary = text
        uow.audit("return_summary_amended", "agency_request", request.id, case_id=case.id,
                  agency=request.agency.code)
        uow.commit()


def _refuse_identifiers(uow, case: Case, field: str, text: str | None) -> None:
    """A correction that still names someone the gate stops on (recorded, or an address,
    a phone or NHS number nobody recorded) is refused, naming the field, never the words.
    A flag (a possible name) is left to the report's check, where it is replaced and decided."""
    from cdop.confidentiality.identifiers import case_gate

    found = case_gate(uow.session, case, document="text").scan(text or "")
    if found:
        raise InputError([Problem(field, f"contains an identifier ({', '.join(found)}): "
                                         "refer to people by their role")])


def _entry(uow, case: Case, number: int) -> ChronologyEntry:
    """Chronology entry `number` of the case, as `chronology` numbers them (1..n, in
    date order within the case: the number the report, the pages and the CLI show)."""
    rows = merged_chronology(uow.session, case)
    if not 1 <= number <= len(rows):
        raise NotFound(f"case {case.case_number} has no chronology entry {number}")
    return rows[number - 1][0]


def amend_entry(settings: Settings, case_number: str, number: int, *, today: dt.date,
                what_happened: str | None = None, date: dt.date | str | None = None,
                actor: str | None = None) -> None:
    """Change a chronology entry's text and/or date (e.g. to redact a name)."""
    reader = RowReader({"what_happened": what_happened, "date": date})
    text = reader.text("what_happened", required=False, max_len=ENTRY_MAX, multiline=True)
    day = reader.date("date", required=False)
    if day and day > today:
        reader.problem("date", "is in the future")
    if text is None and day is None:
        reader.problem("what_happened", "give the new text, the new date or both")
    if reader.problems:
        raise InputError(reader.problems)
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        entry = _entry(uow, case, number)
        _refuse_identifiers(uow, case, "what_happened", text)
        if text is not None:
            entry.description = text
        if day is not None:
            entry.event_date = day
        uow.audit("chronology_entry_amended", "chronology_entry", entry.id, case_id=case.id,
                  text=text is not None, date=day is not None)
        uow.commit()


def remove_entry(settings: Settings, case_number: str, number: int, *, actor: str | None = None) -> None:
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        entry = _entry(uow, case, number)
        uow.session.delete(entry)
        uow.audit("chronology_entry_removed", "chronology_entry", entry.id, case_id=case.id, number=number)
        uow.commit()


def chronology(settings: Settings, case_number: str, *, actor: str | None = None) -> list[dict]:
    """The case's merged chronology for the coordinator (the text is confidential: audited)."""
    with unit_of_work(settings, actor) as uow:
        case = get_case(uow, case_number)
        rows = merged_chronology(uow.session, case)
        uow.audit("chronology_viewed", "case", case.id, case_id=case.id, entries=len(rows))
        uow.commit()
    return [
        {"number": n, "date": e.event_date.isoformat(), "agency": code, "from_return_of": source,
         "what_happened": e.description}
        for n, (e, code, source) in enumerate(rows, start=1)
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
    if not DATE_MIN <= received_on <= DATE_MAX:
        problems.append(Problem("received", f"must lie between {DATE_MIN.year} and {DATE_MAX.year}"))
    elif received_on > today:
        problems.append(Problem("received", "is in the future"))
    if file is not None and not Path(file).is_file():
        problems.append(Problem("file", "no such file"))
    if problems:
        raise InputError(problems)
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        request = get_request(uow, case, agency_code)
        stored = None
        _check_returnable(request, received_on)
        if file:
            # A new name each time: the file the row points at now stays until this commits.
            # Stored under a name of the system's making: the name the agency gave the file
            # (kept in plain text in the row and on disk) may be the child's.
            suffix = "".join(c for c in Path(file).suffix.lower() if c.isalnum() or c == ".")[:10]
            stored = files.store_encrypted(uow, settings, Path("files") / case.case_number / request.agency.code,
                                           f"{case.case_number}-{request.agency.code}-return{suffix}",
                                           _read_return_file(Path(file)))
            files.remove_when_committed(uow, settings, request.return_file)
        _mark_returned(uow, case, request, received_on, stored)
        uow.commit()


def _check_returnable(request: AgencyRequest, received_on: dt.date) -> None:
    if request.status == RequestStatus.PENDING:
        raise InputError([Problem("agency", "no request has been sent to this agency yet")])
    if request.requested_on and received_on < request.requested_on:
        raise InputError([Problem("received", "is before the request was sent")])


def _mark_returned(uow, case: Case, request: AgencyRequest, received_on: dt.date, stored: str | None,
                   via: str | None = None, attachments: int = 0) -> None:
    """The return is in: its chase ladder stops at once (a step already queued is
    cancelled when delivery comes to it: cdop.requests.chasing.compose)."""
    request.status = RequestStatus.RETURNED
    request.returned_on = received_on
    request.next_chase_on = None
    if stored:
        request.return_file = stored
    details = {"via": via, "attachments": attachments} if via else {}
    uow.audit(
        "return_recorded",
        "agency_request",
        request.id,
        case_id=case.id,
        agency=request.agency.code,
        received_on=received_on.isoformat(),
        file_attached=bool(stored),
        **details,
    )


def record_submitted_return(uow, case: Case, request: AgencyRequest, *, received_on: dt.date, today: dt.date,
                            summary: str | None, entries: Sequence[Mapping[str, Any]], via: str,
                            attachments: int = 0) -> dict[str, int]:
    """A whole return at once (status, summary, chronology) in the caller's unit of work:
    what `record_return` and then `record_return_content --replace` do, all-or-nothing,
    for a return that arrives complete (the agencies' portal). `via` names the route in
    the audit."""
    problems: list[Problem] = []
    checked = RowReader({"summary": summary})
    summary = checked.text("summary", required=False, max_len=SUMMARY_MAX, multiline=True)
    problems += checked.problems
    if len(entries) > MAX_RECORDS:
        raise InputError([*problems, Problem("chronology", f"has more than {MAX_RECORDS} entries")])
    if not DATE_MIN <= received_on <= DATE_MAX or received_on > today:
        problems.append(Problem("received", "is not a date the return can have arrived"))
    if problems:
        raise InputError(problems)
    _check_returnable(request, received_on)
    result = _record_content(uow, case, request, summary=summary, entries=entries, today=today,
                             first_row=1, replace=True, problems=problems, via=via)
    _mark_returned(uow, case, request, received_on, None, via=via, attachments=attachments)
    return result


RETURN_FILE_MAX = 25 * 1024 * 1024


def _read_return_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > RETURN_FILE_MAX:
            raise InputError([Problem("file", f"is larger than {RETURN_FILE_MAX // (1024 * 1024)} MB")])
        return path.read_bytes()
    except OSError:
        raise InputError([Problem("file", "cannot be read")]) from None
