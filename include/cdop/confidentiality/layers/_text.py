"""What the unrecorded layers share: spans, capitalised runs, organisation names, the
sentence a position is in."""

from __future__ import annotations

import bisect
import re

from anyascii import anyascii

from cdop.confidentiality.words import ORGANISATION_WORDS

CAP_TOKEN = r"[A-Z\u00c0-\u00de][\w'\u2019\-&.]*"
CAP_RUN = re.compile(CAP_TOKEN + r"(?:[ \t]+(?:(?:and|of|for|the|&|on|upon|in)[ \t]+)*" + CAP_TOKEN + r")*")
WORD = re.compile(r"[\w'\u2019\-&.]+")
SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z\u00c0-\u00de\"(])|\n\s*\n|[;\n\u2022]")


def key(word: str) -> str:
    """A word as the lists hold it: lower case, transliterated, no trailing punctuation."""
    word = word if word.isascii() else anyascii(word)
    return word.lower().strip(".'\u2019-&,")


# Words that end a firm's or a body's name, beside the organisation words the recorded
# layer shares: "Gill and Sons", "Webb PLC", "Westfield Housing Association", "the
# Elizabeth Garrett Anderson Wing".
FIRM_WORDS = frozenset("""
ltd limited plc llp llc inc incorporated corp corporation co company companies group holdings
partners associates solicitors accountants sons ag gmbh sa nv bv pty
association society federation alliance institute commission committee forum charity
fund project programme initiative scheme campaign collective cooperative co-operative
wing
""".split())


def is_organisation_word(word: str) -> bool:
    """A word that ends an organisation's name ("Hospital", "Partnership", "PLC", "Sons")."""
    for w in (word, word.split("'")[0], word.split("\u2019")[0]):
        folded = key(w)
        if folded in ORGANISATION_WORDS or folded in FIRM_WORDS:
            return True
    return False


# A title of nobility and where it is of ("Duke of Edinburgh", "Princess of Wales"): an
# award, a charity or a public figure's style, not a person of the case written by name.
TITLE_OF_PLACE = re.compile(r"(?<![\w'\u2019])(?:Duke|Duchess|Earl|Countess|Prince|Princess|Marquess|"
                            r"Viscount|Baron|Baroness)[ \t]+of[ \t]+(?:the[ \t]+)?[A-Z][\w'\u2019-]*")


def organisation_spans(text: str) -> list[tuple[int, int]]:
    """Capitalised runs (connectors allowed inside) ending in an organisation word:
    "Royal United Hospital", "Avon and Somerset Police", "the Grace Suite", "Gill and
    Sons", "Webb PLC", "British Red Cross"; and titles of a place ("Duke of Edinburgh")."""
    spans = [m.span() for m in TITLE_OF_PLACE.finditer(text)]
    for run in CAP_RUN.finditer(text):
        last = None
        for word in WORD.finditer(run.group(0)):
            w = word.group(0)
            if w[0].isupper() and is_organisation_word(w):
                last = word.end()
        if last is not None:
            spans.append((run.start(), run.start() + last))
    return spans


# A firm named by its partners' surnames: "Patterson, Campbell and Cross", "Kay, Gibson &
# Ellis" (three or more, commas between).
_SURNAME = r"(?:Mc|Mac|O['\u2019])?[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
FIRM_OF_SURNAMES = re.compile(r"(?<![\w'\u2019])" + _SURNAME + r"(?:,[ \t]+" + _SURNAME + r")+,?[ \t]+(?:and|&)[ \t]+"
                              + _SURNAME + r"(?![\w'\u2019])")


def sentence_start(text: str, start: int) -> bool:
    k = start - 1
    while k >= 0 and text[k] in " \t\r":
        k -= 1
    return k < 0 or text[k] in ".!?:;\n\u2022*\"(\u201c"


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence (or line, or bullet)."""
    spans, start = [], 0
    for m in SENTENCE_END.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


class Spans:
    """Sorted spans (which may overlap); `covers(s, e)` and `overlaps(s, e)` look only at
    the spans that start within the longest span's length before `s`."""

    def __init__(self, spans=()):
        self.spans = sorted(spans)
        self.starts = [a for a, _ in self.spans]
        self.longest = max((b - a for a, b in self.spans), default=0)

    def covers(self, s: int, e: int) -> bool:
        i = bisect.bisect_right(self.starts, s) - 1
        while i >= 0 and self.spans[i][0] >= s - self.longest:
            if self.spans[i][1] >= e:
                return True
            i -= 1
        return False

    def overlaps(self, s: int, e: int) -> bool:
        i = bisect.bisect_left(self.starts, e) - 1
        while i >= 0 and self.spans[i][0] >= s - self.longest:
            if self.spans[i][1] > s:
                return True
            i -= 1
        return False

    def add(self, s: int, e: int) -> None:
        i = bisect.bisect_right(self.starts, s)
        self.starts.insert(i, s)
        self.spans.insert(i, (s, e))
        self.longest = max(self.longest, e - s)
