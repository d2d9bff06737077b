"""The word lists the gate uses to tell a name from an ordinary word.

- GIVEN_NAMES: a maintained list of given names shipped inside a package
  (gender-guesser's nam_dict, ~48,000 names with their frequency by country), loaded
  lazily and once, and kept to the names with some real frequency (so that rare entries
  such as "Royal" or "Avon" do not make every agency name a flag).
- WORD_NAMES: names that are also ordinary English words ("May", "Will", "Grace",
  "Hope"). A recorded name of this kind matches only where it is written as a name
  (capitalised, not the month, not the modal verb); an unrecorded one is never flagged
  on the list alone.
- COMMON_WORDS: ordinary words that never count, alone, as the distinctive part of a
  school or workplace name ("Oak Academy" is matched whole, never as "Oak").
- ORGANISATION_WORDS: words that end an organisation's or a place's name ("Hospital",
  "Police", "Suite", "Ward"): a capitalised run ending in one is a service, not a person.
- is_english_word: a common English word, from a maintained word-frequency list
  (pyspellchecker's), loaded lazily and once: a recorded name that is one ("Ståle",
  "Sow") is treated like the names that are words; a word of a place's name that is one
  ("Down" of "Combe Down Surgery") never counts alone.
- GENERIC_PLACE_WORDS: the generic words of a school or workplace name, dropped to get
  the name people actually write ("Oakfield" for "Oakfield Primary School").
"""

from __future__ import annotations

import functools
from importlib import resources

WORD_NAMES = frozenset("""
may june april august will grace hope faith joy rose lily ivy holly summer autumn winter
river sky skye amber ruby pearl dawn sunny mark bill rich frank earl guy pat sue ray dean
chase hunter mason miles major bishop brown white green black young king hill wood ward
lane field church park bell cook baker page hall bliss star storm rain heather iris daisy
poppy violet jasmine hazel olive sage willow robin jay wren raven fern clay reed rush
price rice cash carter fisher smith taylor parsons sterling noble new long short little
rowan heath moss stone brook brooks dale glen ford bay cliff rock sandy misty honey
sonny kit tim jack jim bob don ted penny patience prudence constance charity mercy
verity honour felicity destiny harmony melody trinity unity bliss liberty justice
precious hero lucky happy bonnie angel baby ace art jade jewel gem tiny max will
""".split())

COMMON_WORDS = frozenset("""
oak ash elm pine beech birch cedar maple willow holly the new old north south east west
upper lower great little high middle central city town village park green hill valley
river bridge church saint st all saints holy trinity christ king queen royal victoria
manor grange court castle abbey priory meadow meadows field fields wood woods grove
brook lake vale view way road street lane avenue close drive hope grace faith may will
""".split()) | WORD_NAMES

ORGANISATION_WORDS = frozenset("""
hospital hospitals trust foundation police constabulary service services team unit ward
suite room centre center clinic surgery practice school schools academy college nursery
university council county borough authority board panel partnership group department
ambulance fire rescue court coroner office agency network hospice home homes house church
chapel mosque temple synagogue library station road street lane avenue way health care
safeguarding children childrens social nhs icb gp ccg cdop ncmd trust's united general
infirmary maternity neonatal paediatric paediatrics emergency department a&e icu nicu picu
""".split())

GENERIC_PLACE_WORDS = (
    # Longest first: "Church of England" is dropped before "Church" could be.
    "church of england", "c of e", "cofe", "roman catholic", "r c", "medical centre",
    "health centre", "medical practice", "family practice", "sixth form", "high school",
    "secondary school", "primary school", "infant school", "junior school", "grammar school",
    "free school", "community school", "special school", "first school", "middle school",
    "nursery school", "pre school", "day nursery", "voluntary aided", "voluntary controlled",
    "school", "primary", "secondary", "academy", "college", "infant", "infants", "junior",
    "juniors", "nursery", "surgery", "practice", "pre-school", "preschool", "federation",
    "trust", "the", "ce", "rc", "va", "vc", "c e", "of", "and", "&", "ltd", "limited", "plc",
    "group", "partnership", "clinic", "centre", "center", "community", "studio", "studios",
)


# How often a word must occur in pyspellchecker's English frequency list (~1.6 billion
# words of subtitles and web text) to count as an ordinary word: "stale", "sow", "brook",
# "dental", "down" are; "Widcombe", "Hayesfield", "Bristol" (61), "Łukasz" are not (nor,
# whatever their count, the given names of GIVEN_NAMES).
ENGLISH_WORD_MIN_COUNT = 1000


@functools.cache
def _english_frequency():
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1).word_frequency


def _frequency(ch: str) -> int:
    ch = ch.strip()
    if not ch:
        return 0
    try:
        return int(ch, 16)
    except ValueError:
        return 0


@functools.cache
def _name_list() -> dict[str, bool]:
    """Folded given names with a real frequency somewhere (>= 2 in Great Britain,
    Ireland or the USA, or >= 4 in any other country the list covers), each saying
    whether it is one in Great Britain, Ireland or the USA."""
    from anyascii import anyascii

    text = resources.files("gender_guesser").joinpath("data/nam_dict.txt").read_text("utf-8")
    names: dict[str, bool] = {}
    for line in text.splitlines():
        if not line or line[0] in "#=" or len(line) < 31:
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        freqs = [_frequency(c) for c in line[30:]]
        anglophone = max(freqs[:3], default=0) >= 2
        if anglophone or max(freqs, default=0) >= 4:
            for name in parts[1].replace("+", " ").split():
                folded = anyascii(name).lower()
                if len(folded) >= 3 and folded.isalpha():
                    names[folded] = names.get(folded, False) or anglophone
    return names


@functools.cache
def given_names() -> frozenset[str]:
    """Folded given names with a real frequency somewhere (see _name_list), ordinary
    words and organisation words left out."""
    return frozenset(_name_list()) - COMMON_WORDS - ORGANISATION_WORDS


def is_english_word(word: str) -> bool:
    """Whether a folded word is a common English word (pyspellchecker's English list) and
    not a given name in Great Britain, Ireland or the USA: subtitles say "Theodore" and
    "Jason" often, but they are names; the Norwegian "Ståle" folds to the word "stale"."""
    return _english_frequency()[word] >= ENGLISH_WORD_MIN_COUNT and not _name_list().get(word, False)
