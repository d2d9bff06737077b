"""The anonymisation gate: every document is checked before it can leave the system.

A document's text (and a PDF's extracted text) is searched for the case's identifiers
and those recorded for its family and contacts, in the forms they take in real text:
any case, any spacing, names split over lines, dates written the many ways people write
them, NHS numbers in groups, postcodes with or without the space. The gate answers with
the *fields* that matched (e.g. "child.surname", "sibling_name"), never the values, so
the coordinator knows what to redact and nothing identifying reaches a log.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Kind = Literal["name", "date", "nhs_number", "postcode", "address", "text"]


@dataclass(frozen=True)
class Identifier:
    field: str
    value: str
    kind: Kind


class IdentifierFound(RuntimeError):
    """Release blocked: the message lists matching fields only."""

    def __init__(self, document: str, fields: list[str]):
        self.fields = fields
        super().__init__(f"{document}: blocked by the anonymisation gate; matched field(s): {', '.join(fields)}")


def _fold(text: str) -> str:
    """Lower case, accents stripped, every run of non-alphanumerics one space."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", text).split()) + " "


def date_forms(day: dt.date) -> set[str]:
    """The ways a date is written in letters and reports, folded like the text."""
    d, m, y = day.day, day.month, day.year
    month, mon = day.strftime("%B").lower(), day.strftime("%b").lower()
    suffix = "th" if 11 <= d % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    forms = {
        f"{y}-{m:02d}-{d:02d}",
        f"{d:02d}/{m:02d}/{y}", f"{d}/{m}/{y}", f"{d:02d}/{m:02d}/{y % 100:02d}", f"{d}/{m}/{y % 100:02d}",
        f"{d:02d}.{m:02d}.{y}", f"{d:02d}-{m:02d}-{y}",
        f"{d} {month} {y}", f"{d:02d} {month} {y}", f"{d}{suffix} {month} {y}", f"{d}{suffix} of {month} {y}",
        f"{d} {mon} {y}", f"{d:02d} {mon} {y}", f"{d}{suffix} {mon} {y}",
        f"{month} {d} {y}", f"{month} {d}{suffix} {y}", f"{mon} {d} {y}",
        f"{d}-{mon}-{y}", f"{d:02d}-{mon}-{y}", f"{d:02d}{mon}{y}",
    }
    return {_fold(f).strip() for f in forms}


def _digits_pattern(digits: str) -> re.Pattern[str]:
    # 10 digits, possibly grouped by spaces, hyphens or dots (e.g. 943 476 5919).
    return re.compile(r"(?<!\d)" + r"[\s.\-]?".join(digits) + r"(?!\d)")


@dataclass(frozen=True)
class Gate:
    identifiers: tuple[Identifier, ...]

    def scan(self, text: str) -> list[str]:
        """Fields whose identifier appears in `text` (sorted, unique); [] means clean."""
        folded = _fold(text)
        found = set()
        for ident in self.identifiers:
            if ident.value and self._matches(ident, text, folded):
                found.add(ident.field)
        return sorted(found)

    def check(self, document: str, *texts: str) -> None:
        fields = sorted({f for t in texts for f in self.scan(t)})
        if fields:
            raise IdentifierFound(document, fields)

    @staticmethod
    def _matches(ident: Identifier, raw: str, folded: str) -> bool:
        value = ident.value.strip()
        if ident.kind == "nhs_number":
            digits = re.sub(r"\D", "", value)
            return len(digits) == 10 and bool(_digits_pattern(digits).search(raw))
        if ident.kind == "postcode":
            code = re.sub(r"[^A-Za-z0-9]", "", value).lower()
            return len(code) >= 5 and (
                f" {code} " in folded or f" {code[:-3]} {code[-3:]} " in folded
            )
        if ident.kind == "date":
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                return False
            return any(f" {form} " in folded for form in date_forms(day))
        phrase = _fold(value).strip()
        if not phrase:
            return False
        if f" {phrase} " in folded:
            return True
        # PDF text extraction and line wrapping can split a name ("Bright-\nwell") or
        # drop the space between words: allow separators between letters, whole words only.
        squeezed = phrase.replace(" ", "")
        if len(squeezed) < 6:
            return False
        pattern = r"(?<![a-z0-9])" + r" ?".join(map(re.escape, squeezed)) + r"(?![a-z0-9])"
        return re.search(pattern, folded) is not None


