"""Text folded for matching: transliterated (anyascii: Ł->L, ø->o, ß->ss, æ->ae), lower
case, every run of non-alphanumerics one space; with a map back to the raw text."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import re
from dataclasses import dataclass
from typing import Literal

from anyascii import anyascii

Severity = Literal["stop", "flag"]
Kind = Literal["name", "date", "nhs_number", "postcode", "address", "text", "place"]
# Which detection layer found it: the recorded identifiers as written ("recorded") or in a
# form derived from them ("derived": initials, nicknames, misspellings, mutations), and the
# layers for what nobody recorded.
Layer = Literal["recorded", "derived", "people", "places", "references", "dates", "contact",
                "circumstance"]


@dataclass(frozen=True)
class Finding:
    """One thing the gate found: `field` is the recorded identifier's field (e.g.
    "child.surname") or, for what nobody recorded, "unrecorded.<kind>"; `start`/`end`
    index the raw text; `severity` says whether it stops the release or is a flag;
    `role` is the recorded person's or place's role key ("child", "parent:1",
    "sibling:2", "school:1", "home_address"; None for what nobody recorded), from which
    a pseudonymised text takes its label; `confidence` in (0, 1]; `layer` which
    detection layer found it. The shape every layer answers in, and every consumer
    (the CLI, the pages, pseudonymisation) reads."""

    field: str
    kind: str
    start: int
    end: int
    severity: Severity
    role: str | None = None
    confidence: float = 1.0
    layer: Layer = "recorded"


# ---------------------------------------------------------------------------- folding

def _fold_char(ch: str) -> str:
    if ch.isascii():
        return ch if ch.isalnum() else " "
    out = anyascii(ch)
    return "".join(c if c.isalnum() else " " for c in out)  # a combining mark folds to nothing


def _fold(text: str) -> str:
    """Lower case, transliterated, every run of non-alphanumerics one space."""
    text = anyascii(text).lower()
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", text).split()) + " "


# The other way these letters are written in Latin script: ICAO Doc 9303 (part 3, the
# transliteration of machine-readable travel documents) writes them as two letters, and
# so do German and Scandinavian records and the people who copy from a passport
# ("Bjoern", "Loevland", "Guelsen", "Aakesson"). anyascii gives the one-letter form.
_DIGRAPHS = str.maketrans({
    "Ä": "AE", "ä": "ae", "Ö": "OE", "ö": "oe", "Ü": "UE", "ü": "ue", "Ø": "OE", "ø": "oe",
    "Å": "AA", "å": "aa", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Þ": "TH", "þ": "th",
})


def digraphs(text: str) -> str:
    """`text` with the ICAO two-letter forms of Ä Ö Ü Ø Å Æ Œ Þ (the rest left to anyascii)."""
    return text.translate(_DIGRAPHS)


_TOKEN = re.compile(r"[A-Za-z0-9]+|[^\x00-\x7f]")
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9]+")
_ASCII_SEPARATORS = re.compile(r"([^A-Za-z0-9]+)")  # captured: split keeps them


class Folded:
    """A text folded like `_fold`, keeping for each folded character the raw index it
    came from (for positions) and the original letter case (for names that are words)."""

    def __init__(self, raw: str):
        self.raw = raw
        self._ascii: list[str] | None = None
        tokens = _ASCII_TOKEN.findall(raw) if raw.isascii() else None
        if tokens:
            # Most agency text: every token is copied as it is, so the folded text is
            # its tokens joined by single spaces (built in C), and a position's raw
            # index is found from the tokens' starts, worked out on first use.
            self._ascii = tokens
            self.cased = " " + " ".join(tokens) + " "
            self.text = self.cased.lower()
            return
        self._fold_slowly(raw)

    @functools.cached_property
    def _token_starts(self) -> tuple[list[int], list[int], list[int]]:
        """For an ASCII text: each token's start in the folded text, in the raw text,
        and its end in the raw text."""
        assert self._ascii is not None
        # Tokens and the separators between them alternate (tokens at even places, an
        # empty one first or last where the text starts or ends with a separator).
        pieces = _ASCII_SEPARATORS.split(self.raw)
        bounds = list(itertools.accumulate(map(len, pieces), initial=0))
        raw_starts, raw_ends = bounds[0:-1:2], bounds[1::2]
        if pieces[0] == "":
            raw_starts, raw_ends = raw_starts[1:], raw_ends[1:]
        if pieces[-1] == "" and len(pieces) > 1:
            raw_starts, raw_ends = raw_starts[:-1], raw_ends[:-1]
        folded = list(itertools.accumulate(map(len, self._ascii), lambda a, n: a + n + 1, initial=1))[:-1]
        return folded, raw_starts, raw_ends

    def _raw_index(self, i: int) -> int:
        """The raw index of folded position `i` (ASCII text): a letter's own, a space's
        the end of the token before it (0 for the leading space)."""
        folded, starts, ends = self._token_starts
        k = bisect.bisect_right(folded, i) - 1
        if k < 0:
            return 0
        offset = i - folded[k]
        if offset < ends[k] - starts[k]:
            return starts[k] + offset
        return ends[k] if k + 1 < len(folded) else len(self.raw)

    def _fold_slowly(self, raw: str) -> None:
        cased: list[str] = [" "]
        offsets: list[int] = [0]
        space = True
        last_end = 0
        # ASCII runs of letters and digits are copied whole (fast on a large document);
        # each other character is transliterated on its own (so its offset is known).
        for m in _TOKEN.finditer(raw):
            start, end = m.span()
            if start > last_end and not space:  # separators between tokens
                cased.append(" ")
                offsets.append(last_end)
                space = True
            last_end = end
            token = m.group(0)
            if token.isascii():
                cased.append(token)
                offsets.extend(range(start, end))
                space = False
                continue
            for c in _fold_char(token):
                if c == " ":
                    if not space:
                        cased.append(" ")
                        offsets.append(start)
                    space = True
                else:
                    cased.append(c)
                    offsets.append(start)
                    space = False
        if not space or len(cased) == 1:  # (a text of no letters folds to two spaces)
            cased.append(" ")
            offsets.append(len(raw))
        self.cased = "".join(cased)
        self.text = self.cased.lower()
        offsets.append(len(raw))
        self.offsets = offsets

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw span of folded [start, end)."""
        if self._ascii is not None:
            s = self._raw_index(start)
            e = self._raw_index(max(start, end - 1)) + 1
            return s, min(e, len(self.raw))
        s = self.offsets[start]
        e = self.offsets[max(start, end - 1)] + 1
        return s, min(e, len(self.raw))


