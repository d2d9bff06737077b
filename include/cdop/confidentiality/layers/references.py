"""Reference numbers nobody recorded: every one stops the release.

Validated where a check exists, anchored on context words where none does:

- NHS numbers: 10 digits (alone or 3-3-4) passing the Modulus 11 check.
- National Insurance numbers: two letters, six digits, a suffix A-D, under HMRC's prefix
  rules (first letter not D F I Q U V; second not D F I Q U V or O; never the prefixes
  BG GB NK KN TN NT ZZ). Upper case alone; lower case only after "NI" / "National
  Insurance".
- UK vehicle registrations: the current format (AB12 CDE: memory tag, an age identifier
  02-29 or 51-79, three letters) alone; the older prefix (A123 BCD), suffix (ABC 123D)
  and dateless forms only after "registration", "reg", "vehicle", "car", "van", "plate".
- Hospital numbers (after "hospital number", "MRN", "unit number", "patient number", or
  a trust code and digits such as "RXH1234567"); police references (after "crime
  reference", "crime number", "CAD", "incident number", "log number", "occurrence",
  "URN"); coroner's references (after "coroner's reference", "inquest reference").
- Any reference after a label that says whose it is ("Coroner's office reference",
  "PAS number", "Liquidlogic ID", "Our reference:", "Ref:", "Hospital: K1234567"), and
  one by its shape alone ("PM/25/0117", "INC-2025-44102", a crime number "47/20931/25",
  "RCHT number 7714290"); an operation's name ("Operation Kestrel") is a flag. A date, a
  year, a time, "101", "COVID-19", "2024/25" and the office's own case number are not.
"""

from __future__ import annotations

import re

from cdop.confidentiality.folding import Finding

_NHS = re.compile(r"(?<![\d+])(\d{3})[ \-]?(\d{3})[ \-]?(\d{4})(?![\d])")


