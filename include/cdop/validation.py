"""Input validation at the edge: every value from outside is typed and bounded here, once.

Errors name the field (and the row, for files) but never echo a value: the value may be
an identifier, and error text reaches logs and terminals.

The rules (docs/reference/input-rules.md says the same):

- Text: normalised to Unicode NFC and trimmed; free text (`multiline=True`) has CRLF and
  CR turned into LF. Refused, naming the field: C0 control characters (tab and line feed
  are allowed in free text only), DEL, C1 controls, the bidirectional controls
  U+202A-U+202E and U+2066-U+2069, the invisible U+200B-U+200F and U+FEFF, and U+2028/
  U+2029. A one-line field (names, codes, emails, phone numbers, postcodes) refuses any
  line break. Every text field has a maximum length. A JSON object, list, true/false or
  a fractional number where text is expected is refused (a whole number is read as its
  digits, e.g. an NHS number typed as a number).
- Dates: YYYY-MM-DD between 1900-01-01 and 2100-12-31.
- Files (CSV or JSON): UTF-8, with or without a byte-order mark; at most 5 MiB, 10,000
  records and (CSV) 128 KiB in one field; JSON at most 32 levels deep. Anything else is
  refused with a message naming the file.
- Rows: "row N" is the N-th record counted from 1 in both formats: the first line under
  a CSV's header row is row 1 (a spreadsheet shows it as line 2), and the first object
  of a JSON list is row 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdop.clock import today_in_england

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")

DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_RECORDS = 10_000
MAX_CSV_FIELD = 128 * 1024
MAX_JSON_DEPTH = 32
CODE_MAX = 40

# Characters refused in any text: C0 (tab and LF are handled apart), DEL, C1, the
# bidirectional embeddings/overrides/isolates, zero-width and direction marks, the BOM
# inside text, and the Unicode line/paragraph separators.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")
_FORMATTING = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u2028\u2029]")
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]*$")
CASE_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,29}$")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}field '{self.field}': {self.message}"


class InputError(ValueError):
    """Bad input: one or more problems, each naming its field and row."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def is_email(value: str) -> bool:
    return bool(value) and len(value) <= 254 and bool(_EMAIL.match(value.strip()))


def nhs_number_valid(value: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; 11 -> 0; 10 is invalid."""
    digits = re.sub(r"[\s-]", "", value)
    if not re.fullmatch(r"\d{10}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


def normalise_nhs_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


def normalise_postcode(value: str) -> str:
    compact = re.sub(r"\s+", "", value.upper())
    return compact[:-3] + " " + compact[-3:] if len(compact) > 3 else compact


REVEAL_REASON_MIN, REVEAL_REASON_MAX = 5, 300


def reveal_reason(reason: str | None) -> str:
    """The stated reason for showing identifiers (need-to-know): required, one line,
    bounded, by the same rule as every one-line field (clean_text: no line break, no
    control, invisible or bidirectional character -- U+2028 included, which `split`
    would have taken for a space). Raises InputError naming the field `reason`, never
    repeating it."""
    cleaned, problem = clean_text(reason, max_len=REVEAL_REASON_MAX)
    if problem:
        raise InputError([Problem("reason", problem)])
    text = " ".join((cleaned or "").split())
    if len(text) < REVEAL_REASON_MIN:
        raise InputError([Problem("reason", "is required: say why the identifiers are needed")])
    if len(text) > REVEAL_REASON_MAX:
        raise InputError([Problem("reason", f"is longer than {REVEAL_REASON_MAX} characters")])
    return text
def field_label(key: Any, known: Iterable[str], position: int) -> str:
    """How an error names a field that came from the input itself (a column or a key):
    by its name if it is one of ours or is shaped like a field name (lower-case ASCII
    letters, digits and '_', e.g. a misspelt column), else by its position, so that
    anything else typed there is never echoed."""
    text = key.strip() if isinstance(key, str) else ""
    if text in set(known) or _FIELD_NAME.match(text):
        return text
    return f"(field {position})"


def _kind_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    return "a number"


def clean_text(value: Any, *, max_len: int, multiline: bool = False) -> tuple[str | None, str | None]:
    """(text, None) or (None, what is wrong). Empty text is (None, None)."""
    if value is None:
        return None, None
    if isinstance(value, bool) or isinstance(value, Mapping | list | tuple):
        return None, f"must be text, not {_kind_of(value)}"
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None, "must be text, not a number"
        value = int(value)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None, "must be text"
    if len(value) > max_len * 4 + 64:  # far too long: do not even normalise it
        return None, f"is longer than {max_len} characters"
    text = unicodedata.normalize("NFC", value)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip()
    if not text:
        return None, None
    if not multiline and ("\n" in text or "\r" in text or "\x85" in text):
        return None, "must be on one line (it holds a line break)"
    if not multiline and "\t" in text:
        return None, "holds a tab (not allowed in a one-line field)"
    if _CONTROL.search(text):
        return None, "holds a control character"
    if _FORMATTING.search(text):
        return None, "holds an invisible or bidirectional formatting character"
    if len(text) > max_len:
        return None, f"is longer than {max_len} characters"
    return text, None


def parse_date(value: Any) -> tuple[dt.date | None, str | None]:
    """(date, None) or (None, what is wrong); None in, (None, None) out."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and len(value) <= 40 and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", value):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            return None, "is not a date in the form YYYY-MM-DD"
    else:
        return None, "is not a date in the form YYYY-MM-DD"
    if not DATE_MIN <= day <= DATE_MAX:
        return None, f"must lie between {DATE_MIN.year} and {DATE_MAX.year}"
    return day, None


