"""Input validation. Errors name the field (and the row, for files) but never echo a value:
the value may be an identifier, and error text reaches logs and terminals."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")


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
    bounded. Raises InputError naming the field `reason`, never repeating it."""
    text = " ".join((reason or "").split())
    if len(text) < REVEAL_REASON_MIN:
        raise InputError([Problem("reason", "is required: say why the identifiers are needed")])
    if len(text) > REVEAL_REASON_MAX:
        raise InputError([Problem("reason", f"is longer than {REVEAL_REASON_MAX} characters")])
    return text


class RowReader:
    """Reads typed fields from one input row, collecting problems instead of stopping."""

    def __init__(self, data: Mapping[str, Any], row: int | None = None):
        self.data = data
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

    def text(self, field: str, *, required: bool = True, max_len: int = 200) -> str | None:
        value = self.raw(field)
        if value is None:
            if required:
                self.problem(field, "is required")
            return None
        value = str(value)
        if len(value) > max_len:
            self.problem(field, f"is longer than {max_len} characters")
            return None
        return value

    def date(self, field: str, *, required: bool = True) -> dt.date | None:
        value = self.raw(field)
        if value is None:
            if required:
                self.problem(field, "is required")
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.problem(field, "is not a date in the form YYYY-MM-DD")
            return None

    def choice(self, field: str, allowed: Mapping[str, str], *, required: bool = True) -> str | None:
        value = self.text(field, required=required, max_len=60)
        if value is None:
            return None
        key = value.lower().replace(" ", "_").replace("-", "_")
        if key not in allowed:
            self.problem(field, "must be one of " + ", ".join(sorted(allowed)))
            return None
        return key

    def choices(self, field: str, allowed: Mapping[str, str]) -> list[str]:
        value = self.raw(field)
        if value is None:
            return []
        items = value if isinstance(value, list) else re.split(r"[;,|]", str(value))
        result = []
        for item in (str(i).strip().lower().replace(" ", "_") for i in items):
            if not item:
                continue
            if item not in allowed:
                self.problem(field, "has an unknown entry; allowed: " + ", ".join(sorted(allowed)))
                return []
            result.append(item)
        return result

    def boolean(self, field: str, *, required: bool = True) -> bool | None:
        value = self.raw(field)
        if value is None:
            if required:
                self.problem(field, "is required (yes or no)")
            return None
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("yes", "y", "true", "1"):
            return True
        if text in ("no", "n", "false", "0"):
            return False
        self.problem(field, "must be yes or no")
        return None

    def integer(self, field: str, *, low: int, high: int, required: bool = False) -> int | None:
        value = self.raw(field)
        if value is None:
            if required:
                self.problem(field, "is required")
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
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


def read_rows(
    rows: Iterable[Mapping[str, Any]], parse: Callable[[RowReader], Any], *, first_row: int | None = 1
) -> list[Any]:
    """Parse every row; raise one InputError with every problem if any row is bad.
    `first_row` is the number of the first data row in its file (None: not from a file)."""
    parsed, problems = [], []
    for number, data in enumerate(rows, start=first_row or 0):
        reader = RowReader(data, number if first_row is not None else None)
        item = parse(reader)
        problems.extend(reader.problems)
        parsed.append(item)
    if problems:
        raise InputError(problems)
    return parsed
