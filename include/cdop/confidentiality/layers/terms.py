"""The word lists the unrecorded layers keep as data (data/*.txt), loaded once."""

from __future__ import annotations

import functools
import re
from importlib import resources

from cdop.confidentiality.layers._text import key


def _lines(name: str) -> list[str]:
    text = resources.files("cdop.confidentiality.layers").joinpath(f"data/{name}").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@functools.cache
def domain_terms() -> frozenset[str]:
    """Clinical eponyms, drugs, products, services, festivals (folded, words joined by a
    space): capitalised words that are not people."""
    return frozenset(" ".join(key(w) for w in line.split()) for line in _lines("domain_terms.txt"))


@functools.cache
def known_areas() -> frozenset[str]:
    """Nations, regions, counties, large cities and countries (folded): naming one
    identifies nobody."""
    return frozenset(" ".join(key(w) for w in line.split()) for line in _lines("areas.txt")) | _countries()


@functools.cache
def area_pattern() -> re.Pattern[str]:
    """The areas of more than one word, as written in a text ("Viet Nam", "Vale of
    Glamorgan", "Neath Port Talbot"), so no word of one is read as a name."""
    multi = sorted((a for a in known_areas() if " " in a), key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(r"[\s\-]+".join(map(re.escape, a.split())) for a in multi)
                      + r")(?![\w])", re.IGNORECASE)


def _countries() -> frozenset[str]:
    """Country names (pycountry's ISO 3166 list: "France", "Viet Nam", "Nigeria"), folded;
    read from the word lists' cache after the first process (pycountry's JSON: ~35 ms)."""
    from cdop.confidentiality.words import cached

    return cached("countries", _build_countries)


def _build_countries() -> frozenset[str]:
    import pycountry

    names = set()
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                names.add(" ".join(key(w) for w in value.replace(",", " ").split()))
    return frozenset(names | {"vietnam", "america", "usa", "us"})


@functools.cache
def label_pattern() -> re.Pattern[str]:
    """The labels and placeholders a pseudonymised text is written with (data/pseudonyms.toml:
    "Parent 1", "Sibling 2", "[person A]", "[place]"), as a pattern over the text, line
    breaks allowed where a PDF wraps a label ("Parent\\n1"): what the gate itself wrote is
    nobody's name or place."""
    from cdop.config import _default_pseudonyms

    numbered, bracketed = set(), set()
    for table in _default_pseudonyms().values():
        for label in table.values():
            head = label.split("{", 1)[0].strip()
            if label.startswith("["):
                bracketed.add(re.escape(head.strip("[]").strip()))
            elif "{n}" in label and head:
                numbered.add(r"\s+".join(map(re.escape, head.split())))
    return re.compile(r"(?<![\w])(?:(?:" + "|".join(sorted(numbered)) + r")\s+\d{1,2}(?![\w])"
                      + r"|\[(?:" + "|".join(sorted(bracketed)) + r")(?:\s+[A-Z]{1,2})?\])", re.IGNORECASE)