def check_date(field: str, value: dt.date | dt.datetime | None) -> None:
    """Refuse a date (e.g. one a command parsed itself) outside the sensible range."""
    if value is not None:
        day = value.date() if isinstance(value, dt.datetime) else value
        if not DATE_MIN <= day <= DATE_MAX:
            raise InputError([Problem(field, f"must lie between {DATE_MIN.year} and {DATE_MAX.year}")])


def not_in_future(field: str, value: dt.date | dt.datetime | None) -> None:
    """The one check every command and page applies to a business date it is given
    (`--today`, a date received, concluded, notified...): none may lie after today in
    England. A date in the future would have the system act ahead of time (a
    recommendation email dated next month, a return recorded before it arrived)."""
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if day > today_in_england():
        raise InputError([Problem(field, "is in the future: a business date cannot be after today")])


def case_number(value: Any, field: str = "case_number") -> str:
    """A case number as typed (any case, spaces around); refused if it is not one."""
    text, _ = clean_text(value, max_len=30)
    number = (text or "").upper()
    if not CASE_NUMBER.match(number):
        raise InputError([Problem(field, "is not a case number (such as CDOP-2026-0001)")])
    return number


def agency_code(value: Any, field: str = "agency") -> str:
    text, _ = clean_text(value, max_len=CODE_MAX)
    code = (text or "").upper()
    if not _CODE.match(code):
        raise InputError([Problem(field, "is not an agency code (letters, digits, '-' and '_')")])
    return code


