"""The anonymisation gate: every document is checked before it can leave the system.

Two kinds of finding:

* **Recorded identifiers** -- the case's own (the child's name, dates of birth and death,
  NHS number, address, postcode) and those recorded for the family and contacts -- in
  the forms they take in real text: any case, any spacing, transliterated on both sides
  (Ł->L, ø->o, ß->ss, æ->ae, by anyascii), each part of a multi-part name, apostrophes
  straight, curly, dropped or spaced, plural and possessive forms, names split over
  lines, dates written the many ways people write them. These *stop* the release.
* **Identifiers nobody recorded** (`cdop.confidentiality.detectors`): a postcode, a valid
  NHS number, a UK phone number, an email address that is not the office's own, a house
  number and street, a calendar date where the document uses relative timing -- these
  also stop the release; a person's name nobody recorded (after a title or a relation
  word, or a given name from a maintained list) is a *flag*: the coordinator decides
  (redact, or "not an identifier", remembered per case and document).

Names that are also ordinary words ("May", "Will", "Grace", "Hope") match only where
they are written as a name: capitalised; not "May" next to a number (the month); not a
sentence-initial "Will"/"May" followed by a pronoun or "be" (the modal verb); a
sentence-initial one otherwise, or one followed by an organisation word ("the Grace
Suite"), is a flag, not a stop, because both readings are real.

The gate answers with the *fields* (or kinds) that matched, and positions, never the
values, so the coordinator knows what to redact and nothing identifying reaches a log.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Literal

from cdop.confidentiality.decisions import fingerprints
from cdop.confidentiality.detectors import unrecorded_findings
from cdop.confidentiality.folding import Finding, Folded, Severity, _fold, digraphs
from cdop.confidentiality.words import (
    GENERIC_PLACE_WORDS,
    ORGANISATION_WORDS,
    WORD_NAMES,
    is_english_word,
)

Kind = Literal["name", "date", "nhs_number", "postcode", "address", "text", "place"]


@dataclass(frozen=True)
class Identifier:
    field: str
    value: str
    kind: Kind
    # For one word of a longer place name ("Hayesfield" of "Hayesfield Girls' School"):
    # the place's own folded words. The word alone counts only where it is not part of
    # another capitalised name ("North Bristol NHS Trust" is not "Bristol Metropolitan").
    place_words: frozenset[str] = frozenset()
    # The recorded person's or place's role key (cdop.confidentiality.identifiers.roles).
    role: str | None = None


class IdentifierFound(RuntimeError):
    """Release blocked: the message lists matching fields only."""

    def __init__(self, document: str, fields: list[str]):
        self.fields = fields
        super().__init__(f"{document}: blocked by the anonymisation gate; matched field(s): {', '.join(fields)}")


# ------------------------------------------------------------------------------ dates

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]


_MONTH_ABBREVIATIONS = frozenset(m[:3] for m in _MONTHS) | {"sept"}


def date_forms(day: dt.date) -> set[str]:
    """The ways a date is written in letters and reports, folded like the text."""
    d, m, y, yy = day.day, day.month, day.year, day.year % 100
    month, mon = _MONTHS[m - 1], _MONTHS[m - 1][:3]
    suffix = "th" if 11 <= d % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    months = {month, mon} | ({"sept"} if m == 9 else set())
    days = {f"{d}", f"{d:02d}", f"{d}{suffix}"}
    years = {f"{y}", f"{yy:02d}"}
    # ISO, and the compact forms systems export ("20250303", "03032025").
    forms = {f"{y}-{m:02d}-{d:02d}", f"{y} {m} {d}", f"{y}{m:02d}{d:02d}", f"{d:02d}{m:02d}{y}"}
    for dd in (f"{d}", f"{d:02d}"):
        for mm in (f"{m}", f"{m:02d}"):
            for yr in years:
                forms.add(f"{dd} {mm} {yr}")
    for name in months:
        for dd in days:
            for yr in (f"{y}", f"{yy:02d}"):
                forms |= {f"{dd} {name} {yr}", f"{dd} of {name} {yr}", f"{name} {dd} {yr}",
                          f"{dd}{name}{yr}"}
    return {_fold(f).strip() for f in forms}


# ---------------------------------------------------------------------- name patterns

_MODAL_NEXT = frozenset("i we you he she it they there this that the a an be not".split())
_SENTENCE_END = ".!?:;\n\u2022*\u2013\u2014(\""


@functools.lru_cache(maxsize=20000)
def name_variants(value: str) -> tuple[str, ...]:
    """The folded forms one recorded name is written in: as recorded, and with the
    separators an apostrophe or hyphen leaves dropped (O'Neill, ONeill, O Neill)."""
    phrase = _fold(value).strip()
    if not phrase:
        return ()
    forms = {phrase, _fold(digraphs(value)).strip()}
    if re.search(r"['\u2019\u2018\u02bc`\-]", value):
        forms |= {f.replace(" ", "") for f in forms}
    return tuple(sorted(forms, key=len, reverse=True))


@functools.lru_cache(maxsize=20000)
def _name_pattern(value: str) -> re.Pattern[str] | None:
    variants = name_variants(value)
    if not variants:
        return None
    alternatives = [re.escape(v).replace(r"\ ", " ") for v in variants]
    # PDF text extraction and line wrapping can split a name ("Bright-\nwell") or drop
    # the space between words: allow separators between letters, whole words only.
    squeezed = variants[0].replace(" ", "")
    if len(squeezed) >= 6:
        alternatives.append(" ?".join(map(re.escape, squeezed)))
    # Plural and possessive forms: "the Quennells", "Quennell's", "Quennells'".
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?:e?s)?(?![a-z0-9])")


