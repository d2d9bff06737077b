"""Issue 10 item 5: nothing identifying derivable at rest.

The demo is loaded with `cdop demo load`; then the database is read as someone holding a
copy of its files would read it, without the keys: every table's plain columns by plain
SQL on the raw connection (no ORM, no decryption), the SQLite file with its WAL, and a
pg_dump. For every case the test shows that the date of birth cannot be computed from what
is stored in plain text:

- no plain cell holds the child's name, NHS number or postcode, and every encrypted column
  holds Fernet tokens only;
- every plain date of a case (its own row and every joined row: requests, processes,
  outbox, audit, reports, allocations and meetings, analyses, recommendations...) is on or
  after its date of death, so none bounds the death (nor the birth) from below: the death
  is known only to be on or before the office's first date, and the birth only to be in an
  age band before that;
- no attacker's formula applied across the cases gives the date of birth, the exact age or
  the date of death to the day: a plain date, a plain date less a plain number (days, weeks
  or months), a plain date less the gap between two plain dates, a plain number or a gap
  between two plain dates as the age. A formula that is right by coincidence for the odd
  case is not a derivation; one right for more than a quarter of the cases it applies to
  would be.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import select

from cdop.config import Settings, settings_from_env
from cdop.crypto import Encrypted
from cdop.rules.ages import AGE_BANDS
from cdop.store.db import dispose_engines, make_engine, unit_of_work
from cdop.store.models import Base, Case, ChronologyEntry
from tests.conftest import OFFICE_POLICY, PG_ADMIN_URL, TEST_KEY, cli
from tests.support.scratch import scratch_postgres

TODAY = dt.date(2026, 11, 26)
ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
FERNET = re.compile(r"^gAAAAA[A-Za-z0-9_-]+=*$")
CIPHER_RUN = re.compile(r"[A-Za-z0-9_=-]{40,}")
# How a case's rows are reached from the case: (table, column holding the case id), then
# tables reached through those rows.
DIRECT = ["agency_requests", "investigations", "outbox_messages", "audit_events", "case_identifiers",
          "chronology_entries", "case_reports", "meeting_allocations", "analyses", "recommendations"]
THROUGH = [  # (table, its column, parent table, parent's column)
    ("analysis_factors", "analysis_id", "analyses", "id"),
    ("recommendation_updates", "recommendation_id", "recommendations", "id"),
    ("panel_meetings", "id", "meeting_allocations", "meeting_id"),
    ("agencies", "id", "agency_requests", "agency_id"),
]
SHARE = 0.25
# The first test on each backend waits for the demo load below.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def demo(request, tmp_path_factory, pg_available) -> Iterator[Settings]:
    """The demo, loaded once per backend with `cdop db upgrade` and `cdop demo load`."""
    home = tmp_path_factory.mktemp("at-rest") / "home"
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{home / 'cdop.sqlite'}"
        else:
            if not pg_available:
                pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
            url = stack.enter_context(scratch_postgres("cdop_at_rest", PG_ADMIN_URL))
        env = {"CDOP_HOME": str(home), "CDOP_DATABASE_URL": url, "CDOP_ENCRYPTION_KEYS": TEST_KEY,
               "CDOP_POLICY_FILE": OFFICE_POLICY}
        for args in (("db", "upgrade"), ("demo", "load", "--today", TODAY.isoformat())):
            # The demo's whole history through the services: minutes on a loaded machine.
            result = cli(*args, env_extra=env, timeout=900)
            assert result.returncode == 0, result.stderr[-2000:]
        yield settings_from_env(env)
        dispose_engines()


def _truth(settings) -> dict[int, dict]:
    """What the keys reveal, per case id (the test's answer sheet)."""
    with unit_of_work(settings) as uow:
        truth = {}
        for c in uow.session.scalars(select(Case)):
            born = dt.date.fromisoformat(c.date_of_birth)
            truth[c.id] = {"number": c.case_number, "born": born, "died": c.date_of_death,
                           "age_days": c.age_at_death_days, "forenames": c.forenames, "surname": c.surname,
                           "nhs": c.nhs_number, "postcode": c.postcode, "band": c.age_band}
        events = defaultdict(set)
        for case_id, day in uow.session.execute(select(ChronologyEntry.case_id, ChronologyEntry.event_date)):
            events[case_id].add(day)
    for case_id, days in events.items():
        truth[case_id]["events"] = days
    return truth


def _raw_tables(settings) -> dict[str, list[dict]]:
    """Every table's plain columns, read by plain SQL on the DBAPI connection; the
    encrypted columns are checked to hold Fernet tokens only, then left out."""
    raw = make_engine(settings).raw_connection()
    tables = {}
    try:
        cur = raw.cursor()
        for table in Base.metadata.sorted_tables:
            encrypted = {c.name for c in table.columns if isinstance(c.type, Encrypted)}
            cur.execute(f"SELECT * FROM {table.name}")
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            for row in rows:
                for column in encrypted:
                    value = row.pop(column)
                    assert value is None or FERNET.match(value), f"{table.name}.{column} is not encrypted"
            tables[table.name] = rows
    finally:
        raw.close()
    return tables


def _dates(value) -> list[dt.date]:
    if isinstance(value, dt.datetime):
        return [value.date()]
    if isinstance(value, dt.date):
        return [value]
    if isinstance(value, dict | list):
        value = json.dumps(value)
    if isinstance(value, str):
        found = []
        for y, m, d in ISO.findall(value):
            try:
                found.append(dt.date(int(y), int(m), int(d)))
            except ValueError:
                pass
        return found
    return []


def _features(tables: dict[str, list[dict]]) -> dict[int, tuple[dict, dict]]:
    """Per case: plain dates and plain numbers by (table.column), earliest and latest."""
    keys = {(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns
            if c.primary_key or c.foreign_keys}
    rows_of: dict[int, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for case in tables["cases"]:
        rows_of[case["id"]]["cases"].append(case)
    for table in DIRECT:
        for row in tables[table]:
            if row.get("case_id") is not None:
                rows_of[row["case_id"]][table].append(row)
    for table, column, parent, parent_column in THROUGH:
        index = defaultdict(list)
        for row in tables[table]:
            index[row[column]].append(row)
        for case_rows in rows_of.values():
            for parent_row in list(case_rows[parent]):
                case_rows[table].extend(index.get(parent_row[parent_column], []))
    result = {}
    for case_id, by_table in rows_of.items():
        dates, numbers = defaultdict(list), defaultdict(list)
        for table, rows in by_table.items():
            for row in rows:
                for column, value in row.items():
                    name = f"{table}.{column}"
                    dates[name].extend(_dates(value))
                    if isinstance(value, int) and not isinstance(value, bool) and (table, column) not in keys:
                        numbers[name].append(value)
                    if isinstance(value, dict | list) or (isinstance(value, str) and value[:1] in "[{"):
                        numbers[name].extend(int(n) for n in re.findall(r"(?<![\d.-])\d{1,5}(?![\d.-])",
                                                                         json.dumps(value)))
        result[case_id] = (
            {f"{k}:{agg.__name__}": agg(v) for k, v in dates.items() if v for agg in (min, max)},
            {f"{k}:{agg.__name__}": agg(v) for k, v in numbers.items() if v for agg in (min, max)},
        )
    return result


def _months(born: dt.date, died: dt.date) -> int:
    return (died.year - born.year) * 12 + died.month - born.month - (died.day < born.day)


def _hits(dates: dict, numbers: dict, target: dt.date) -> list[tuple[str, ...]]:
    """The attacker's formulas on one case's plain values that give `target`: a plain
    date; a plain date less a plain number of days or weeks; a plain date less the gap
    between two plain dates. Each formula is named by the features it uses."""
    found = [("date", a) for a, day in dates.items() if day == target]
    by_value = defaultdict(list)
    for n, value in numbers.items():
        by_value[value].append(n)
    gaps = defaultdict(list)
    names = sorted(dates)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            gaps[abs((dates[a] - dates[b]).days)].append((a, b))
    for c, day in dates.items():
        back = (day - target).days
        found += [("days", c, n) for n in by_value.get(back, ())]
        if back % 7 == 0:
            found += [("weeks", c, n) for n in by_value.get(back // 7, ())]
        found += [("gap", c, a, b) for a, b in gaps.get(back, ())]
    return found


def _age_hits(dates: dict, numbers: dict, exact: set[int]) -> list[tuple[str, ...]]:
    """Formulas giving the exact age (in days, weeks or months): a plain number, or the gap
    between two plain dates."""
    found = [("number", n) for n, value in numbers.items() if value in exact]
    names = sorted(dates)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if abs((dates[a] - dates[b]).days) in exact:
                found.append(("gap", a, b))
    return found


def test_no_date_of_birth_can_be_computed_from_plain_text_for_any_demo_case(demo):
    settings = demo
    truth = _truth(settings)
    tables = _raw_tables(settings)
    features = _features(tables)
    assert set(features) == set(truth) and len(truth) >= 20

    # No plain cell anywhere names a child or holds its NHS number or postcode.
    plain_text = "\n".join(json.dumps(row, default=str, ensure_ascii=False) for rows in tables.values()
                           for row in rows)
    words = Words(plain_text)
    for t in truth.values():
        for word in (*t["forenames"].split(), *re.split(r"[\s-]+", t["surname"])):
            assert word not in words, f"a name of {t['number']} is in plain text"
        if t["nhs"]:
            assert t["nhs"] not in re.sub(r"\s", "", plain_text), f"NHS number of {t['number']}"
        if t["postcode"]:
            squeezed = re.sub(r"\s", "", plain_text).upper()
            assert t["postcode"].replace(" ", "").upper() not in squeezed, f"postcode of {t['number']}"
        assert t["band"] in AGE_BANDS

    presence = defaultdict(set)
    for case_id, (dates, numbers) in features.items():
        for name in (*dates, *numbers):
            presence[name].add(case_id)
    hits: dict[str, dict] = {"birth": defaultdict(int), "age": defaultdict(int), "death": defaultdict(int)}
    for case_id, t in truth.items():
        dates, numbers = features[case_id]
        # Every plain date is on or after the death: no lower bound on the death or birth.
        earlier = sorted(name for name, day in dates.items() if day < t["died"])
        assert not earlier, f"{t['number']}: plain date(s) before the death: {earlier}"
        # So neither the birth nor a chronology date (all before the death, or on it) is a
        # plain date, unless the child died on the day it was born and the office acted
        # that day -- which nothing plain tells an attacker (the band is 0-27 days).
        if t["born"] < t["died"]:
            assert t["born"] not in dates.values(), f"{t['number']}: date of birth in plain text"
        assert not (t.get("events", set()) - {t["died"]}) & set(dates.values()), \
            f"{t['number']}: a chronology date in plain text"
        for formula in _hits(dates, numbers, t["born"]):
            hits["birth"][formula] += 1
        for formula in _hits(dates, numbers, t["died"]):
            hits["death"][formula] += 1
        # The exact age in days, whole weeks or whole months (zero is left out: the band
        # 0-27 days already says as much, and a gap of zero between two office dates on
        # the same day is no derivation).
        exact = {t["age_days"], t["age_days"] // 7, _months(t["born"], t["died"])} - {0}
        for formula in _age_hits(dates, numbers, exact):
            hits["age"][formula] += 1

    def derivations(kind: str) -> list[str]:
        """Formulas right for at least two cases and more than SHARE of those they apply to."""
        result = []
        for formula, count in hits[kind].items():
            if count < 2:
                continue
            applies = len(set.intersection(*(presence[f] for f in formula[1:])))
            if count > SHARE * applies:
                result.append(f"{formula}: {count} of {applies}")
        return sorted(result)

    assert derivations("birth") == [], "a formula on plain columns gives the date of birth"
    assert derivations("age") == [], "a formula on plain columns gives the exact age"
    # The date of death is not hidden to the day from the office's own dates: the office
    # is told within days and acts at once (in the demo, notified_on is the day of death
    # for about a third of the cases). That is no way to the birth: with no plain lower
    # bound on the death and no exact age, the birth is only "in the age band, before the
    # office's first date".
    assert hits["death"][("date", "cases.notified_on:min")] < len(truth)


TOKEN = re.compile(r"[A-Za-z0-9_=+/-]+")


class Words:
    """Whether a word stands alone in a text (not inside a longer word or a base64 token):
    the text is split once into runs of word and base64 characters."""

    def __init__(self, text: str):
        self.text = text
        self.runs = set(TOKEN.findall(text))

    def __contains__(self, word: str) -> bool:
        if TOKEN.fullmatch(word):
            return word in self.runs
        return re.search(rf"(?<![A-Za-z0-9_=+/-]){re.escape(word)}(?![A-Za-z0-9_=+/-])", self.text) is not None


def _date_forms(day: dt.date) -> set[str]:
    d, m, y = day.day, day.month, day.year
    month, mon = day.strftime("%B"), day.strftime("%b")
    return {
        f"{d:02d}/{m:02d}/{y}", f"{d}/{m}/{y}", f"{d:02d}/{m:02d}/{y % 100:02d}", f"{d}/{m}/{y % 100:02d}",
        f"{d:02d}-{m:02d}-{y}", f"{d:02d}.{m:02d}.{y}", f"{y}{m:02d}{d:02d}", f"{y}/{m:02d}/{d:02d}",
        f"{d} {month} {y}", f"{d:02d} {month} {y}", f"{d} {mon} {y}", f"{month} {d}, {y}",
        f"{d} {month} {y % 100:02d}", f"{d}{_suffix(d)} {month} {y}",
    }


MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
MONS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
DATE_LIKE = re.compile(
    # Not inside a longer run of digits: SQLite stores adjacent date columns back to back
    # ("2020-03-21" then "2020-04-10"), which is no written date in between.
    rf"(?<!\d)\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}(?!\d)"
    rf"|\d{{1,2}}(?:st|nd|rd|th)? (?:{MONTHS}|{MONS}) \d{{2,4}}"
    rf"|(?:{MONTHS}) \d{{1,2}}, \d{{4}}"
)


def _suffix(d: int) -> str:
    return "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def _raw_bytes(settings) -> bytes:
    url = settings.database_url
    if url.startswith("sqlite"):
        db_file = Path(url.removeprefix("sqlite:///"))
        files = sorted(db_file.parent.glob(db_file.name + "*"))
        assert any(f.name.endswith("-wal") for f in files), "the WAL is part of what is read"
        return b"".join(f.read_bytes() for f in files)
    return subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", url.rsplit("/", 1)[1]],
                          capture_output=True, check=True).stdout


def test_raw_database_files_hold_no_name_number_postcode_or_date_of_birth_or_death(demo):
    """A grep of the SQLite file with its WAL, or of a pg_dump, for each child's forenames,
    surname, NHS number, postcode, and dates of birth and death in every written form.

    The ISO form (2026-11-20) is also how the office's own dates are written: a date of
    birth or death that happens to be some office date (of any case) cannot be told from
    it by a grep; the raw-column test above shows no such date gives it away."""
    settings = demo
    truth = _truth(settings)
    # Ciphertext and blind indexes are long runs of base64 or hex. Upper-cased, a
    # megabyte of them holds any given six-character postcode by chance about once a run,
    # so they are blanked first: what is looked for is plain text, which such a run is not.
    raw = CIPHER_RUN.sub(" ", _raw_bytes(settings).decode("utf-8", "replace"))
    office_dates = {day for rows in _raw_tables(settings).values() for row in rows
                    for value in row.values() for day in _dates(value)}
    squeezed = re.sub(r"\s", "", raw)
    upper = squeezed.upper()
    words = Words(raw)
    # Every date-like run in the raw text, found once; each written form is looked up in it.
    written = set(DATE_LIKE.findall(raw)) | set(re.findall(r"\d+", raw))
    written |= {run[i:i + 8] for run in written if run.isdigit() and len(run) > 8
                for i in range(len(run) - 7)}
    found = []
    for t in truth.values():
        for part in (*t["forenames"].split(), *re.split(r"[\s-]+", t["surname"])):
            if part in words:
                found.append(f"{t['number']}: name")
        if t["nhs"] and (t["nhs"] in squeezed or f"{t['nhs'][:3]} {t['nhs'][3:6]} {t['nhs'][6:]}" in raw):
            found.append(f"{t['number']}: NHS number")
        if t["postcode"] and t["postcode"].replace(" ", "").upper() in upper:
            found.append(f"{t['number']}: postcode")
        for label in ("born", "died"):
            day = t[label]
            found += [f"{t['number']}: date {label} as {form!r}" for form in sorted(_date_forms(day))
                      if form in written]
            if day not in office_dates and day.isoformat() in raw:
                found.append(f"{t['number']}: date {label} in ISO form")
    assert found == []


def test_database_files_and_folders_are_owner_only(demo, tmp_path):
    """Issue 10: the SQLite file and its -wal/-shm are 0600 and CDOP_HOME's folders 0700
    (the demo made reports; a return recorded with its file adds a returned file)."""
    settings = demo
    env = {"CDOP_HOME": str(settings.home), "CDOP_DATABASE_URL": settings.database_url,
           "CDOP_ENCRYPTION_KEYS": TEST_KEY,
               "CDOP_POLICY_FILE": OFFICE_POLICY}
    result = cli("return", "record", *_a_sent_request(settings), "--received", TODAY.isoformat(),
                 "--file", str(_form(tmp_path)), env_extra=env)
    assert result.returncode == 0, result.stderr[-2000:]
    home = settings.home
    if settings.database_url.startswith("sqlite"):
        db_file = Path(settings.database_url.removeprefix("sqlite:///"))
        for f in db_file.parent.glob(db_file.name + "*"):
            assert f.stat().st_mode & 0o777 == 0o600, f.name
    # (on PostgreSQL nothing may have been written under CDOP_HOME at all)
    folders = [p for p in home.rglob("*") if p.is_dir()] + [home] if home.exists() else []
    files = [p for p in home.rglob("*") if p.is_file()] if home.exists() else []
    if settings.file_store == "local":  # on PostgreSQL the returned file is a row (stored_files)
        assert any(p.name == "files" for p in folders)
    assert {oct(p.stat().st_mode & 0o777) for p in folders} <= {"0o700"}
    assert {oct(p.stat().st_mode & 0o777) for p in files if not p.name.endswith((".sqlite-wal", ".sqlite-shm"))} \
        <= {"0o600"}
    from cdop.store.storage import file_store

    stored = [k for k in file_store(settings).keys("files/") if k.endswith(".enc")]
    assert stored and all("Fenwright" not in k for k in stored), "stored under a name of our making"


def _a_sent_request(settings) -> tuple[str, str]:
    from cdop.store.models import Agency, AgencyRequest

    with unit_of_work(settings) as uow:
        number, code = uow.session.execute(
            select(Case.case_number, Agency.code).join(AgencyRequest, AgencyRequest.case_id == Case.id)
            .join(Agency, Agency.id == AgencyRequest.agency_id).where(AgencyRequest.status == "sent")
            .order_by(Case.case_number, Agency.code).limit(1)).one()
    return number, code


def _form(tmp_path: Path) -> Path:
    form = tmp_path / "Ottilie Fenwright GP return.docx"
    form.write_bytes(b"returned form")
    return form