def nhs_number_valid(digits: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; 11 -> 0; 10 is invalid."""
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


# ------------------------------------------------------------- National Insurance
_NI = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})[ \u00a0]?(\d{2})[ \u00a0]?(\d{2})[ \u00a0]?(\d{2})[ \u00a0]?([A-Da-d])"
                 r"(?![A-Za-z0-9])")
_NI_ANCHOR = re.compile(r"(?i:\bN\.?I\.?(?:\s+(?:no|number|num))?\.?|national\s+insurance(?:\s+(?:no|number))?\.?)"
                        r"\s*[:\-]?\s*$")
_NI_BAD_FIRST = set("DFIQUV")
_NI_BAD_SECOND = set("DFIQUVO")
_NI_BAD_PREFIX = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}


def ni_number_valid(value: str) -> bool:
    """HMRC's format: two prefix letters, six digits, suffix A-D, with the prefix rules."""
    m = re.fullmatch(r"([A-Z]{2})(\d{6})([A-D])", re.sub(r"\s", "", value.upper()))
    if not m:
        return False
    prefix = m[1]
    return (prefix[0] not in _NI_BAD_FIRST and prefix[1] not in _NI_BAD_SECOND
            and prefix not in _NI_BAD_PREFIX)


def _ni_numbers(text: str) -> list[tuple[int, int]]:
    found = []
    for m in _NI.finditer(text):
        value = m.group(0)
        if not ni_number_valid(value):
            continue
        if not (m[1].isupper() and m[5].isupper()) and not _NI_ANCHOR.search(text[max(0, m.start() - 40):m.start()]):
            continue
        found.append(m.span())
    return found


# ------------------------------------------------------------- vehicle registrations
_AGE = r"(?:0[2-9]|[12]\d|5[1-9]|[67]\d)"
_CURRENT_REG = re.compile(r"(?<![A-Za-z0-9])([A-HJ-PR-Y][A-HJ-PR-Y]" + _AGE + r")[ \u00a0]?([A-HJ-PR-Z]{3})(?![A-Za-z0-9])")
_OLD_REGS = (
    re.compile(r"(?<![A-Za-z0-9])[A-HJ-NPR-Y]\d{1,3}[ \u00a0]?[A-Z]{3}(?![A-Za-z0-9])"),  # prefix A123 BCD
    re.compile(r"(?<![A-Za-z0-9])[A-Z]{3}[ \u00a0]?\d{1,3}[A-HJ-NPR-Y](?![A-Za-z0-9])"),  # suffix ABC 123D
    re.compile(r"(?<![A-Za-z0-9])(?:[A-Z]{1,3}[ \u00a0]?\d{1,4}|\d{1,4}[ \u00a0]?[A-Z]{1,3})(?![A-Za-z0-9])"),  # dateless
)
_VEHICLE_ANCHOR = re.compile(
    r"(?i:\b(?:registration|reg(?:istration)?\.?\s*(?:no|number|mark|plate)?|vrm|vrn|number\s*plate|plate|"
    r"index|vehicle|car|van|lorry|motorbike|motorcycle|moped|taxi|tractor|bus))\b[^.\n]{0,25}$")


def _registrations(text: str) -> list[tuple[int, int]]:
    found = [m.span() for m in _CURRENT_REG.finditer(text)]
    taken = set(found)
    for pattern in _OLD_REGS:
        for m in pattern.finditer(text):
            if m.span() in taken or any(s <= m.start() < e for s, e in found):
                continue
            if not re.search(r"\d", m.group(0)) or not re.search(r"[A-Z]", m.group(0)):
                continue
            if _VEHICLE_ANCHOR.search(text[max(0, m.start() - 60):m.start()]):
                found.append(m.span())
                taken.add(m.span())
    return found


# ------------------------------------------------------------- anchored references
# A reference: letters, digits, slashes and dashes, with at least three digits.
_REF = r"((?=[A-Za-z0-9/\-]*\d[A-Za-z0-9/\-]*\d[A-Za-z0-9/\-]*\d)[A-Za-z0-9][A-Za-z0-9/\-]*[A-Za-z0-9](?:\s+of\s+\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?)?)"
_JOIN = r"\.?\s*(?:no\.?|number|num|ref\.?|reference)?\s*(?:is|was|:|#|-|\()?\s*"
_ANCHORED = {
    "hospital_number": re.compile(
        r"(?i:\b(?:hospital\s+(?:no|number|num|id)|mrn|unit\s+(?:no|number)|patient\s+(?:no|number|id)|"
        r"case\s+note\s+number|k\s+number))" + _JOIN + _REF),
    "police_reference": re.compile(
        r"(?i:\b(?:crime\s+(?:ref(?:erence)?|number|no|report\s+number)|cad|incident\s+(?:no|number|ref(?:erence)?|log)|"
        r"log\s+(?:no|number|ref(?:erence)?)|occurrence\s+(?:no|number|ref(?:erence)?)|urn|police\s+ref(?:erence)?|"
        r"storm\s+(?:log|ref(?:erence)?)|niche\s+(?:ref(?:erence)?|occurrence)))" + _JOIN + _REF),
    "coroner_reference": re.compile(
        r"(?i:\b(?:coroner['\u2019]?s?\s+(?:ref(?:erence)?|case\s+(?:no|number|ref(?:erence)?)|no|number)|"
        r"inquest\s+(?:ref(?:erence)?|no|number)))" + _JOIN + _REF),
}
# A reference label as agencies write it: whose reference (an agency, a record or "our"),
# up to two more words, a reference word ("Coroner's office reference", "ambulance
# service incident reference", "Athena ref", "PM number", "inquest (ref.", "Early Help
# case ref is", "Our reference:"). The kind follows whose it is.
_WHOSE = {
    "coroner_reference": r"coroner['\u2019]?s?|inquest|post[\s\-]?mortem|(?-i:PM)|autopsy|pathology|hmc",
    "police_reference": r"police|crime|occurrence|athena|niche|storm|pnc|cad|cris|urn",
    "hospital_number": r"hospital|hosp\.?|patient|case\s+notes?|medical\s+records?|mrn|trust|pas|epr|rio|systmone|emis",
    "other_reference": r"(?:local\s+)?authority|social\s+care|children['\u2019]?s\s+services|social\s+services|"
                       r"early\s+help|mash|court|ambulance(?:\s+service)?|housing|safeguarding|education|"
                       r"youth\s+(?:justice|offending)|probation|our|your|their|agency|file|mosaic|liquidlogic|lcs|eclipse",
}
_REF_WORD = r"(?:ref(?:erence)?s?|no|number|num|id|log|case|file|record)"
_LABELLED_REF = r"([A-Z][A-Za-z]{0,5}[ \-/]?(?=\d)[0-9][A-Za-z0-9/\-]*[A-Za-z0-9]|\d[A-Za-z0-9/\-]*[A-Za-z0-9](?:[ ]\d{3,})*)"
_LABELLED = re.compile(
    r"(?i:\b(?:(?:" + "|".join(f"(?P<{k}>{v})" for k, v in _WHOSE.items()) + r")"
    r"(?:(?:\s+(?!" + _REF_WORD + r"\b)[a-z']+){0,2}?[\s(]+" + _REF_WORD + r"\b(?:\s+(?:no|number|ref|reference))?"
    r"|(?=\s*[:#]))"  # or the label alone before a colon: "Hospital: K1234567"
    r"|(?P<bare>ref(?:erence)?(?:\s+(?:no|number))?(?=\.?\s*[:#]))))"  # "Ref: SC/7781/25"
    r"\.?\s*(?:is|was|:|#|-)?\s*(?P<value>" + _LABELLED_REF[1:])
# What a labelled value is not: a date, a year, a time, the office's own case number.
_NOT_A_REFERENCE = re.compile(r"(?i:\d{1,2}[/.\-]\d{1,2}(?:[/.\-]\d{2,4})?|(?:19|20)\d{2}|\d{1,2}[:.]\d{2}|CDOP\b.*)")


# A reference by its shape alone, where no label says whose it is: letters, then two
# groups of digits ("PM/25/0117", "INC-2025-44102"), or a police crime number
# ("47/20931/25"); and an agency's or trust's acronym before a number ("RCHT number
# 7714290"). "COVID-19", "NG143", "ICD-10", "2024/25" and the office's own case number
# are none of these.
_SHAPED = re.compile(r"(?<![\w/\-])(?:[A-Z]{2,5}[/\-]\d{2,6}[/\-]\d{2,7}|\d{1,3}/(?!(?:19|20)\d{2}/)\d{4,7}/\d{2})"
                     r"(?![\w/\-]|\.\d)")
_ACRONYM_NUMBER = re.compile(r"(?<![\w])(?!NHS\b|CDOP\b)[A-Z]{2,6}\s+(?:number|no\.?|ref(?:erence)?|id)\s*[:#]?\s*"
                             r"(\d{5,10}|[A-Z]{1,3}\d{5,10})(?![\w/\-])")


# A police operation's name ("Operation Kestrel", "Op. Nightjar"): national schemes
# (Operation Encompass) are in data/domain_terms.txt.
_OPERATION = re.compile(r"(?<![\w])(?:Operation|Op\.)\s+([A-Z][a-z]+)(?![\w'\u2019])")


def _shaped_references(text: str, taken: list[Finding]) -> list[Finding]:
    from cdop.confidentiality.layers.terms import domain_terms

    found = []
    for m in _OPERATION.finditer(text):
        if "operation " + m.group(1).lower() not in domain_terms() and m.group(1).lower() not in domain_terms():
            found.append(Finding("unrecorded.police_reference", "police_reference", m.start(), m.end(), "flag",
                                 confidence=0.5, layer="references"))
    spans = [(m.start(), m.end()) for m in _SHAPED.finditer(text) if not m.group(0).upper().startswith("CDOP")]
    spans += [m.span(1) for m in _ACRONYM_NUMBER.finditer(text)]
    for s, e in spans:
        if not any(f.start < e and s < f.end for f in [*taken, *found]):
            found.append(Finding("unrecorded.other_reference", "other_reference", s, e, "stop",
                                 confidence=0.6, layer="references"))
    return found


def _labelled_references(text: str, taken: list[Finding]) -> list[Finding]:
    found = []
    for m in _LABELLED.finditer(text):
        s, e = m.span("value")
        value = m.group("value")
        digits = sum(c.isdigit() for c in value)
        if digits < 3 or (digits == 3 and value.isdigit()) or _NOT_A_REFERENCE.fullmatch(value) \
                or any(f.start < e and s < f.end for f in taken):
            continue
        kind = next((k for k in _WHOSE if m.group(k)), "other_reference")
        found.append(Finding(f"unrecorded.{kind}", kind, s, e, "stop", confidence=0.8, layer="references"))
    return found


# A hospital number written the way trusts print it: a three-character ODS trust code
# (RXH, RA7, RVJ...) and 6-8 digits.
_TRUST_NUMBER = re.compile(r"(?<![A-Za-z0-9])R[A-Z][A-Z0-9]\d{6,8}(?![A-Za-z0-9])")


def reference_findings(text: str) -> list[Finding]:
    found: list[Finding] = []
    nhs_spans = []
    for m in _NHS.finditer(text):
        if nhs_number_valid(m[1] + m[2] + m[3]):
            nhs_spans.append(m.span())
            found.append(Finding("unrecorded.nhs_number", "nhs_number", m.start(), m.end(), "stop",
                                 confidence=0.95, layer="references"))
    for s, e in _ni_numbers(text):
        found.append(Finding("unrecorded.ni_number", "ni_number", s, e, "stop", confidence=0.9, layer="references"))
    for s, e in _registrations(text):
        found.append(Finding("unrecorded.vehicle_registration", "vehicle_registration", s, e, "stop",
                             confidence=0.8, layer="references"))
    for kind, pattern in _ANCHORED.items():
        for m in pattern.finditer(text):
            s, e = m.span(1)
            if any(a <= s < b for a, b in nhs_spans) or _NOT_A_REFERENCE.fullmatch(m.group(1)):
                continue
            found.append(Finding(f"unrecorded.{kind}", kind, s, e, "stop", confidence=0.85, layer="references"))
    found += _labelled_references(text, found)
    for m in _TRUST_NUMBER.finditer(text):
        if not any(f.start <= m.start() < f.end for f in found):
            found.append(Finding("unrecorded.hospital_number", "hospital_number", m.start(), m.end(), "stop",
                                 confidence=0.7, layer="references"))
    found += _shaped_references(text, found)
    return found


def nhs_spans(findings: list[Finding]) -> list[tuple[int, int]]:
    return [(f.start, f.end) for f in findings if f.kind == "nhs_number"]