@functools.lru_cache(maxsize=20000)
def _is_word_name(value: str) -> bool:
    """A name every part of which is also an ordinary word: on the list of names that
    are words, or a common English word ("Ståle" folds to "stale", "Sow", "Brook")."""
    tokens = _fold(value).split()
    return bool(tokens) and all(t in WORD_NAMES or is_english_word(t) for t in tokens)


def _sentence_start(raw: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and raw[i] in " \t\r":
        i -= 1
    return i < 0 or raw[i] in _SENTENCE_END


def _word_name_severity(folded: Folded, fs: int, fe: int) -> Severity | None:
    """Whether a name that is also a word, found at folded [fs, fe), is written as a
    name (stop), may be (flag), or is the word (None)."""
    raw = folded.raw
    rs, re_ = folded.raw_span(fs, fe)
    words = folded.cased[fs:fe].split()
    if not all(w[:1].isupper() for w in words):
        return None
    after = folded.text[fe:fe + 40].split()
    before = folded.text[max(0, fs - 12):fs].split()
    nxt = after[0] if after else ""
    prev = before[-1] if before else ""
    if len(words) == 1 and words[0].lower() in _MONTHS:
        if nxt.isdigit() or re.fullmatch(r"\d+(st|nd|rd|th)?", prev or "x"):
            return None  # "May 2026", "1 May"
        near = before[-2:] + after[:2]
        if any(w in _MONTHS or w in _MONTH_ABBREVIATIONS for w in near):
            return None  # "April and May", "May to July": the month among months
    possessive = raw[re_:re_ + 2] in ("'s", "\u2019s") or raw[re_ - 1:re_] in ("s",) and \
        raw[re_:re_ + 1] in ("'", "\u2019")
    if possessive:
        return "stop"
    if nxt in ORGANISATION_WORDS:
        nxt_raw = folded.cased[fe:fe + 40].split()
        if nxt_raw and nxt_raw[0][:1].isupper():
            return None  # "the Grace Suite", "Rose Ward", "Hope House": a place named after a word
        return "flag"  # "Grace school", "May panel": either reading is real
    if _sentence_start(raw, rs):
        if len(words) == 1 and nxt in _MODAL_NEXT:
            return None  # "Will there be...", "May we..."
        return "flag"
    return "stop"


# ------------------------------------------------------------------------------ gate

@dataclass(frozen=True)
class Gate:
    identifiers: tuple[Identifier, ...]
    # What this document may legitimately carry (dates, addresses) and which unrecorded
    # kinds are sought: see cdop.confidentiality.detectors.DocumentPolicy.
    policy: object | None = None
    # Fingerprints of flagged text the coordinator marked "not an identifier" for this
    # case and document (cdop.confidentiality.decisions).
    dismissed: frozenset[str] = field(default_factory=frozenset)

    # ------------------------------------------------------------------ recorded
    def recorded_findings(self, text: str, folded: Folded | None = None) -> list[Finding]:
        folded = folded or Folded(text)
        found: list[Finding] = []
        # A date the document carries as its own (a meeting, the day it was built, the
        # year's period) is that, not a child's date, even on the same day.
        own = {d.isoformat() for d in getattr(self.policy, "allowed_dates", ())}
        for ident in self.identifiers:
            if ident.value and not (ident.kind == "date" and ident.value.strip() in own):
                found.extend(self._match(ident, folded))
        return found

    def findings(self, text: str) -> list[Finding]:
        """Everything the gate finds in `text`, in order: recorded identifiers and what
        nobody recorded, with severities; flags the coordinator dismissed are left out."""
        folded = Folded(text)
        found = self.recorded_findings(text, folded) + unrecorded_findings(text, self.policy)
        found = _drop_covered(found)
        if self.dismissed:
            found = [f for f in found if f.severity == "stop"
                     or not self.dismissed.intersection(fingerprints(f.kind, text[f.start:f.end]))]
        return sorted(found, key=lambda f: (f.start, f.end, f.field))

    def scan(self, text: str) -> list[str]:
        """Fields (and unrecorded kinds) that stop the release (sorted, unique); [] is clean."""
        if not text:
            return []
        return sorted({f.field for f in self.findings(text) if f.severity == "stop"})

    def flags(self, text: str) -> list[Finding]:
        """Findings for the coordinator to decide (not dismissed)."""
        return [f for f in self.findings(text) if f.severity == "flag"] if text else []

    def check(self, document: str, *texts: str) -> None:
        fields = sorted({f for t in texts for f in self.scan(t)})
        if fields:
            raise IdentifierFound(document, fields)

    # ------------------------------------------------------------------ matching
    @staticmethod
    def _match(ident: Identifier, folded: Folded) -> list[Finding]:
        value = ident.value.strip()
        raw, text = folded.raw, folded.text
        spans: list[tuple[int, int]] = []
        if ident.kind == "nhs_number":
            digits = re.sub(r"\D", "", value)
            if len(digits) == 10:
                pat = _digits_pattern(digits)
                return [Finding(ident.field, ident.kind, m.start(), m.end(), "stop", ident.role)
                        for m in pat.finditer(raw)]
            return []
        if ident.kind == "postcode":
            code = re.sub(r"[^A-Za-z0-9]", "", value).lower()
            if len(code) < 5:
                return []
            pattern = re.compile(rf"(?<= )(?:{code}|{code[:-3]} {code[-3:]})(?= )")
            spans = [(m.start(), m.end()) for m in pattern.finditer(text)]
        elif ident.kind == "date":
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                return []
            pattern = _date_pattern(day)
            spans = [(m.start(), m.end()) for m in pattern.finditer(text)]
        else:
            pattern = _name_pattern(value)
            if pattern is None:
                return []
            word_name = ident.kind == "name" and _is_word_name(value)
            out = []
            for m in pattern.finditer(text):
                severity: Severity | None = "stop"
                if word_name:
                    severity = _word_name_severity(folded, m.start(), m.end())
                s, e = folded.raw_span(m.start(), m.end())
                if ident.place_words and _in_another_name(raw, s, e, ident.place_words):
                    severity = None
                if severity:
                    out.append(Finding(ident.field, ident.kind, s, e, severity, ident.role))
            return out
        return [Finding(ident.field, ident.kind, *folded.raw_span(s, e), "stop", ident.role) for s, e in spans]


_FUNCTION_WORDS = frozenset("a an the at in on to from by with of for and or but as is was "
                            "he she they we his her their attended attends".split())
_CAPITALISED_BEFORE = re.compile(r"([A-Z][\w'\u2019]*)[ \t]+$")
_CAPITALISED_AFTER = re.compile(r"^(?:['\u2019]s)?[ \t]+([A-Z][\w'\u2019]*)")


@functools.cache
def _generic_place_words() -> frozenset[str]:
    return frozenset(w for g in GENERIC_PLACE_WORDS for w in _fold(g).split())


def _in_another_name(raw: str, start: int, end: int, own: frozenset[str]) -> bool:
    """Whether raw[start:end] (one word of a place's name) is written inside another
    capitalised name: a capitalised neighbour, on the same line and with nothing but
    spaces between, that is neither a word of the place's own name nor a generic word."""
    allowed = own | _generic_place_words()
    before = _CAPITALISED_BEFORE.search(raw, max(0, start - 40), start)
    after = _CAPITALISED_AFTER.search(raw[end:end + 40])
    for m in (before, after):
        word = _fold(m.group(1)).split()[0] if m else ""
        if not m or word in allowed or (m is before and word in _FUNCTION_WORDS):
            continue  # "At Hayesfield", "The Widcombe": a capitalised function word
        return True
    return False


@functools.lru_cache(maxsize=20000)
def _date_pattern(day: dt.date) -> re.Pattern[str]:
    forms = sorted(date_forms(day), key=len, reverse=True)
    return re.compile(r"(?<= )(?:" + "|".join(re.escape(f).replace(r"\ ", " ") for f in forms) + r")(?= )")


@functools.lru_cache(maxsize=20000)
def _digits_pattern(digits: str) -> re.Pattern[str]:
    # 10 digits, possibly grouped by spaces, hyphens or dots (e.g. 943 476 5919).
    return re.compile(r"(?<!\d)" + r"[\s.\-]?".join(digits) + r"(?!\d)")


def _drop_covered(found: list[Finding]) -> list[Finding]:
    """An unrecorded finding inside a recorded one's span says nothing new: keep the
    recorded one (it names the field)."""
    recorded = [(f.start, f.end) for f in found if not f.field.startswith("unrecorded.")]
    if not recorded:
        return found
    return [f for f in found if not f.field.startswith("unrecorded.")
            or not any(s <= f.start and f.end <= e for s, e in recorded)]
