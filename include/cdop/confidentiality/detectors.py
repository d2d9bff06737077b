"""Identifiers nobody recorded: what the gate finds in a text whoever it belongs to.

Stops the release: a UK postcode (the Royal Mail / ONS format, with or without the
space), a 10-digit number passing the NHS Modulus 11 check (alone or 3-3-4 with spaces
or dashes), a UK phone number (parsed and validated by `phonenumbers`), an email address
that the document is not allowed to carry, a house number and street ("12 Acacia
Avenue", "Flat 3, 14 Mill Lane"), and -- in a document that gives timing relative to
the death (a case report's chronology and summaries) -- a calendar date other than the
document's own (the date it was built, a meeting date).

Flags (the coordinator decides): a capitalised word after a title (Mr, Mrs, Ms, Miss,
Mx, Dr, Prof...) or after a relation word (mother, grandmother, friend, neighbour...),
and a given name from a maintained list (`cdop.confidentiality.words.given_names`) that
is not an ordinary word and not part of an organisation's name ("Royal United Hospital",
"Avon and Somerset Police", "Grace Suite": a capitalised run ending in an organisation
word is a service, not a person).

What a document may carry is its `DocumentPolicy`, chosen per document kind
(`policy_for`): the detector is never weakened, the document's own dates and addresses
are allowed explicitly.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import re
from dataclasses import dataclass

from anyascii import anyascii

from cdop.confidentiality.folding import Finding, _fold
from cdop.confidentiality.words import COMMON_WORDS, ORGANISATION_WORDS, WORD_NAMES, given_names


@dataclass(frozen=True)
class DocumentPolicy:
    """What one kind of document may legitimately carry."""

    kind: str = "text"
    relative_timing: bool = False  # calendar dates stop it, but for `allowed_dates`
    allowed_dates: frozenset[dt.date] = frozenset()
    allowed_emails: frozenset[str] = frozenset()  # lower-case addresses
    allowed_email_domains: frozenset[str] = frozenset()  # e.g. the office's own domain
    allowed_phones: frozenset[str] = frozenset()  # digits, e.g. the office's own number
    names: bool = True  # look for unrecorded names (flags)


# Document kinds and whether they give timing relative to the death.
RELATIVE_TIMING = frozenset({"case_report", "chronology", "summary", "return_summary"})
DOCUMENT_KINDS = ("text", "case_report", "chronology", "summary", "panel_pack", "addendum",
                  "learning", "recommendation", "progress", "annual_report", "digest",
                  "notice", "email")


def policy_for(kind: str, *, allowed_dates=(), allowed_emails=(), office_domains=(),
               allowed_phones=()) -> DocumentPolicy:
    if kind not in DOCUMENT_KINDS:
        raise ValueError(f"document kind: must be one of {', '.join(DOCUMENT_KINDS)}")
    return DocumentPolicy(
        kind=kind, relative_timing=kind in RELATIVE_TIMING,
        allowed_dates=frozenset(allowed_dates),
        allowed_emails=frozenset(e.lower() for e in allowed_emails if e),
        allowed_email_domains=frozenset(d.lower().lstrip("@") for d in office_domains if d),
        allowed_phones=frozenset(_national_digits(p) for p in allowed_phones if p),
    )


def _national_digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("44"):
        digits = digits[2:]
    elif digits.startswith("0044"):
        digits = digits[4:]
    return digits.lstrip("0")


def office_policy(settings, kind: str, *, allowed_dates=(), allowed_emails=()) -> DocumentPolicy:
    """A document kind's policy for this office: the office's own addresses and number
    (and `allowed_emails`, e.g. agencies' directory addresses) are what it may carry."""
    p = settings.policy
    emails = {p.office.email, p.office.secure_email, p.coordinator_email, p.mail_from,
              *p.digest_recipients, *allowed_emails}
    return policy_for(kind, allowed_dates=allowed_dates, allowed_emails=emails,
                      office_domains=(p.mail_domain,), allowed_phones=(p.office.phone,))


DEFAULT_POLICY = DocumentPolicy()

# ------------------------------------------------------------------- stop detectors

_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(GIR ?0AA|(?:[A-PR-UWYZ](?:[0-9][0-9A-HJKPSTUW]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?))"
    r"[ \u00a0]?[0-9][ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_DATA_URI = re.compile(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=\s]+")
_ORDINAL = re.compile(r"\d(?:st|nd|rd|th)$", re.IGNORECASE)
_ORDINAL_NOUN = re.compile(r"[ \t]+[a-z]")
_NHS = re.compile(r"(?<![\d+])(\d{3})[ \-]?(\d{3})[ \-]?(\d{4})(?![\d])")
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d \-().]{8,16}\d(?!\d)")
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_STREET_WORDS = (r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Cl|Drive|Dr|Way|Crescent|Cres|Court|Ct|"
                 r"Gardens|Gdns|Grove|Place|Pl|Terrace|Walk|Rise|Mews|Hill|Row|Square|Sq|View|Park|"
                 r"Green|Parade|Vale|Meadow|Meadows|Fields|Croft|Chase|Wharf|Yard|Boulevard|Gate")
