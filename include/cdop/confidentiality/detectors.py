"""Identifiers nobody recorded: what the gate finds in a text whoever it belongs to,
in layers (one module each under cdop.confidentiality.layers), combined here into one
list of findings (each with its span, kind, severity, confidence and layer; role None):

- references (stop): NHS numbers (Modulus 11), National Insurance numbers (HMRC's
  prefix rules), vehicle registrations, hospital numbers, police and coroner's
  references (anchored on their context words);
- contact (stop): UK phone numbers (validated by `phonenumbers`), email addresses the
  document may not carry;
- places: postcodes, house numbers and streets, streets without a number, Welsh
  streets, schools and nurseries, foreign and multi-line postal addresses (stop); shops
  and businesses, villages and towns the model finds (flag);
- dates (stop, in a document that gives timing relative to the death): every calendar
  date other than the document's own, in English and Welsh;
- people (flag): names after a title, relation word or naming phrase; PERSON entities of
  a statistical model (spaCy's English small pipeline, loaded lazily once per process)
  checked against multicultural name lists; given names from the lists;
- circumstance (flag, "could identify by circumstance"): an exact date or time joined to
  a named event or place.

Where two findings overlap, a stop wins over a flag and, among flags, the more certain.
What a document may carry is its `DocumentPolicy`, chosen per document kind
(`policy_for`): the detectors are never weakened, the document's own dates, addresses
and places are allowed explicitly.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cdop.confidentiality.folding import Finding
from cdop.confidentiality.layers._text import Spans
from cdop.confidentiality.layers.circumstance import MESSAGE as CIRCUMSTANCE_MESSAGE
from cdop.confidentiality.layers.circumstance import circumstance_findings
from cdop.confidentiality.layers.contact import contact_findings, national_digits
from cdop.confidentiality.layers.dates import date_findings
from cdop.confidentiality.layers.places import place_findings
from cdop.confidentiality.layers.references import nhs_number_valid, nhs_spans, reference_findings
from cdop.confidentiality.layers.terms import label_pattern

__all__ = ["DOCUMENT_KINDS", "DEFAULT_POLICY", "MESSAGES", "RELATIVE_TIMING", "DocumentPolicy", "nhs_number_valid",
           "office_policy", "policy_for", "unrecorded_findings"]


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
    allowed_places: frozenset[str] = frozenset()  # places the document may name (the office's own)


# Document kinds and whether they give timing relative to the death.
RELATIVE_TIMING = frozenset({"case_report", "chronology", "summary", "return_summary"})
DOCUMENT_KINDS = ("text", "case_report", "chronology", "summary", "panel_pack", "addendum",
                  "learning", "recommendation", "progress", "annual_report", "digest",
                  "notice", "email")


def policy_for(kind: str, *, allowed_dates=(), allowed_emails=(), office_domains=(),
               allowed_phones=(), allowed_places=()) -> DocumentPolicy:
    if kind not in DOCUMENT_KINDS:
        raise ValueError(f"document kind: must be one of {', '.join(DOCUMENT_KINDS)}")
    return DocumentPolicy(
        kind=kind, relative_timing=kind in RELATIVE_TIMING,
        allowed_dates=frozenset(allowed_dates),
        allowed_emails=frozenset(e.lower() for e in allowed_emails if e),
        allowed_email_domains=frozenset(d.lower().lstrip("@") for d in office_domains if d),
        allowed_phones=frozenset(national_digits(p) for p in allowed_phones if p),
        allowed_places=frozenset(p for p in allowed_places if p),
    )


def office_policy(settings, kind: str, *, allowed_dates=(), allowed_emails=()) -> DocumentPolicy:
    """A document kind's policy for this office: the office's own addresses and number
    (and `allowed_emails`, e.g. agencies' directory addresses) are what it may carry."""
    p = settings.policy
    emails = {p.office.email, p.office.secure_email, p.coordinator_email, p.mail_from,
              *p.digest_recipients, *allowed_emails}
    return policy_for(kind, allowed_dates=allowed_dates, allowed_emails=emails,
                      office_domains=(p.mail_domain,), allowed_phones=(p.office.phone,),
                      allowed_places=(p.office.name,))


DEFAULT_POLICY = DocumentPolicy()

# What the coordinator reads beside a finding of each kind (where more than its kind).
MESSAGES = {"circumstance": CIRCUMSTANCE_MESSAGE}

_DATA_URI = re.compile(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=\s]+")


def _model_entities(text: str):
    from cdop.confidentiality.layers.model import entities

    return entities(text)


def _resolve(found: list[Finding]) -> list[Finding]:
    """Where findings overlap, a stop wins over a flag, and among flags the more certain
    (then the longer); stops are all kept (each names its kind), and so are
    circumstances (a sentence's worth, saying something no single finding in it says)."""
    stops = sorted((f for f in found if f.severity == "stop"), key=lambda f: f.start)
    flags = sorted((f for f in found if f.severity == "flag" and f.kind != "circumstance"),
                   key=lambda f: (-f.confidence, f.start - f.end))
    kept: list[Finding] = [f for f in found if f.kind == "circumstance"]
    taken = Spans((f.start, f.end) for f in stops)
    for f in flags:
        if taken.overlaps(f.start, f.end):
            continue
        taken.add(f.start, f.end)
        kept.append(f)
    return stops + kept


def unrecorded_findings(text: str, policy: DocumentPolicy | None = None, *, flags: bool = True) -> list[Finding]:
    """What nobody recorded, found in `text` under `policy` (default: every detector,
    calendar dates allowed, no email address allowed). `flags=False` leaves out the
    layers that only flag (people, circumstance, businesses, villages): what a caller
    that wants only the stops need not pay for (the model)."""
    if not text:
        return []
    policy = policy or DEFAULT_POLICY
    # An embedded image (a chart as a data: URI) is not text anyone reads: blank it,
    # keeping positions.
    text = _DATA_URI.sub(lambda m: " " * len(m.group(0)), text)
    found = reference_findings(text)
    found += contact_findings(text, policy, nhs_spans(found))
    entities = ()
    if flags and policy.names:
        from cdop.confidentiality.layers.people import might_name_someone

        if might_name_someone(text):
            entities = _model_entities(text)
    labels = Spans(m.span() for m in label_pattern().finditer(text))
    if labels.spans:
        entities = tuple(e for e in entities if not labels.overlaps(e[0], e[1]))
    places = place_findings(text, policy, model_entities=entities)
    if not flags:
        places = [f for f in places if f.severity == "stop"]
    found += places
    dates = date_findings(text, policy)
    found += dates
    if flags:
        if policy.names:
            from cdop.confidentiality.layers.people import people_findings

            found += people_findings(text, model_entities=entities)
        found += circumstance_findings(
            text, date_spans=[(f.start, f.end) for f in dates],
            place_spans=[(f.start, f.end) for f in places if f.kind in ("street", "school", "business", "place", "address")])
    return _resolve([f for f in found if not (f.severity == "flag" and labels.overlaps(f.start, f.end))])