# --------------------------------------------------------------- recorded forms

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
    # A form derived from a recorded identifier (cdop.confidentiality.derived): which
    # layer, how sure, and how it was derived ("nickname", "mutation", "welsh_date"...).
    layer: Layer = "recorded"
    confidence: float = 1.0
    how: str = ""


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
                if d > 12:
                    forms.add(f"{mm} {dd} {yr}")  # the US order, where it cannot be read as another day
    for name in months:
        for dd in days:
            for yr in (f"{y}", f"{yy:02d}"):
                forms |= {f"{dd} {name} {yr}", f"{dd} of {name} {yr}", f"{name} {dd} {yr}",
                          f"{dd}{name}{yr}"}
    return {_fold(f).strip() for f in forms}


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


# ------------------------------------------------------------ fast word boundaries

def _first_literal(alternative: str) -> str:
    """The first literal of an escaped regex alternative ("\\-" is one, "a" is one)."""
    return alternative[:2] if alternative.startswith("\\") else alternative[:1]


def after_boundary(alternatives: list[str], not_before: str | None = None, before: str | None = None) -> str:
    """`(?:a|b|...)` with a boundary before each alternative written *after* its first
    literal ("Z(?<![a-z0-9]Z)ofia" rather than "(?<![a-z0-9])Zofia"): the same match,
    but the regex engine can look for the first letter quickly instead of trying the
    lookbehind at every position of a long text (hundreds of times faster on 50 kB).
    `not_before` is a character class that must not precede; `before` one that must."""
    out = []
    for alt in alternatives:
        first = _first_literal(alt)
        if not_before is not None:
            out.append(f"{first}(?<!{not_before}{first}){alt[len(first):]}")
        else:
            out.append(f"{first}(?<={before}{first}){alt[len(first):]}")
    return "(?:" + "|".join(out) + ")"
