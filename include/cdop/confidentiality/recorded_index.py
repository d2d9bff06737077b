"""One pass over a text for every recorded form of a case and every exact form derived
from them.

Every form an identifier can match in holds its letters and digits, in order, with
nothing between them once the folded text's spaces are dropped (a name split over a
line, "O Neill", a date "3 March 2024" -> "3march2024", an NHS number "943 476 5919").
So one Aho-Corasick automaton of those squeezed keys, run once over the squeezed text,
names the identifiers that *can* match; only those are then tried with their exact
rules (`cdop.confidentiality.gate.Gate._match`). A clean text costs one pass, however
many identifiers a case (or a year) records.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

import ahocorasick

from cdop.confidentiality.derived import Person, derived_date_forms, derived_identifiers, people
from cdop.confidentiality.folding import Identifier, _fold, date_forms, digraphs


def _squeeze(text: str) -> str:
    return text.replace(" ", "")


def identifier_keys(ident: Identifier) -> set[str]:
    """The squeezed keys one identifier can match as (see the module's note)."""
    value = (ident.value or "").strip()
    if not value:
        return set()
    if ident.kind == "nhs_number":
        digits = re.sub(r"\D", "", value)
        return {digits} if len(digits) == 10 else set()
    if ident.kind == "postcode":
        code = re.sub(r"[^A-Za-z0-9]", "", value).lower()
        return {code} if len(code) >= 5 else set()
    if ident.kind == "date":
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return set()
        forms = derived_date_forms(day, ident.how) if ident.how else date_forms(day)
        return {_squeeze(f) for f in forms}
    return {k for k in (_squeeze(_fold(value)), _squeeze(_fold(digraphs(value)))) if k}


class RecordedIndex:
    """The recorded identifiers of a case (or a year), the exact forms derived from
    them, and the automaton of their keys; the people (for initials, misspellings and
    handles); and every exact single-word form (a word that is one is found as written)."""

    def __init__(self, identifiers: tuple[Identifier, ...]):
        self.recorded = identifiers
        self.derived = tuple(derived_identifiers(identifiers))
        self.identifiers = self.recorded + self.derived
        self.people: list[Person] = people(identifiers)
        self.exact: set[str] = set()
        self.automaton = ahocorasick.Automaton()
        keyed: dict[str, list[int]] = {}
        for n, ident in enumerate(self.identifiers):
            for key in identifier_keys(ident):
                keyed.setdefault(key, []).append(n)
            if ident.kind in ("name", "place", "address", "text"):
                self.exact.update(w for w in _fold(ident.value).split())
        for key, numbers in keyed.items():
            self.automaton.add_word(key, tuple(numbers))
        self.empty = not keyed
        if not self.empty:
            self.automaton.make_automaton()

    def candidates(self, folded_text: str) -> list[Identifier]:
        """The identifiers whose key occurs in the folded text (one pass)."""
        if self.empty:
            return []
        hits: set[int] = set()
        for _, numbers in self.automaton.iter(_squeeze(folded_text)):
            hits.update(numbers)
        return [self.identifiers[n] for n in sorted(hits)]


@functools.lru_cache(maxsize=64)
def index_for(identifiers: tuple[Identifier, ...]) -> RecordedIndex:
    """The index of a gate's identifiers, built once per set of identifiers (a case's
    gate, a year's) in a process."""
    return RecordedIndex(identifiers)
