"""Counts in words, the one way every page, email and command writes them: "1 working
day", "2 working days", "1 chronology entry". Ground layer: imports nothing of the CDOP."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` and the noun that agrees with it; the plural is `singular` + "s" unless given."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {noun}"
