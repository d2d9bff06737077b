"""Towns made up from a person's name: neither a person nor a place worth a flag (the
people and places layers both leave them out)."""

from __future__ import annotations

import re

from cdop.confidentiality.layers._text import key
from cdop.confidentiality.layers.terms import known_areas


def _folded_words(span: str) -> list[str]:
    return [key(w) for w in re.findall(r"[\w'\u2019\-&]+", span)]


# A town made up from a person's name: the shape in which generated and example text
# (test data, training material, a form's sample) invents a place -- a compass word or
# "New", "Lake", "Port", "Mount", "Fort" before a given name ("East Ruth", "New
# Barbara"), a town word after a name ("Emmett Ville", "Karla View"), or a settlement
# ending on a given name ("Charlotteville", "Lake Bruceton", "Williamsburgh") or on a
# surname with an ending no British place has ("Johnsonstad", "Lynnfurt"). Real British
# settlements are named from landscape and Old English words; the few named from a
# given name (Fort William, Port Isaac) are towns, which identify nobody, or are listed
# in data/areas.txt. Such a name is not a person, and not a place worth a flag.
_PLACE_PREFIX = r"North|South|East|West|New|Lake|Port|Mount|Fort|Upper|Lower"
_TOWN_WORD = r"Ville|View|Heights|Falls|Springs|City|Town"
_MADE_UP = re.compile(r"(?<![\w'\u2019])(?:(" + _PLACE_PREFIX + r")[ \t]+)?([A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
                      r"(?:[ \t]+(" + _TOWN_WORD + r"))?(?![\w'\u2019])")
_ENGLISH_ENDINGS = ("borough", "chester", "mouth", "shire", "bury", "town", "port", "fort", "ford", "field",
                    "ham", "ton", "haven", "side", "land")
_FOREIGN_ENDINGS = ("ville", "view", "stad", "furt", "berg", "burgh", "burg")


def is_given_name(word: str, min_len: int = 3) -> bool:
    from cdop.confidentiality.layers.name_lists import name_ranks
    from cdop.confidentiality.words import COMMON_WORDS, given_names, is_english_word

    folded = key(word)
    if "-" in folded:  # "Jamie-Leigh"
        return all(is_given_name(part, min_len) for part in folded.split("-"))
    if len(folded) < min_len or folded in COMMON_WORDS or is_english_word(folded):
        return False
    return folded in given_names() or name_ranks()[0].get(folded, 10**6) <= 1000


def is_surname(word: str) -> bool:
    from cdop.confidentiality.layers.name_lists import name_ranks
    from cdop.confidentiality.words import is_english_word

    folded = key(word).replace("-", "")
    return len(folded) >= 4 and not is_english_word(folded) and name_ranks()[1].get(folded, 10**6) <= 3000


def _name_built(word: str) -> bool:
    """A one-word settlement name ending on a name: "Charlotteville", "Johnsonstad"."""
    low = word.lower()
    for ending in _FOREIGN_ENDINGS:
        stem = word[:len(word) - len(ending)]
        if low.endswith(ending) and len(stem) >= 4 and (is_given_name(stem) or is_given_name(stem.rstrip("s"))
                                                        or is_surname(stem)):
            return True
    for ending in _ENGLISH_ENDINGS:
        stem = word[:len(word) - len(ending)]
        if low.endswith(ending) and len(stem) >= 5 and (is_given_name(stem) or is_given_name(stem.rstrip("s"))):
            return True
    return False


def made_up_places(text: str) -> list[tuple[int, int]]:
    """The spans of towns made up from a person's name (see above)."""
    spans = []
    for m in _MADE_UP.finditer(text):
        prefix, word, town = m.group(1), m.group(2), m.group(3)
        if " ".join(_folded_words(m.group(0))) in known_areas():
            continue
        if (prefix or town) and not re.fullmatch(_PLACE_PREFIX + "|" + _TOWN_WORD, word) \
                and (town == "Ville" or is_given_name(word) or (town and is_surname(word)) or _name_built(word)):
            spans.append(m.span())
        elif _name_built(word):
            spans.append(m.span(2))
    return spans
