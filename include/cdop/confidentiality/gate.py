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

import bisect
import datetime as dt
import functools
import itertools
import re
from dataclasses import dataclass, field

from cdop.confidentiality.decisions import fingerprints
from cdop.confidentiality.derived import derived_date_forms, derived_findings
from cdop.confidentiality.detectors import unrecorded_findings
from cdop.confidentiality.folding import (  # noqa: F401 -- Identifier, date_forms, name_variants: used from here
    _MONTH_ABBREVIATIONS,
    _MONTHS,
    Finding,
    Folded,
    Identifier,
    Kind,
    Severity,
    _fold,
    after_boundary,
    date_forms,
    name_variants,
)
from cdop.confidentiality.recorded_index import index_for
from cdop.confidentiality.words import (
    CLOSED_CLASS_WORDS,
    EPONYMS,
    GENERIC_PLACE_WORDS,
    ORGANISATION_WORDS,
    WORD_NAMES,
    is_english_word,
    spelling_words,
)


class IdentifierFound(RuntimeError):
    """Release blocked: the message lists matching fields only."""

    def __init__(self, document: str, fields: list[str]):
        self.fields = fields
        super().__init__(f"{document}: blocked by the anonymisation gate; matched field(s): {', '.join(fields)}")


# ---------------------------------------------------------------------- name patterns

_MODAL_NEXT = frozenset("i we you he she it they there this that the a an be not".split())
_SENTENCE_END = ".!?:;\n\u2022*\u2013\u2014(\""


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
    return re.compile(after_boundary(alternatives, not_before="[a-z0-9]") + r"(?:e?s)?(?![a-z0-9])")


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
    if re.fullmatch(r"\d+[a-z]?", nxt or "x") and len(words) == 1:
        return None  # "Ward 7", "Bay 4", "May 2026": a word before its number, not a name
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
    if _in_organisation(folded, fs, fe):
        return None  # "Roma Support Group", "the Parent Line": a word of an organisation's name
    if nxt in ORGANISATION_WORDS:
        nxt_raw = folded.cased[fe:fe + 40].split()
        if nxt_raw and nxt_raw[0][:1].isupper():
            return None  # "the Grace Suite", "Rose Ward", "Hope House": a place named after a word
        return "flag"  # "Grace school", "May panel": either reading is real
    if _sentence_start(raw, rs):
        if len(words) == 1 and nxt in _MODAL_NEXT:
            return None  # "Will there be...", "May we..."
        if len(words) == 1 and words[0].lower() in CLOSED_CLASS_WORDS:
            return None  # "You said...", "This was...": a sentence's first word
        return "flag"
    return "stop"


# Words that end an organisation's name as well as ORGANISATION_WORDS, in a capitalised run
# ("Roma Support Group", "Family Line", "Hope Project"): a name that is also a word, inside
# such a run, is a word of that name.
_RUN_END = ORGANISATION_WORDS | frozenset("""support line helpline project association society
charity alliance forum collective initiative programme program fund appeal""".split())


def _eponym(folded: Folded, fs: int, fe: int) -> bool:
    """Whether the name at folded [fs, fe) and the word after it name a thing (EPONYMS)."""
    nxt = folded.text[fe:fe + 30].split()[:1]
    return bool(nxt) and f"{folded.text[fs:fe].strip()} {nxt[0]}" in EPONYMS


_RUN_AFTER = re.compile(r"(?:[ \t]+[A-Z][\w'\u2019&]*){1,4}")
_WORD_BEFORE = re.compile(r"([A-Z][\w'\u2019&]*)[ \t]+$")


