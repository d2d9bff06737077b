"""The word lists the unrecorded layers keep as data (data/*.txt), loaded once."""

from __future__ import annotations

import functools
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
    """Nations, regions, counties and large cities (folded): naming one identifies nobody."""
    return frozenset(" ".join(key(w) for w in line.split()) for line in _lines("areas.txt"))
