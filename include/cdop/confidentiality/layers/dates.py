"""Calendar dates nobody recorded, in English and in Welsh.

In a document that gives timing relative to the death (a case report, a chronology, a
summary: `policy.relative_timing`) every calendar date that is not the document's own
(`policy.allowed_dates`: the day it was built, a meeting) stops the release: ISO
(2024-03-03), day/month/year (3/3/24, 03.03.2024), "3 March 2024", "3rd of March",
"March 3, 2024", and in Welsh "3 Mawrth 2024", "3ydd o Fawrth 2024" (ordinal suffixes
-af -il -ydd -ed -fed -eg -ain; the month soft-mutated after "o": Fawrth, Fai, Fehefin,
Orffennaf, Fedi, Dachwedd, Ragfyr), "Dydd Llun 4 Ionawr". A weekday alone, an age
("aged 3 months"), a month and year, or a year alone is not a calendar date; other
documents (the annual report: years and periods) are not searched.
"""

from __future__ import annotations

import datetime as dt
import re

from cdop.confidentiality.folding import Finding

_MONTH_NAMES = (r"January|February|March|April|May|June|July|August|September|October|November|December|"
                r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec")
_DAY = r"(?:[0-2]?\d|3[01])(?:st|nd|rd|th)?"
# Welsh months, radical and soft-mutated ("o Fawrth", "o Ragfyr"), with their numbers.
_WELSH_MONTHS = {
    "ionawr": 1, "chwefror": 2, "mawrth": 3, "fawrth": 3, "ebrill": 4, "mai": 5, "fai": 5,
    "mehefin": 6, "fehefin": 6, "gorffennaf": 7, "orffennaf": 7, "awst": 8, "medi": 9, "fedi": 9,
    "hydref": 10, "tachwedd": 11, "dachwedd": 11, "rhagfyr": 12, "ragfyr": 12,
}
_WELSH_DAY = r"(?:[0-2]?\d|3[01])(?:af|il|ydd|ed|fed|eg|ain)?"
_DATE_PATTERNS = (
    re.compile(r"(?<![\d/.\-])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d/\-]|\.\d)"),  # ISO
    re.compile(r"(?<![\d/.\-])(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?![\d/\-]|\.\d)"),  # d/m/y
    re.compile(r"(?<![\w])(" + _DAY + r")(?:\s+of)?[\s\-]+(" + _MONTH_NAMES + r")\b\.?,?(?:[\s\-]+('?\d{2}|\d{4})\b)?",
               re.IGNORECASE),
    re.compile(r"(?<![\w])(" + _MONTH_NAMES + r")\.?\s+(" + _DAY + r")\b,?(?:\s+(\d{4})\b)?", re.IGNORECASE),
    re.compile(r"(?<![\w])(" + _WELSH_DAY + r")(?:\s+o)?\s+(" + "|".join(_WELSH_MONTHS) + r")\b,?(?:\s+(\d{4})\b)?",
               re.IGNORECASE),
)
_MONTH_NUMBER = {name: i + 1 for i, full in enumerate(
    "january february march april may june july august september october november december".split())
    for name in (full, full[:3], *(("sept",) if full == "september" else ()))}


def _day_month_year(i: int, m: re.Match) -> tuple[int, int, int | None] | None:
    if i == 0:
        return int(m[3]), int(m[2]), int(m[1])
    if i == 1:
        y = int(m[3])
        return int(m[1]), int(m[2]), y + 2000 if y < 100 else y
    if i == 2:
        y = int(m[3].lstrip("'")) if m[3] else None
        return int(re.match(r"\d+", m[1])[0]), _MONTH_NUMBER[m[2].lower()], (y + 2000 if y is not None and y < 100 else y)
    if i == 3:
        if m[1].lower() == "may" and not m[1][0].isupper():
            return None  # "may 3 ..." the verb
        return int(re.match(r"\d+", m[2])[0]), _MONTH_NUMBER[m[1].lower()], int(m[3]) if m[3] else None
    return int(re.match(r"\d+", m[1])[0]), _WELSH_MONTHS[m[2].lower()], int(m[3]) if m[3] else None


# The end of the reporting year ("the year ending 31 March") is a period, not a day of
# anyone's life.
_YEAR_END = re.compile(r"(?i:\b(?:year|period)\s+(?:ending|ended|end|to)\s+(?:on\s+)?$)")


def date_findings(text: str, policy) -> list[Finding]:
    if not getattr(policy, "relative_timing", False):
        return []
    allowed = getattr(policy, "allowed_dates", frozenset())
    found = []
    for i, pattern in enumerate(_DATE_PATTERNS):
        for m in pattern.finditer(text):
            try:
                parts = _day_month_year(i, m)
                if parts is None:
                    continue
                d, mo, y = parts
                if y is None and _YEAR_END.search(text, max(0, m.start() - 30), m.start()):
                    continue
                if y is None:
                    dt.date(2000, mo, d)  # a real day and month
                    if any(a.month == mo and a.day == d for a in allowed):
                        continue
                elif dt.date(y, mo, d) in allowed:
                    continue
            except (ValueError, KeyError, TypeError):
                continue
            found.append(Finding("unrecorded.date", "date", m.start(), m.end(), "stop",
                                 confidence=0.95 if y is not None else 0.8, layer="dates"))
    return found
