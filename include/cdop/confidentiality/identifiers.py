"""What the gate looks for in one case: the child's identifiers and those recorded for the
family and contacts, each as the kind of identifier it is (name, date, NHS number,
postcode, address, text), and the gate built from them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdop.confidentiality.decisions import NOT_IDENTIFIER
from cdop.confidentiality.folding import _fold
from cdop.confidentiality.gate import Gate, Identifier
from cdop.confidentiality.words import (
    COMMON_WORDS,
    GENERIC_PLACE_WORDS,
    WORD_NAMES,
    given_names,
    is_english_word,
)
from cdop.store.models import Case, CaseIdentifier, GateDecision
from cdop.validation import Problem


def case_identifiers(case, extra: Iterable[tuple[str, str]] = ()) -> tuple[Identifier, ...]:
    """The identifiers of a case (a models.Case) and of its family and contacts.

    `extra` holds (field, value) pairs from CaseIdentifier rows: the field name says
    the kind (…_name, …date_of_birth / …_date, …postcode, …address, school / workplace /
    nursery / employer / gp_practice / house_name as a place, anything else as text).
    """
    found: list[Identifier] = [
        Identifier("child.name", f"{case.forenames} {case.surname}", "name"),
        Identifier("child.date_of_birth", case.date_of_birth, "date"),
    ]
    found += [Identifier("child.surname", part, "name") for part in surname_parts(case.surname)]
    found += [Identifier("child.forenames", part, "name") for part in forename_parts(case.forenames)]
    date_of_death = getattr(case, "date_of_death", None)
    if date_of_death:
        value = date_of_death.isoformat() if hasattr(date_of_death, "isoformat") else str(date_of_death)
        found.append(Identifier("child.date_of_death", value, "date"))
    if case.nhs_number:
        found.append(Identifier("child.nhs_number", case.nhs_number, "nhs_number"))
    if case.postcode:
        found.append(Identifier("child.postcode", case.postcode, "postcode"))
    if case.address:
        found.extend(_address_identifiers("child.address", case.address))
    if getattr(case, "notifier_name", None):
        found.extend(_name_identifiers("notifier_name", case.notifier_name))
    for field, value in extra:
        found.extend(_classify(field, value))
    return tuple(_unique(with_roles(found)))


# The roles of what a case records, keyed by the field's stem: a person or place that can
# recur (two siblings, two schools) is numbered in the order it was recorded ("sibling:2");
# a date or postcode of such a person says the role without a number (which of two
# siblings a date of birth belongs to is not recorded).
_ROLE_OF_STEM = {"parent": "parent", "carer": "carer", "sibling": "sibling", "relative": "relative",
                 "contact": "contact", "professional": "professional", "notifier": "notifier",
                 "previous": "previous_address", "other": "other_address"}
_NUMBERED = frozenset({"parent", "carer", "sibling", "relative", "contact", "professional",
                       "school", "nursery", "workplace", "previous_address", "other_address"})


def role_base(field: str) -> str:
    """The role a recorded field belongs to: "child.surname" -> "child", "child.address" ->
    "home_address", "sibling_name" -> "sibling", "school" -> "school"."""
    name = field.lower()
    if name.startswith("child."):
        return "home_address" if name.endswith(("address", "postcode")) else "child"
    stem = name.split("_", 1)[0]
    if any(name == p or name.startswith(p) for p in PLACE_FIELDS):
        return stem
    return _ROLE_OF_STEM.get(stem, stem)


def with_roles(found: list[Identifier]) -> list[Identifier]:
    """Each identifier with its role key (Finding.role): the same person or place keeps
    one number for all its forms (whole name, each part), in the order recorded."""
    numbers: dict[tuple[str, str], int] = {}
    counts: dict[str, int] = {}
    out: list[Identifier] = []
    owner = None  # the whole value the parts that follow it belong to
    for ident in found:
        base = role_base(ident.field)
        if base not in _NUMBERED or ident.kind in ("date", "postcode"):
            out.append(replace(ident, role=base))
            continue
        if owner is None or owner[0] != ident.field or not _part_of(ident.value, owner[1]):
            owner = (ident.field, ident.value)
        key = (base, _fold(owner[1]).strip())
        if key not in numbers:
            counts[base] = counts.get(base, 0) + 1
            numbers[key] = counts[base]
        out.append(replace(ident, role=f"{base}:{numbers[key]}"))
    return out


def _part_of(part: str, whole: str) -> bool:
    return _fold(part).strip() in _fold(whole)


def _unique(found: list[Identifier]) -> list[Identifier]:
    seen, out = set(), []
    for ident in found:
        key = (ident.field, ident.value.strip().lower() if ident.value else "", ident.kind)
        if ident.value and key not in seen:
            seen.add(key)
            out.append(ident)
    return out


_TITLE = re.compile(r"^(?:mr|mrs|ms|miss|mx|dr|prof|professor|sir|dame|rev|revd)\.?$", re.IGNORECASE)
_PARTICLES = frozenset("o mc mac de da di du van von der den la le st al el ap ni nic ui".split())


def _parts(value: str) -> list[str]:
    """Each part of a name split on spaces and hyphens (Wiśniewski-Ó Briain: Wiśniewski,
    Ó Briain, Briain), titles dropped; parts of fewer than 3 letters (once folded) are
    too short to mean anything alone, but a particle stays joined to what follows."""
    words = [w for w in re.split(r"\s+", value.strip()) if w and not _TITLE.match(w)]
    parts: list[str] = []
    for word in words:
        parts.extend(p for p in word.split("-") if p)
    out: list[str] = []
    for i, part in enumerate(parts):
        folded = _fold(part).strip()
        if folded in _PARTICLES and i + 1 < len(parts):
            out.append(f"{part} {parts[i + 1]}")  # "Ó Briain" (and "O Briain", "OBriain")
            continue
        if len(folded.replace(" ", "")) >= 3:
            out.append(part)
    return out


def surname_parts(surname: str) -> list[str]:
    """The surname whole and each part of a hyphenated, spaced or double-barrelled one."""
    return [surname.strip(), *(p for p in _parts(surname) if p.strip() != surname.strip())]


def forename_parts(forenames: str) -> list[str]:
    return _parts(forenames)


def _name_identifiers(field: str, value: str) -> list[Identifier]:
    """A recorded person's name whole, forename alone, surname alone (and every part)."""
    found = [Identifier(field, value, "name")]
    found += [Identifier(field, part, "name") for part in _parts(value)]
    words = [w for w in value.split() if not _TITLE.match(w)]
    if len(words) > 2:
        found.append(Identifier(field, " ".join(words[-2:]), "name"))  # a two-word surname
    return found