# A street named in one word ending in a street word: "40 Wellsway", "2 Broadway",
# "9 Southgate", "12 Kingsmead".
_ONE_WORD_STREET = r"[A-Z][a-z]+(?:way|gate|mead|side|croft)"
_ADDRESS = re.compile(
    r"(?<![\w])(?:(?:Flat|Apartment|Apt|Unit|Room)\s+\d+[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?,?\s+"
    r"(?:(?:[A-Z][A-Za-z'\u2019\-]+\s+){1,3}(?:" + _STREET_WORDS + r")|" + _ONE_WORD_STREET + r")\b\.?"
)
_MONTH_NAMES = (r"January|February|March|April|May|June|July|August|September|October|November|December|"
                r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec")
_DAY = r"(?:[0-2]?\d|3[01])(?:st|nd|rd|th)?"
_DATE_PATTERNS = (
    re.compile(r"(?<![\d/.\-])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d/\-]|\.\d)"),  # ISO
    re.compile(r"(?<![\d/.\-])(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?![\d/\-]|\.\d)"),  # d/m/y
    re.compile(r"(?<![\w])(" + _DAY + r")(?:\s+of)?[\s\-]+(" + _MONTH_NAMES + r")\b\.?,?(?:[\s\-]+('?\d{2}|\d{4})\b)?",
               re.IGNORECASE),
    re.compile(r"(?<![\w])(" + _MONTH_NAMES + r")\.?\s+(" + _DAY + r")\b,?(?:\s+(\d{4})\b)?", re.IGNORECASE),
)
_MONTH_NUMBER = {name: i + 1 for i, full in enumerate(
    "january february march april may june july august september october november december".split())
    for name in (full, full[:3], *(("sept",) if full == "september" else ()))}


def nhs_number_valid(digits: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; 11 -> 0; 10 is invalid."""
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _dates(text: str, policy: DocumentPolicy) -> list[Finding]:
    found = []
    for i, pattern in enumerate(_DATE_PATTERNS):
        for m in pattern.finditer(text):
            try:
                if i == 0:
                    y, mo, d = int(m[1]), int(m[2]), int(m[3])
                elif i == 1:
                    d, mo, y = int(m[1]), int(m[2]), int(m[3])
                    y = y + 2000 if y < 100 else y
                elif i == 2:
                    d = int(re.match(r"\d+", m[1])[0])
                    mo = _MONTH_NUMBER[m[2].lower()]
                    y = int(m[3].lstrip("'")) if m[3] else None
                    if y is not None and y < 100:
                        y += 2000
                else:
                    mo = _MONTH_NUMBER[m[1].lower()]
                    d = int(re.match(r"\d+", m[2])[0])
                    y = int(m[3]) if m[3] else None
                    if m[1].lower() == "may" and not m[1][0].isupper():
                        continue  # "may 3 ..." the verb
                if y is None:
                    dt.date(2000, mo, d)  # a real day and month
                    if any(a.month == mo and a.day == d for a in policy.allowed_dates):
                        continue
                else:
                    day = dt.date(y, mo, d)
                    if day in policy.allowed_dates:
                        continue
            except (ValueError, KeyError, TypeError):
                continue
            found.append(Finding("unrecorded.date", "date", m.start(), m.end(), "stop", layer="dates"))
    return found


@functools.cache
def _phonenumbers():
    import phonenumbers

    return phonenumbers


def _phones(text: str, nhs_spans: list[tuple[int, int]], policy: DocumentPolicy) -> list[Finding]:
    found = []
    for m in _PHONE_CANDIDATE.finditer(text):
        candidate = m.group(0).strip(" -.()")
        digits = re.sub(r"\D", "", candidate)
        if candidate.startswith("00"):
            digits = digits[2:]  # "0044 ...": the international prefix dialled from abroad
        if len(digits) < 10 or len(digits) > 13 or not re.match(r"^(?:\+\s*44|0044|\(?0)", candidate):
            continue  # a UK number is written with its trunk 0 or +44
        if any(s <= m.start() < e for s, e in nhs_spans):
            continue
        if _national_digits(candidate) in policy.allowed_phones:
            continue
        pn = _phonenumbers()
        try:
            number = pn.parse(candidate, "GB")
        except pn.NumberParseException:
            continue
        if pn.is_valid_number(number) or (number.country_code == 44 and pn.is_possible_number(number)
                                          and str(number.national_number).startswith(("7", "1", "2", "3"))):
            found.append(Finding("unrecorded.phone", "phone", m.start(), m.end(), "stop", layer="contact"))
    return found


def _email_allowed(address: str, policy: DocumentPolicy) -> bool:
    address = address.lower().rstrip(".")
    domain = address.rsplit("@", 1)[-1]
    return address in policy.allowed_emails or domain in policy.allowed_email_domains


# ------------------------------------------------------------------------ name flags

_TITLES = r"Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Prof|Professor|Sir|Dame|Rev|Revd|Reverend|Nurse|Sister|PC|DC|DS|Sgt"
_RELATIONS = (r"mother|father|mum|mummy|dad|daddy|aunt|auntie|aunty|uncle|grandmother|grandfather|"
              r"grandma|grandpa|granny|gran|grandad|granddad|nan|nana|nanna|grandparent|"
              r"friend|best friend|brother|sister|half-brother|half-sister|stepbrother|stepsister|"
              r"partner|boyfriend|girlfriend|husband|wife|stepfather|stepmother|step-father|"
              r"step-mother|stepdad|stepmum|cousin|neighbour|neighbor|carer|foster carer|son|"
              r"daughter|niece|nephew|godmother|godfather|babysitter|childminder|sibling|twin|"
              r"witness|lodger|flatmate|ex-partner|relative|called|named")
_CAP = r"[A-Z][a-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'\u2019\-]*|[A-Z]['\u2019][A-Z][a-z]+"
_TITLE_NAME = re.compile(r"\b(?:" + _TITLES + r")\.?\s+(" + _CAP + r")")
_RELATION_NAME = re.compile(r"(?i:\b(?:" + _RELATIONS + r"))(?:['\u2019]s)?,?\s+(" + _CAP + r")")
_CAP_WORD = re.compile(r"(?<![\w'\u2019])(" + _CAP + r")")
_RUN_CONNECTORS = frozenset({"and", "of", "for", "the", "&", "on", "upon", "in", "st", "st."})


_CAP_TOKEN = r"[A-Z\u00c0-\u00de][\w'\u2019\-&.]*"
_CAP_RUN = re.compile(_CAP_TOKEN + r"(?:[ \t]+(?:(?:and|of|for|the|&|on|upon|in)[ \t]+)*" + _CAP_TOKEN + r")*")
_WORD = re.compile(r"[\w'\u2019\-&.]+")


def _key(word: str) -> str:
    """A word as the lists hold it: lower case, transliterated, no trailing punctuation."""
    word = word if word.isascii() else anyascii(word)
    return word.lower().strip(".'\u2019-&")


def _organisation_spans(text: str) -> list[tuple[int, int]]:
    """Capitalised runs (connectors allowed inside) ending in an organisation word:
    "Royal United Hospital", "Avon and Somerset Police", "the Grace Suite"."""
    spans = []
    for run in _CAP_RUN.finditer(text):
        last = None
        for word in _WORD.finditer(run.group(0)):
            w = word.group(0)
            if w[0].isupper() and (_key(w) in ORGANISATION_WORDS or _key(w.split("'")[0]) in ORGANISATION_WORDS):
                last = word.end()
        if last is not None:
            spans.append((run.start(), run.start() + last))
    return spans


def _sentence_start(text: str, start: int) -> bool:
    k = start - 1
    while k >= 0 and text[k] in " \t\r":
        k -= 1
    return k < 0 or text[k] in ".!?:;\n\u2022*\"("


def _ordinary(word: str) -> bool:
    folded = _fold(word).strip()
    return (folded in ORGANISATION_WORDS or folded in COMMON_WORDS or folded in _NOT_NAMES
            or folded.split(" ")[0] in _NOT_NAMES)


# Capitalised words a report writes that are not names (roles, months, days, domain).
_NOT_NAMES = frozenset("""
mum dad mummy daddy nan coroner category case child baby infant the a an he she they his
her their it this that these those there then when where what who why how on in at by to
of for from with after before during following january february march april may june july
august september october november december monday tuesday wednesday thursday friday
saturday sunday christmas easter gp a&e paramedic paramedics nurse doctor consultant
registrar health visitor midwife social worker police officer teacher head headteacher
panel member chair lay learning recommendation recommendations summary chronology
outcome agency agencies review reviews report reporting form england wales scotland
british english muslim christian jewish hindu sikh catholic anglican cdop ncmd
sudi sudc dna no yes not none unknown year years month months week weeks day days age
aged family mother father parents parent carers carer brother sister sibling siblings
""".split())


# A possessive followed by a capitalised word: the name of a thing (a charity, a rule, a
# hospital) -- unless that word is itself a name or a relation ("Kyle's Mum").
_EPONYM = re.compile(r"['\u2019]s[ \t]+(?!(?:Mum|Dad|Mother|Father|Nan|Gran|Brother|Sister)\b)[A-Z][a-z]+")


class _Spans:
    """Sorted, non-overlapping spans; `covers(s, e)` in O(log n)."""

    def __init__(self, spans: list[tuple[int, int]]):
        self.spans = sorted(spans)
        self.starts = [a for a, _ in self.spans]

    def covers(self, s: int, e: int) -> bool:
        i = bisect.bisect_right(self.starts, s) - 1
        return i >= 0 and self.spans[i][0] <= s and e <= self.spans[i][1]

    def add(self, s: int, e: int) -> None:
        i = bisect.bisect_right(self.starts, s)
        self.starts.insert(i, s)
        self.spans.insert(i, (s, e))


def _name_flags(text: str) -> list[Finding]:
    found: list[tuple[int, int]] = []
    orgs = _Spans(_organisation_spans(text))
    for pattern in (_TITLE_NAME, _RELATION_NAME):
        for m in pattern.finditer(text):
            word = m.group(1)
            folded = _fold(word).strip()
            if len(word) < 2 or folded in ORGANISATION_WORDS or folded in _NOT_NAMES \
                    or orgs.covers(m.start(1), m.end(1)):
                continue
            found.append((m.start(), m.end()))
    taken = _Spans(found)
    names = given_names()
    for m in _CAP_WORD.finditer(text):
        word = m.group(1)
        if taken.covers(m.start(), m.start() + 1) or orgs.covers(m.start(), m.end()):
            continue
        folded = _key(word).split("'")[0].split("\u2019")[0]
        if folded not in names or folded in WORD_NAMES or _ordinary(word):
            continue
        if _EPONYM.match(text, m.end() - 2 if word.endswith(("'s", "\u2019s")) else m.end()):
            continue  # "Winston's Wish", "Martha's Rule": a name inside a named thing
        found.append((m.start(), m.end()))
    return [Finding("unrecorded.name", "name", s, e, "flag", confidence=0.5, layer="people") for s, e in found]


# ------------------------------------------------------------------------- the pass

def unrecorded_findings(text: str, policy: DocumentPolicy | None = None) -> list[Finding]:
    """What nobody recorded, found in `text` under `policy` (default: every detector,
    calendar dates allowed, no email address allowed)."""
    if not text:
        return []
    policy = policy or DEFAULT_POLICY
    # An embedded image (a chart as a data: URI) is not text anyone reads: blank it,
    # keeping positions.
    text = _DATA_URI.sub(lambda m: " " * len(m.group(0)), text)
    found: list[Finding] = []
    nhs_spans = []
    for m in _NHS.finditer(text):
        if nhs_number_valid(m[1] + m[2] + m[3]):
            nhs_spans.append((m.start(), m.end()))
            found.append(Finding("unrecorded.nhs_number", "nhs_number", m.start(), m.end(), "stop", layer="references"))
    for m in _POSTCODE.finditer(text):
        inward = m.group(1)[-3:]
        if _ORDINAL.search(m.group(1)[:-1].rstrip()):
            continue
        if _ORDINAL.search(inward[:3]) and _ORDINAL_NOUN.match(text, m.end()):
            continue  # "Ward B3 4th floor": an ordinal before its noun; "B33 8TH" alone is a postcode
        found.append(Finding("unrecorded.postcode", "postcode", m.start(), m.end(), "stop", layer="places"))
    if re.search(r"\d{3}", text):
        found.extend(_phones(text, nhs_spans, policy))
    for m in _EMAIL.finditer(text):
        if not _email_allowed(m.group(0), policy):
            found.append(Finding("unrecorded.email", "email", m.start(), m.end(), "stop", layer="contact"))
    for m in _ADDRESS.finditer(text):
        found.append(Finding("unrecorded.address", "address", m.start(), m.end(), "stop", layer="places"))
    if policy.relative_timing:
        found.extend(_dates(text, policy))
    if policy.names:
        found.extend(_name_flags(text))
    return found
