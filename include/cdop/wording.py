"""Counts in words, the one way every page, email and command writes them: "1 working
day", "2 working days", "1 chronology entry". Ground layer: imports nothing of the CDOP."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` and the noun that agrees with it; the plural is `singular` + "s" unless given."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {noun}"


def nhs_number(value: str | None) -> str:
    """An NHS number as people write and read it: 3-3-4 digits with spaces
    ("943 476 5919"); anything that is not ten digits is left as it is."""
    if not value:
        return ""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) != 10 or len(digits) != len(value.replace(" ", "").replace("-", "")):
        return value
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
