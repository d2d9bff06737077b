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


def _frequency(ch: str) -> int:
    ch = ch.strip()
    if not ch:
        return 0
    try:
        return int(ch, 16)
    except ValueError:
        return 0


@functools.cache
def given_names() -> frozenset[str]:
    """Folded given names with a real frequency somewhere (>= 2 in Great Britain,
    Ireland or the USA, or >= 4 in any other country the list covers)."""
    from anyascii import anyascii

    text = resources.files("gender_guesser").joinpath("data/nam_dict.txt").read_text("utf-8")
    names: set[str] = set()
    for line in text.splitlines():
        if not line or line[0] in "#=" or len(line) < 31:
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        freqs = [_frequency(c) for c in line[30:]]
        if max(freqs[:3], default=0) >= 2 or max(freqs, default=0) >= 4:
            for name in parts[1].replace("+", " ").split():
                folded = anyascii(name).lower()
                if len(folded) >= 3 and folded.isalpha():
                    names.add(folded)
    return frozenset(names - COMMON_WORDS - ORGANISATION_WORDS)