_HOUSE_NUMBER = re.compile(r"^(?:(?:flat|apartment|apt|unit)\s*\d+[a-z]?,?\s*)?\d+[a-z]?(?:\s*-\s*\d+)?,?\s+",
                           re.IGNORECASE)


# The street words people abbreviate (Royal Mail's list, in the forms written on letters).
_STREET_ABBREVIATIONS = {
    "road": ("rd",), "street": ("st",), "avenue": ("ave", "av"), "lane": ("ln",), "close": ("cl",),
    "drive": ("dr",), "crescent": ("cres",), "court": ("ct",), "gardens": ("gdns",), "place": ("pl",),
    "square": ("sq",), "terrace": ("terr", "tce"), "grove": ("gr",), "parade": ("pde",),
    "mount": ("mt",), "park": ("pk",),
}
_STREET_WORD = {abbr: word for word, abbrs in _STREET_ABBREVIATIONS.items() for abbr in abbrs}


def _street_forms(street: str) -> list[str]:
    """A street as recorded and with its last word abbreviated or spelt out ("Stapleton
    Road", "Stapleton Rd")."""
    head, _, last = street.strip().rpartition(" ")
    key = _fold(last).strip()
    if not head:
        return [street]
    others = _STREET_ABBREVIATIONS.get(key, ()) + ((_STREET_WORD[key],) if key in _STREET_WORD else ())
    return [street, *(f"{head} {o}" for o in others)]


