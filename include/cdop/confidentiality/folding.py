"""Text folded for matching: transliterated (anyascii: Ł->L, ø->o, ß->ss, æ->ae), lower
case, every run of non-alphanumerics one space; with a map back to the raw text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from anyascii import anyascii

Severity = Literal["stop", "flag"]
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


class Folded:
    """A text folded like `_fold`, keeping for each folded character the raw index it
    came from (for positions) and the original letter case (for names that are words)."""

    def __init__(self, raw: str):
        self.raw = raw
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
        s = self.offsets[start]
        e = self.offsets[max(start, end - 1)] + 1
        return s, min(e, len(self.raw))


