"""Warned at source: before an agency submits, the text it typed that appears to name or
locate someone is shown back to it highlighted, with a plain request to refer to people
by role. The agency may still submit: the office decides.

The warning reveals nothing the agency did not type. It highlights spans of the agency's
own text, in the response to the session that typed it, and names each by its kind only
("a name", "an address"), never by whose it is. It is found by what anyone could see in
the text (names after a title, given names, addresses, postcodes, phone numbers, email
addresses, NHS numbers) and, on a secure route only, by the child's own name and dates,
which that page already shows: never by the family's or contacts' recorded identifiers,
so a highlight cannot confirm that a word the agency guessed is a sibling's name.

The coordinator's notice after submission names the field, the kind and the replacement
a pseudonymised draft would propose ("the child", "Sibling 1", "[person A]") -- never the
value.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdop.confidentiality.folding import Finding
from cdop.confidentiality.gate import Gate

REQUEST = ("Please refer to people by their role — e.g. 'the child', 'Mother', 'the GP' — the office "
           "will remove names before the panel sees it.")

KIND_WORDS = {"name": "a name", "text": "a name", "address": "an address", "postcode": "a postcode",
              "place": "a place", "phone": "a phone number", "email": "an email address",
              "nhs_number": "an NHS number", "date": "a date of birth or death"}
# The child's own, as the secure route's page shows them (nothing else recorded).
SHOWN_ON_A_SECURE_ROUTE = frozenset({"child.name", "child.forenames", "child.surname", "child.date_of_birth",
                                     "child.date_of_death"})
# What nobody recorded that is worth a warning: a date in a chronology's text is the
# agency's own business.
UNRECORDED_WARNED = frozenset({"name", "address", "postcode", "phone", "email", "nhs_number"})


@dataclass(frozen=True)
class Piece:
    text: str
    kind: str | None = None  # the plain words for what it appears to be; None: plain text


@dataclass(frozen=True)
class TextWarning:
    """One field of the form whose text appears to name or locate someone."""

    anchor: str  # the field's id on the page
    label: str  # the field's label
    pieces: tuple[Piece, ...]  # the agency's own text, in order, the spans marked
    kinds: tuple[str, ...]


def warning_gate(case, secure_route: bool, policy=None) -> Gate:
    """The gate the warning asks: see the module docstring for why only these."""
    identifiers = ()
    if secure_route:
        from cdop.confidentiality.identifiers import case_identifiers

        identifiers = tuple(i for i in case_identifiers(case) if i.field in SHOWN_ON_A_SECURE_ROUTE)
    return Gate(identifiers, policy=policy)


def _warned(found: list[Finding]) -> list[Finding]:
    kept, end = [], -1
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        recorded = not f.field.startswith("unrecorded.")
        if (recorded or f.kind in UNRECORDED_WARNED) and f.start >= end:
            kept.append(f)
            end = f.end
    return kept


def pieces(text: str, found: list[Finding]) -> tuple[Piece, ...]:
    out, at = [], 0
    for f in found:
        if f.start > at:
            out.append(Piece(text[at:f.start]))
        out.append(Piece(text[f.start:f.end], KIND_WORDS.get(f.kind, "a name or place")))
        at = f.end
    if at < len(text):
        out.append(Piece(text[at:]))
    return tuple(out)


def text_warnings(gate: Gate, texts: list[tuple[str, str, str]]) -> list[TextWarning]:
    """For each (anchor, label, text) the agency typed, the spans that appear to name or
    locate someone, if any."""
    warnings = []
    for anchor, label, text in texts:
        found = _warned(gate.findings(text)) if text else []
        if found:
            kinds = tuple(dict.fromkeys(KIND_WORDS.get(f.kind, "a name or place") for f in found))
            warnings.append(TextWarning(anchor, label, pieces(text, found), kinds))
    return warnings


# ------------------------------------------------------------ the coordinator's notice

UNRECORDED_PLACEHOLDERS = {"name": "[person {letter}]", "text": "[person {letter}]", "address": "[place]",
                           "postcode": "[place]", "place": "[place]", "phone": "[reference]",
                           "email": "[reference]", "nhs_number": "[reference]", "date": "[date]"}
_ROLE_LABELS = {"child": "the child", "home_address": "the home address", "school": "the school",
                "nursery": "the nursery", "workplace": "the workplace", "gp_practice": "the GP practice",
                "notifier": "the notifier", "previous_address": "a previous address",
                "other_address": "another address"}


def proposed_replacement(finding: Finding, letters: dict[str, str], text: str) -> str:
    """The label a pseudonymised draft puts in place of what was found: the recorded
    person's or place's role ("the child", "Sibling 1"), or a typed placeholder for what
    nobody recorded ("[person A]", the same letter for the same words within a return)."""
    if finding.role:
        base, _, number = finding.role.partition(":")
        if base in _ROLE_LABELS:
            return _ROLE_LABELS[base]
        return f"{base.replace('_', ' ').capitalize()}{' ' + number if number else ''}"
    pattern = UNRECORDED_PLACEHOLDERS.get(finding.kind, "[redacted]")
    if "{letter}" in pattern:
        key = " ".join(text[finding.start:finding.end].lower().split())
        letters.setdefault(key, chr(ord("A") + len(letters) % 26))
        return pattern.format(letter=letters[key])
    return pattern