def _address_identifiers(field: str, address: str) -> list[Identifier]:
    """The whole address, each line with a street (with and without its number), and a
    house name (a first line without a number)."""
    parts = [p.strip() for p in re.split(r"[,\n]", address) if p.strip()]
    found = [Identifier(field, address, "address")]
    flat = False
    for i, part in enumerate(parts[:4]):
        if re.match(r"^(?:flat|apartment|apt|unit|plot|pitch)\s*\d+[a-z]?$", part, re.IGNORECASE):
            flat = True
            if i == 0 and re.match(r"^(?:plot|pitch)", part, re.IGNORECASE) and len(parts) > 1:
                found.append(Identifier(field, part, "place"))  # a site's plot: as a house name
            continue  # "Flat 3" alone says nothing
        if flat and i == 1 and not re.search(r"\d", part) and len(part.split()) >= 2 and len(parts) > 2:
            # "Flat 3, Hollis House, 12 Mill Lane": the building alone names the home;
            # "Plot 6, Meadow View Caravan Site": the site, and the site without its
            # generic words ("Meadow View").
            found.append(Identifier(field, part, "place", layer="derived", confidence=0.9, how="building"))
            head = site_head(part)
            if head:
                found.append(Identifier(field, head, "place", layer="derived", confidence=0.7, how="site"))
            continue
        if not re.search(r"[A-Za-z]", part) or len(part) < 6:
            break
        street = _HOUSE_NUMBER.sub("", part).strip()
        if street != part:
            found += [Identifier(field, form, "address") for form in _street_forms(part)]  # number and street
            if len(street) >= 6 and len(street.split()) >= 2:
                found += [Identifier(field, form, "address") for form in _street_forms(street)]  # street alone
        elif i == 0 and len(parts) > 1:
            found.append(Identifier(field, part, "place"))  # a house name
            if len(parts) > 2 and len(parts[1].split()) >= 2 and not re.match(r"^\d", parts[1]):
                found += [Identifier(field, form, "address") for form in _street_forms(parts[1])]  # its street
                break
        else:
            break  # the town and what follows identify nobody alone
    return found


# The generic words of a residential site's name, longest first.
_SITE_WORDS = ("mobile home park", "residential park", "caravan site", "caravan park", "park homes",
               "holiday park", "travellers site", "travellers' site", "traveller site", "site", "park")


def site_head(building: str) -> str | None:
    """A site's or park's name without its generic words ("Meadow View" of "Meadow View
    Caravan Site", "Willow Bank" of "Willow Bank Park Homes"), if two words or more remain
    (one word alone, "Meadow", names too many places)."""
    words = building.split()
    low = _fold(building).strip()
    for generic in _SITE_WORDS:
        if low.endswith(" " + generic):
            head = words[:len(words) - len(generic.split())]
            return " ".join(head) if len(head) >= 2 else None
    return None


def place_names(value: str) -> list[str]:
    """A school's or workplace's name and the forms people write it in: generic words
    dropped ("Oakfield" for "Oakfield Primary School"), but never reduced to a word too
    generic to mean anything (the remainder must hold a non-generic word of >= 3 letters,
    and a common word alone, like "Oak", keeps its pair)."""
    return [form for form, _ in _place_forms(value)]