class RowReader:
    """Reads typed fields from one input row, collecting problems instead of stopping."""

    def __init__(self, data: Mapping[str, Any], row: int | None = None):
        self.data = data if isinstance(data, Mapping) else {}
        self.row = row
        self.problems: list[Problem] = []

    def problem(self, field: str, message: str) -> None:
        self.problems.append(Problem(field, message, self.row))

    def raw(self, field: str) -> Any:
        value = self.data.get(field)
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    def text(self, field: str, *, required: bool = True, max_len: int = 200,
             multiline: bool = False) -> str | None:
        value, wrong = clean_text(self.data.get(field), max_len=max_len, multiline=multiline)
        if wrong:
            self.problem(field, wrong)
            return None
        if value is None and required:
            self.problem(field, "is required")
        return value

    def date(self, field: str, *, required: bool = True) -> dt.date | None:
        day, wrong = parse_date(self.data.get(field))
        if wrong:
            self.problem(field, wrong)
        elif day is None and required:
            self.problem(field, "is required")
        return day

    def choice(self, field: str, allowed: Mapping[str, str], *, required: bool = True) -> str | None:
        value = self.text(field, required=required, max_len=60)
        if value is None:
            return None
        key = value.lower().replace(" ", "_").replace("-", "_")
        if key not in allowed:
            self.problem(field, "must be one of " + ", ".join(sorted(allowed)))
            return None
        return key

    def _items(self, field: str) -> list[str] | None:
        """A list given as a JSON list or as text separated by ',', ';' or '|'."""
        value = self.data.get(field)
        if value is None:
            return []
        if isinstance(value, list | tuple):
            if len(value) > 100:
                self.problem(field, "has more than 100 entries")
                return None
            items = []
            for i, item in enumerate(value, start=1):
                text, wrong = clean_text(item, max_len=60)
                if wrong:
                    self.problem(field, f"item {i} {wrong}")
                    return None
                items.append(text or "")
            return items
        text, wrong = clean_text(value, max_len=2000)
        if wrong:
            self.problem(field, wrong)
            return None
        return re.split(r"[;,|]", text or "")

    def choices(self, field: str, allowed: Mapping[str, str]) -> list[str]:
        items = self._items(field)
        if items is None:
            return []
        result = []
        for item in (i.strip().lower().replace(" ", "_") for i in items):
            if not item:
                continue
            if item not in allowed:
                self.problem(field, "has an unknown entry; allowed: " + ", ".join(sorted(allowed)))
                return []
            result.append(item)
        return result

    def codes(self, field: str, known: Iterable[str] | None = None) -> list[str]:
        """Agency codes, upper-cased; an unknown one is named by its position, never by
        what was typed ("unknown agency code (item 2)")."""
        items = self._items(field)
        if items is None:
            return []
        known = set(known) if known is not None else None
        codes, bad, unknown = [], [], []
        for position, item in enumerate((i.strip().upper() for i in items), start=1):
            if not item:
                continue
            if len(item) > CODE_MAX or not _CODE.match(item):
                bad.append(position)
            elif known is not None and item not in known:
                unknown.append(position)
            else:
                codes.append(item)
        if bad:
            self.problem(field, f"not an agency code ({_items_label(bad)})")
        if unknown:
            self.problem(field, f"unknown agency code{'s' if len(unknown) > 1 else ''} ({_items_label(unknown)})")
        return list(dict.fromkeys(codes))

    def boolean(self, field: str, *, required: bool = True) -> bool | None:
        value = self.data.get(field)
        if isinstance(value, bool):
            return value
        text, wrong = clean_text(value, max_len=10)
        if wrong:
            self.problem(field, "must be yes or no")
            return None
        if text is None:
            if required:
                self.problem(field, "is required (yes or no)")
            return None
        text = text.lower()
        if text in ("yes", "y", "true", "1"):
            return True
        if text in ("no", "n", "false", "0"):
            return False
        self.problem(field, "must be yes or no")
        return None

    def integer(self, field: str, *, low: int, high: int, required: bool = False) -> int | None:
        value = self.data.get(field)
        number = None
        if isinstance(value, str):
            value = value.strip() or None
        if value is None:
            if required:
                self.problem(field, "is required")
            return None
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float):
            number = int(value) if math.isfinite(value) and value.is_integer() else None
        elif isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,9}", value):
            number = int(value)
        if number is None:
            self.problem(field, "must be a whole number")
            return None
        if not low <= number <= high:
            self.problem(field, f"must be between {low} and {high}")
            return None
        return number

    def email(self, field: str, *, required: bool = True) -> str | None:
        value = self.text(field, required=required, max_len=254)
        if value is None:
            return None
        if not is_email(value):
            self.problem(field, "is not a valid email address")
            return None
        return value.lower()

    def check(self, field: str, ok: bool, message: str) -> None:
        if not ok:
            self.problem(field, message)


