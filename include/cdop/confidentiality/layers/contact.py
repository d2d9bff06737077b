"""Phone numbers and email addresses nobody recorded: both stop the release.

A phone number (parsed and validated by `phonenumbers`): a UK one written with its
trunk 0 or +44 / 0044, any other country's written with + or 00 ("+40 721 234 567",
"+234 803 123 4567"), a North American one as it is written there ("(202) 555-0143") --
unless it is one the document may carry (`policy.allowed_phones`: the
office's own); an email address, unless the document may carry it
(`policy.allowed_emails`, or a domain in `policy.allowed_email_domains`).
"""

from __future__ import annotations

import functools
import re

from cdop.confidentiality.folding import Finding

_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d \-().]{8,16}\d(?!\d)")
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def national_digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("44"):
        digits = digits[2:]
    elif digits.startswith("0044"):
        digits = digits[4:]
    return digits.lstrip("0")


@functools.cache
def _phonenumbers():
    import phonenumbers

    return phonenumbers


# A North American number written the way it is there: (202) 555-0143, 202-555-0143,
# 202.555.0143 (not with spaces: 3-3-4 with spaces is how an NHS number is written).
_NANP = re.compile(r"^(?:\+?1[ \-.]?)?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[\-.])[2-9]\d{2}[\-.]\d{4}$")


def _phone_number(candidate: str):
    """The parsed number if `candidate` is a phone number: a UK one written with its trunk
    0 or +44 / 0044, any country's written with + or 00, or a North American one."""
    pn = _phonenumbers()
    digits = re.sub(r"\D", "", candidate)
    try:
        if re.match(r"^(?:\+\s*44|0044|\(?0)", candidate):
            if candidate.startswith("00"):
                digits = digits[2:]  # "0044 ...": the international prefix dialled from abroad
            if not 10 <= len(digits) <= 13:
                return None
            number = pn.parse(candidate, "GB")
            uk = pn.is_valid_number(number) or (number.country_code == 44 and pn.is_possible_number(number)
                                                and str(number.national_number).startswith(("7", "1", "2", "3")))
            return number if uk else None
        if candidate.startswith(("+", "00")):
            number = pn.parse("+" + candidate.lstrip("+")[2 if candidate.startswith("00") else 0:], None)
            return number if pn.is_valid_number(number) else None
        if _NANP.match(candidate):
            number = pn.parse(candidate, "US")
            return number if pn.is_possible_number(number) else None
    except pn.NumberParseException:
        return None
    return None


def _phones(text: str, nhs_spans: list[tuple[int, int]], policy) -> list[Finding]:
    found = []
    allowed = getattr(policy, "allowed_phones", frozenset())
    for m in _PHONE_CANDIDATE.finditer(text):
        candidate = m.group(0).strip(" -.")
        if candidate.startswith("(") != (")" in candidate):
            candidate = candidate.strip("()")
        if any(s <= m.start() < e for s, e in nhs_spans):
            continue
        if national_digits(candidate) in allowed:
            continue
        if _phone_number(candidate) is not None:
            found.append(Finding("unrecorded.phone", "phone", m.start(), m.end(), "stop",
                                 confidence=0.9, layer="contact"))
    return found


def _email_allowed(address: str, policy) -> bool:
    address = address.lower().rstrip(".")
    domain = address.rsplit("@", 1)[-1]
    return (address in getattr(policy, "allowed_emails", ())
            or domain in getattr(policy, "allowed_email_domains", ()))


def contact_findings(text: str, policy, nhs_spans: list[tuple[int, int]]) -> list[Finding]:
    found = _phones(text, nhs_spans, policy) if re.search(r"\d{3}", text) else []
    for m in _EMAIL.finditer(text):
        if not _email_allowed(m.group(0), policy):
            found.append(Finding("unrecorded.email", "email", m.start(), m.end(), "stop",
                                 confidence=0.95, layer="contact"))
    return found