def _place_forms(value: str) -> list[tuple[str, bool]]:
    """place_names, each form saying whether it is one word of a longer name (which
    counts alone only outside another capitalised name, and never when it is an ordinary
    English word: "Down" of "Combe Down Surgery")."""
    whole = value.strip()
    forms = [whole]
    singles: list[str] = []
    folded = _fold(whole).strip()
    reduced = f" {folded} "
    for generic in GENERIC_PLACE_WORDS:
        reduced = reduced.replace(f" {_fold(generic).strip()} ", " ")
        reduced = reduced.replace(f" {_fold(generic).strip()} ", " ")
    rest = [w for w in reduced.split() if w != "s"]
    distinctive = [w for w in rest if len(w) >= 3 and w not in COMMON_WORDS]
    if rest and rest != folded.split():
        if distinctive:
            forms.append(" ".join(rest))
            if len(rest) > 1:
                names = given_names()
                singles = [w for w in distinctive if len(w) >= 4 and w not in names and w not in WORD_NAMES
                           and not is_english_word(w)]
        elif len(rest) == 1 and len(folded.split()) > 1:
            # "Oak Academy": "Oak" is a common word; keep it with the next word.
            words = folded.split()
            i = words.index(rest[0]) if rest[0] in words else 0
            if i + 1 < len(words):
                forms.append(" ".join(words[i:i + 2]))
    out = dict.fromkeys(forms, False) | {w: True for w in singles if w not in forms}
    return list(out.items())


PLACE_FIELDS = ("school", "nursery", "college", "workplace", "employer", "gp_practice", "practice",
                "surgery", "club", "church", "house_name", "place")


def _classify(field: str, value: str) -> list[Identifier]:
    name = field.lower()
    if name.endswith("date_of_birth") or name.endswith("_date") or name.endswith("date_of_death"):
        return [Identifier(field, value, "date")]
    if name.endswith("nhs_number"):
        return [Identifier(field, value, "nhs_number")]
    if name.endswith("postcode"):
        return [Identifier(field, value, "postcode")]
    if "address" in name:
        return _address_identifiers(field, value)
    if name.endswith("name") and not name.endswith("house_name"):
        return _name_identifiers(field, value)
    if any(name == p or name.endswith("_" + p) or name.startswith(p) for p in PLACE_FIELDS):
        own = frozenset(_fold(value).split())
        return [Identifier(field, form, "place", own if single else frozenset())
                for form, single in _place_forms(value)]
    return [Identifier(field, value, "text")]


def case_gate(session: Session, case: Case, extra: Iterable[tuple[str, str]] = (), *,
              document: str | Iterable[str] | None = None, policy=None) -> Gate:
    """The anonymisation gate for one case: the child's identifiers and those recorded for
    the family and contacts (plus `extra`, e.g. ones being recorded now); with `document`
    (a kind, or several: a text published in one document that was entered in another),
    the flags the coordinator marked "not an identifier" in it are dismissed."""
    # Read through the tables' columns (the values decrypted by their column types): no
    # ORM mapper is configured for it, which is most of a one-off check's database cost.
    ids, decisions = CaseIdentifier.__table__.c, GateDecision.__table__.c
    recorded = session.execute(
        select(ids.field, ids.value).where(ids.case_id == case.id).order_by(ids.id)
    ).all()
    dismissed: frozenset[str] = frozenset()
    if document is not None and case.id is not None:
        dismissed = frozenset(session.scalars(
            select(decisions.fingerprint).where(
                decisions.case_id == case.id,
                decisions.document.in_((document,) if isinstance(document, str) else tuple(document)),
                decisions.decision == NOT_IDENTIFIER)
        ))
    return Gate(case_identifiers(case, [*((f, v) for f, v in recorded), *extra]),
                policy=policy, dismissed=dismissed)


def identifier_problem(gate: Gate, field: str, text: str | None, row: int | None = None) -> Problem | None:
    """A Problem naming `field` and the identifier field(s) found in `text`, if any."""
    if not text:
        return None
    found = gate.scan(text)
    if found:
        return Problem(field, f"contains an identifier ({', '.join(found)}): refer to people by their role", row)
    flags = sorted({f.field for f in gate.flags(text)})
    if flags:
        return Problem(field, f"may name someone ({', '.join(flags)}, flagged): refer to people by "
                              "their role, or mark it not an identifier with `cdop gate decide`", row)
    return None