def _items_label(positions: list[int]) -> str:
    return ("item " if len(positions) == 1 else "items ") + ", ".join(map(str, positions))


def read_rows(
    rows: Iterable[Mapping[str, Any]], parse: Callable[[RowReader], Any], *, first_row: int | None = 1
) -> list[Any]:
    """Parse every row; raise one InputError with every problem if any row is bad.
    `first_row` is the number of the first record (None: not from a file)."""
    parsed, problems = [], []
    for number, data in enumerate(rows, start=first_row or 0):
        reader = RowReader(data, number if first_row is not None else None)
        item = parse(reader)
        problems.extend(reader.problems)
        parsed.append(item)
    if problems:
        raise InputError(problems)
    return parsed


# ---------------------------------------------------------------------------- files


def _file_problem(message: str) -> InputError:
    return InputError([Problem("file", message)])


def read_text_file(path: Path) -> str:
    """A file's text: UTF-8 with or without a byte-order mark, at most MAX_FILE_BYTES."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _file_problem(f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        data = path.read_bytes()
    except OSError:
        raise _file_problem("cannot be read") from None
    if len(data) > MAX_FILE_BYTES:
        raise _file_problem(f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _file_problem("is UTF-16 text: save it as UTF-8 (in a spreadsheet: CSV UTF-8)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_problem("is not UTF-8 text: save it as UTF-8 (in a spreadsheet: CSV UTF-8)") from None
    if not text.strip():
        raise _file_problem("is empty")
    return text


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def load_json_file(path: Path) -> Any:
    """Parsed JSON, or InputError naming the file: not UTF-8, empty, invalid, too deep.
    NaN, Infinity and numbers too large for a float parse (as floats) so that the field
    they sit in can be named when it is read."""
    text = read_text_file(path)
    try:
        data = json.loads(text, parse_constant=lambda _name: math.nan)
    except json.JSONDecodeError as exc:
        raise _file_problem(f"is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise _file_problem(f"is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError:  # e.g. an integer with more digits than Python reads
        raise _file_problem("holds a number that cannot be read") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise _file_problem(f"is nested more than {MAX_JSON_DEPTH} levels deep")
    return data


def _csv_records(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(header, records): every record a dict keyed by the header's names."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    try:
        header = next(reader)
    except csv.Error:
        raise _file_problem("has a header row that cannot be read as CSV") from None
    header = [h.strip() for h in header]
    named = [h for h in header if h]
    if len(set(named)) != len(named):
        raise _file_problem("has a header row that names a column twice")
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            why = ("a field is longer than 128 KiB" if "field larger" in str(exc)
                   else "holds a NUL character" if "NUL" in str(exc) else "cannot be read as CSV")
            problems.append(Problem("file", why, number))
            break
        if number > MAX_RECORDS:
            raise _file_problem(f"has more than {MAX_RECORDS} records")
        if not any(c.strip() for c in cells):
            number -= 1  # a blank line is not a record
            continue
        if len(cells) > len(header):
            problems.append(Problem("file", "has more cells than the header has columns", number))
            continue
        records.append(dict(zip(header, cells + [None] * (len(header) - len(cells)), strict=True)))
    if problems:
        raise InputError(problems)
    return header, records


def load_table_file(path: Path) -> tuple[list[str] | None, list[dict[str, Any]]]:
    """Records from a CSV (header row first) or a JSON file (an object, or a list of
    objects), each counted from 1. Returns (the CSV header or None, records)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        data = load_json_file(path)
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise _file_problem("must hold an object or a list of objects")
        if len(data) > MAX_RECORDS:
            raise _file_problem(f"has more than {MAX_RECORDS} records")
        bad = [Problem("file", "is not an object", i) for i, d in enumerate(data, start=1) if not isinstance(d, dict)]
        if bad:
            raise InputError(bad)
        return None, data
    text = read_text_file(path)
    return _csv_records(text)