def _in_organisation(folded: Folded, fs: int, fe: int) -> bool:
    """Whether folded [fs, fe) sits in a capitalised run of words, with nothing but
    spaces between them (not across a comma or a line), that ends in an organisation
    word: the run after it holds one ("Roma Support Group"), or it is one itself after
    a capitalised word ("Parent Line")."""
    raw = folded.raw
    rs, re_ = folded.raw_span(fs, fe)
    if re_ < len(raw) and raw[re_] in "'\u2019":
        return False  # a possessive ("Grace's school") is the person's
    after = _RUN_AFTER.match(raw, re_)
    if after and any(_fold(w).strip() in _RUN_END for w in after.group(0).split()):
        return True
    before = _WORD_BEFORE.search(raw, max(0, rs - 40), rs)
    own = folded.text[fs:fe].split()
    return bool(before) and bool(own) and own[-1] in _RUN_END and not _sentence_start(raw, before.start())


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
        """The recorded identifiers and the forms derived from them (layers "recorded"
        and "derived"): one multi-pattern pass names the identifiers that can match
        (cdop.confidentiality.recorded_index), each of those is tried with its rules,
        then the patterned derived forms (initials, misspellings, handles)."""
        folded = folded or Folded(text)
        index = index_for(self.identifiers)
        found: list[Finding] = []
        # A date the document carries as its own (a meeting, the day it was built, the
        # year's period) is that, not a child's date, even on the same day.
        own = {d.isoformat() for d in getattr(self.policy, "allowed_dates", ())}
        for ident in index.candidates(folded.text):
            if ident.value and not (ident.kind == "date" and ident.value.strip() in own):
                found.extend(self._match(ident, folded))
        if index.people:
            found += derived_findings(folded, index.people, index.exact)
        return _drop_derived_covered(found)

    def findings(self, text: str, *, flags: bool = True) -> list[Finding]:
        """Everything the gate finds in `text`, in order: recorded identifiers and what
        nobody recorded, with severities; flags the coordinator dismissed are left out.
        `flags=False`: the stops alone (the same stops), without the layers that only
        flag (the model among them)."""
        folded = Folded(text)
        found = self.recorded_findings(text, folded) + unrecorded_findings(text, self.policy, flags=flags)
        found = _drop_covered(found)
        if self.dismissed:
            found = [f for f in found if f.severity == "stop"
                     or not self.dismissed.intersection(fingerprints(f.kind, text[f.start:f.end]))]
        return sorted(found, key=lambda f: (f.start, f.end, f.field))

    def scan(self, text: str) -> list[str]:
        """Fields (and unrecorded kinds) that stop the release (sorted, unique); [] is clean."""
        if not text:
            return []
        return sorted({f.field for f in self.findings(text, flags=False) if f.severity == "stop"})

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
            pattern = re.compile(after_boundary([code, f"{code[:-3]} {code[-3:]}"], before=" ") + "(?= )")
            spans = [(m.start(), m.end()) for m in pattern.finditer(text)]
        elif ident.kind == "date":
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                return []
            pattern = _derived_date_pattern(day, ident.how) if ident.how else _date_pattern(day)
            spans = [(m.start(), m.end()) for m in pattern.finditer(text)]
        else:
            pattern = _name_pattern(value)
            if pattern is None:
                return []
            word_name = ident.kind == "name" and _is_word_name(value)
            forms = name_variants(value)
            out = []
            for m in pattern.finditer(text):
                severity: Severity | None = "stop"
                matched = m.group(0)
                if not word_name and matched not in forms and (is_english_word(matched) or matched in WORD_NAMES):
                    continue  # a plural that makes a word of a name: "Thi" + "s" is "this"
                if ident.layer == "derived" and not _derived_written_as_name(ident, folded, m.start(), m.end()):
                    continue
                if ident.kind == "name" and _eponym(folded, m.start(), m.end()):
                    continue  # "Moses basket", "Down syndrome": a thing named after someone
                if ident.layer == "derived" and matched not in forms:
                    continue  # a plural of a derived form ("Bills"): too far from the name
                if word_name:
                    severity = _word_name_severity(folded, m.start(), m.end())
                    if ident.layer == "derived" and severity == "stop":
                        severity = "flag"  # a nickname that is a word ("Bill", "Bell"): either reading
                elif ident.kind == "name" and _in_organisation(folded, m.start(), m.end()):
                    # A name inside an organisation's: a word of some dictionary ("Roma
                    # Support Group") is the word; another name may be either.
                    severity = None if matched in spelling_words() else "flag"
                s, e = folded.raw_span(m.start(), m.end())
                if ident.place_words and _in_another_name(raw, s, e, ident.place_words):
                    severity = None
                if severity and ident.how == "street":
                    severity = _street_head_severity(folded, m.start())
                if severity:
                    out.append(Finding(ident.field, ident.kind, s, e, severity, ident.role,
                                       ident.confidence, ident.layer))
            return out
        return [Finding(ident.field, ident.kind, *folded.raw_span(s, e), "stop", ident.role,
                        ident.confidence, ident.layer) for s, e in spans]


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
    return re.compile(after_boundary([re.escape(f).replace(r"\ ", " ") for f in forms], before=" ") + "(?= )")


@functools.lru_cache(maxsize=20000)
def _derived_date_pattern(day: dt.date, how: str) -> re.Pattern[str]:
    forms = sorted(derived_date_forms(day, how), key=len, reverse=True)
    return re.compile(after_boundary([re.escape(f).replace(r"\ ", " ") for f in forms], before=" ") + "(?= )")


def _derived_written_as_name(ident: Identifier, folded: Folded, fs: int, fe: int) -> bool:
    """A derived form of a name or street counts only where it is written as a name:
    every word capitalised (a nickname that is a word goes on through the rules for
    names that are words)."""
    if ident.kind == "date":
        return True
    return all(w[:1].isupper() for w in folded.cased[fs:fe].split())


_STREET_PREPOSITIONS = frozenset("on in along off near at from to down up into onto by past".split())


def _street_head_severity(folded: Folded, fs: int) -> Severity | None:
    """A street named without its road word counts after a house number (stop) or a
    preposition of place (flag: "on Stapleton" may be the district), not elsewhere."""
    before = folded.text[max(0, fs - 20):fs].split()
    prev = before[-1] if before else ""
    if re.fullmatch(r"\d+[a-z]?", prev):
        return "stop"
    if prev in _STREET_PREPOSITIONS:
        return "flag"
    return None


def _drop_derived_covered(found: list[Finding]) -> list[Finding]:
    """A derived finding inside the span of a recorded one that stops the release says
    nothing new; two derived forms found at one place for one field are one finding."""
    recorded = [f for f in found if f.layer == "recorded"]
    if len(recorded) == len(found):
        return found
    # The stops' spans by start, with the furthest end reached so far: a span is inside
    # one of them if the furthest end among those starting at or before it covers it.
    stops = sorted((f.start, f.end) for f in recorded if f.severity == "stop")
    starts = [s for s, _ in stops]
    furthest = list(itertools.accumulate((e for _, e in stops), max))
    out, seen = list(recorded), set()
    for f in found:
        if f.layer == "recorded" or (f.field, f.start, f.end) in seen:
            continue
        k = bisect.bisect_right(starts, f.start) - 1
        if k >= 0 and furthest[k] >= f.end:
            continue
        seen.add((f.field, f.start, f.end))
        out.append(f)
    return out


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
