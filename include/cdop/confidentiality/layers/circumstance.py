"""A family identifiable by circumstance: an exact date or time joined, in one sentence,
to a named event or place -- "on Boxing Day in the fire at the village shop", "at 3.15am
on Christmas Eve on the M5". A flag ("could identify by circumstance"): the coordinator
decides, since each part alone is ordinary text.

The time: a calendar date (English or Welsh), a named day of the year (Christmas Eve,
Boxing Day, New Year's Eve, Bonfire Night, Hallowe'en, Valentine's Day...), or a clock
time ("3.15am", "15:40", "at 10 past 3"). The event or place: a reportable event (a fire,
a crash or collision, an explosion, a flood, a stabbing or shooting, a festival, a
fireworks display, a fair), a road number ("the M5", "A38"), or a named place another
layer found (a street, a school, a shop, a village).

Not a circumstance: a time with nothing named ("at 3.15am the ambulance was called"), an
event with no time ("the fire service fitted smoke alarms"), the fire *service*, *brigade*,
*station*, *alarm* or *safety* (an agency or a product), a meeting's date.
"""

from __future__ import annotations

import re

from cdop.confidentiality.folding import Finding
from cdop.confidentiality.layers._text import sentences

MESSAGE = "could identify by circumstance"

_NAMED_DAYS = (r"Christmas\s+(?:Eve|Day)|Boxing\s+Day|New\s+Year['\u2019]?s\s+(?:Eve|Day)|Hogmanay|"
               r"Bonfire\s+Night|Guy\s+Fawkes\s+Night|Hallowe['\u2019]?en|Valentine['\u2019]?s\s+Day|"
               r"Easter\s+(?:Sunday|Monday)|Good\s+Friday|Mother['\u2019]?s\s+Day|Father['\u2019]?s\s+Day|"
               r"Remembrance\s+Sunday|St\.?\s+David['\u2019]?s\s+Day|St\.?\s+Patrick['\u2019]?s\s+Day|"
               r"Eid(?:\s+al-\w+)?|Diwali|Vaisakhi|Notting\s+Hill\s+Carnival|Dydd\s+Nadolig|Noswyl\s+Nadolig")
NAMED_DAY = re.compile(r"(?i:\b(?:" + _NAMED_DAYS + r")\b)")
_TIME = re.compile(
    r"(?i:\b(?:" + _NAMED_DAYS + r")\b)"
    r"|(?<![\d.:])(?:[01]?\d|2[0-3]):[0-5]\d(?:\s*(?:am|pm|a\.m\.|p\.m\.|hrs))?(?![\d.:])"
    r"|(?<![\d.:])(?:[01]?\d|2[0-3])\.[0-5]\d\s*(?:am|pm|a\.m\.|p\.m\.|hrs)(?![\w])"
    r"|(?<![\d.:])(?:1[0-2]|0?[1-9])\s*(?:am|pm|a\.m\.|p\.m\.)(?![\w])")
_EVENT = re.compile(
    r"(?i:\b(?:(?:house|flat|car|caravan|barn|shop|chip\s+pan)\s+)?(?:fire|blaze|explosion|crash|collision|"
    r"flood|flooding|stabbing|shooting|attack|festival|carnival|fireworks?\s+display|bonfire|fair|funfair|"
    r"regatta|tornado|landslide|capsize[d]?|derailment|riot)s?\b)(?!\s+(?:service|brigade|station|alarms?|safety|"
    r"officers?|crew|fighters?|and\s+rescue|door|risk|exit|guard|extinguisher))")
_ROAD = re.compile(r"(?<![\w])(?:the\s+)?[AMB]\d{1,4}(?:\(M\))?(?![\w])")
_NOT_FIRE_AGENCY = re.compile(r"(?i:\bfire\s+(?:and\s+rescue|service|brigade|station)\b)")


def circumstance_findings(text: str, *, date_spans=(), place_spans=()) -> list[Finding]:
    """`date_spans` and `place_spans`: what the dates and places layers found (so a
    calendar date or a named place counts as the time or the place)."""
    found = []
    for s, e in sentences(text):
        sentence = text[s:e]
        times = [(s + m.start(), s + m.end()) for m in _TIME.finditer(sentence)]
        times += [(a, b) for a, b in date_spans if s <= a < e]
        if not times:
            continue
        things = [(s + m.start(), s + m.end()) for m in _EVENT.finditer(sentence)]
        things += [(s + m.start(), s + m.end()) for m in _ROAD.finditer(sentence)]
        things += [(a, b) for a, b in place_spans if s <= a < e]
        if not things:
            continue
        start = min(a for a, _ in times + things)
        end = max(b for _, b in times + things)
        found.append(Finding("unrecorded.circumstance", "circumstance", start, end, "flag",
                             confidence=0.6, layer="circumstance"))
    return found
