"""The anonymisation gate at the scale of a year: every output against every identifier
of every case in the year (and their family's and contacts').

A national-scale year has thousands of cases and tens of thousands of identifiers;
`cdop.confidentiality.gate.Gate.scan` tries each one against the text (a regular expression
for each name). `YearGate` keeps the gate's exact rules but first narrows the
identifiers to those that *could* match, using facts every real match implies:

* a name, address or text matches only as whole words whose letters, joined without
  the separators between them, equal the value's letters joined (the gate lets a name
  split or run together across words), so the joined value must be one of the text's
  runs of consecutive words joined;
* a date matches only in one of its written forms, every word of which is a word of
  the text;
* a postcode matches only as one or two consecutive words;
* an NHS number matches only inside a run of digits and separators.

(plural and possessive forms are indexed too). What nobody recorded (postcodes, phone
numbers, names after a title...) does not depend on the identifiers: the real Gate looks
for it in each document whatever the narrowed set. The narrowed set then goes through
the real Gate, so what is found (and the message, naming fields only) is exactly what
`Gate` would find.

Flags (names nobody recorded) in the case's free text the report publishes -- learning
and recommendations -- hold the report too (`hold_for_flags`, `ReportHeld`): each is
checked with its own case's gate, and the coordinator decides it for that case and the
annual report (`cdop gate held`, `cdop gate resolve`), as on a case report.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cdop.confidentiality.derived import derived_date_forms, derived_identifiers
from cdop.confidentiality.documents import FLAG_SUFFIX
from cdop.confidentiality.folding import Finding
from cdop.confidentiality.gate import Gate, Identifier, _fold, date_forms

MAX_JOINED = 48  # longest joined value indexed; longer ones always go to the real gate


class ReportBlocked(RuntimeError):
    """Release blocked: the message names documents, places (section or table, row or
    line) and fields, never values. `located` holds each finding's place and fingerprint
    (cdop.confidentiality.held.PlacedFinding), for the coordinator to release a false alarm."""

    def __init__(self, year: int, findings: dict[str, list[str]], located: list | None = None,
                 what: str = "annual report"):
        self.findings = findings
        self.located = list(located or [])
        detail = "; ".join(f"{doc}: {', '.join(fields)}" for doc, fields in sorted(findings.items()))
        places = ""
        if self.located:
            shown = [f.describe() for f in self.located[:12]]
            more = len(self.located) - len(shown)
            places = (" -- where: " + "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
                      + ". A false alarm is released with `cdop gate held` then `cdop gate release "
                      "ID --reason ...`, or on the held-findings page")
        super().__init__(
            f"{what} {year}: not released, blocked by the anonymisation gate "
            f"(matched field(s): {detail}){places}"
        )


def _date_key(ident: Identifier) -> str:
    """A date's written forms are kept by value, and apart for its Welsh and foreign forms."""
    value = (ident.value or "").strip()
    return f"{ident.how}:{value}" if ident.how else value


def _digit_windows(raw: str) -> set[str]:
    windows = set()
    for chunk in re.findall(r"\d(?:[\s.\-]?\d)*", raw):
        digits = re.sub(r"\D", "", chunk)
        windows.update(digits[i:i + 10] for i in range(len(digits) - 9))
    return windows


class YearGate:
    """Indexes every identifier once by the text it needs to appear as; a document is
    then looked up by its own runs of words, so a scan costs what the document costs,
    not what the number of identifiers costs."""

    def __init__(self, identifiers: Iterable[Identifier], policy=None):
        import datetime as dt

        self.identifiers = tuple(identifiers)
        self.policy = policy
        self._by_run: dict[str, list[Identifier]] = {}  # names, texts, addresses, postcodes
        self._by_digits: dict[str, list[Identifier]] = {}
        self._by_form: dict[str, list[Identifier]] = {}  # a date's written forms
        self._always: list[Identifier] = []  # too long to index: always checked
        self._forms: dict[str, list[tuple[str, ...]]] = {}
        self._longest_form = 0
        # A date the document carries as its own (policy.allowed_dates: a meeting, the
        # year's period) is that, not a child's date: Gate's own rule.
        own = {d.isoformat() for d in getattr(policy, "allowed_dates", ())}
        # The exact forms derived from them (nicknames, Welsh mutations and dates, other
        # scripts, streets without their road word) are indexed too: the narrowed set
        # then holds the derived identifier, which the Gate matches by its own rules.
        # (Initials, misspellings and names inside handles are sought by the case's own
        # gate, not here: they are patterns, not forms to index.)
        for ident in self.identifiers + tuple(derived_identifiers(self.identifiers)):
            value = (ident.value or "").strip()
            if not value or (ident.kind == "date" and value in own):
                continue
            if ident.kind == "nhs_number":
                self._by_digits.setdefault(re.sub(r"\D", "", value), []).append(ident)
            elif ident.kind == "date":
                key = _date_key(ident)
                if key not in self._forms:
                    try:
                        day = dt.date.fromisoformat(value)
                    except ValueError:
                        self._forms[key] = []
                    else:
                        written = derived_date_forms(day, ident.how) if ident.how else date_forms(day)
                        self._forms[key] = [tuple(f.split()) for f in written]
                for form in self._forms[key]:
                    self._by_form.setdefault(" ".join(form), []).append(ident)
                    self._longest_form = max(self._longest_form, len(form))
            elif ident.kind == "postcode":
                code = re.sub(r"[^A-Za-z0-9]", "", value).lower()
                self._by_run.setdefault(code, []).append(ident)
            else:
                joined = _fold(value).replace(" ", "")
                if len(joined) > MAX_JOINED:
                    self._always.append(ident)
                elif joined:
                    # As written, and in its plural and possessive forms (Gate allows
                    # "Quennells", "Quennell's" -> "quennells").
                    for form in (joined, joined + "s", joined + "es"):
                        self._by_run.setdefault(form, []).append(ident)

        # The keys in order: a run of words is extended only while it is the start of
        # some key (bisect), so a text's cost follows its words, not every run of them.
        self._keys = sorted(self._by_run)

    def _runs(self, words: list[str]):
        """Every run of consecutive words, joined, that is an indexed key."""
        keys, by_run, n = self._keys, self._by_run, len(words)
        for i in range(n):
            joined = ""
            for j in range(i, n):
                joined += words[j]
                k = bisect_left(keys, joined)
                if k == len(keys) or not keys[k].startswith(joined):
                    break
                if joined in by_run:
                    yield joined

    def _date_words(self, value: str) -> list[tuple[str, ...]]:
        return self._forms.get(value, [])

    def candidates(self, text: str) -> list[Identifier]:
        folded = _fold(text)
        words = folded.split()
        found: dict[int, Identifier] = {id(i): i for i in self._always}
        for run in self._runs(words):
            for ident in self._by_run.get(run, ()):
                found[id(ident)] = ident
        if self._by_form:
            for n in range(1, self._longest_form + 1):
                for i in range(len(words) - n + 1):
                    for ident in self._by_form.get(" ".join(words[i:i + n]), ()):
                        found[id(ident)] = ident
        if self._by_digits:
            for window in _digit_windows(text):
                for ident in self._by_digits.get(window, ()):
                    found[id(ident)] = ident
        return list(found.values())

    def _date_forms(self, value: str, numeric: bool) -> list[str]:
        forms = self._date_words(value)
        if not numeric:
            # Only the forms with a month name: figures side by side in a table row
            # ("12 | 9 | 25") are not a date anyone wrote.
            forms = [f for f in forms if any(w.isalpha() for w in f)]
        return [" " + " ".join(f) + " " for f in forms]

    def scan(self, text: str, *, numeric_dates: bool = True) -> list[str]:
        """Fields whose identifier appears in `text`: exactly what Gate.scan says (with
        `numeric_dates=False`, dates are matched only where a month is named)."""
        candidates = self.candidates(text)
        if numeric_dates:
            # Identifiers that cannot match were dropped; what nobody recorded is sought
            # in the text itself, whatever the identifiers: the real Gate does both.
            return Gate(tuple(candidates), policy=self.policy).scan(text)
        others = tuple(c for c in candidates if c.kind != "date")
        found = set(Gate(others, policy=self.policy).scan(text))
        folded = _fold(text)
        for ident in candidates:
            if ident.kind == "date" and ident.field not in found and any(
                form in folded for form in self._date_forms(_date_key(ident), numeric_dates)
            ):
                found.add(ident.field)
        return sorted(found)

    def scan_cells(self, rows: list[list[str]]) -> list[str]:
        """A table (CSV): every cell on its own with every rule, and the whole table for
        all but numeric dates (a name split across cells is still found)."""
        whole = "\n".join(" ".join(row) for row in rows)
        found = set(self.scan(whole, numeric_dates=False))
        dates = [c for c in self.candidates(whole) if c.kind == "date"]
        for cell in (cell for row in rows for cell in row):
            folded = _fold(cell)
            for ident in dates:
                if any(form in folded for form in self._date_forms(_date_key(ident), True)):
                    found.add(ident.field)
        return sorted(found)

    def stops(self, text: str, *, numeric_dates: bool = True) -> list[Finding]:
        """The findings that stop `text`, with their positions (what `scan` names by field;
        with `numeric_dates=False`, a recorded date only where a month is named)."""
        found = [f for f in Gate(tuple(self.candidates(text)), policy=self.policy).findings(text)
                 if f.severity == "stop"]
        if not numeric_dates:
            found = [f for f in found if f.kind != "date" or f.field.startswith("unrecorded.")
                     or re.search(r"[A-Za-z]", text[f.start:f.end])]
        return found

    def check_all(
        self,
        year: int,
        documents: dict[str, str],
        tables: dict[str, list[list[str]]] | None = None,
        flowing: frozenset[str] = frozenset(),
        *,
        html: frozenset[str] = frozenset(),
        titles: tuple[str, ...] = (),
        released: frozenset[str] = frozenset(),
        what: str = "annual report",
    ) -> None:
        """Scan every document (and every table, cell by cell); raise ReportBlocked
        naming each document's matched fields and where each finding is. `flowing` names
        documents whose text runs table cells together (a PDF's extracted text), where
        numeric dates are not sought: each cell was already checked in the HTML and the
        CSVs it was rendered from. `html` names the HTML documents (placed by their
        headings and table rows); the others are placed by line, under the last of
        `titles` written before the finding. What the coordinator `released` (the
        fingerprints of false alarms) passes.

        A clean document costs what it did: findings are placed only where the scan
        found something."""
        from cdop.confidentiality.held import PlacedFinding, is_released, locate_cells, locate_text

        findings: dict[str, list[str]] = {}
        located: list[PlacedFinding] = []

        def settle(name: str, fields: list[str], seen: set[str], held: list[PlacedFinding]) -> None:
            # A field the scan found that no placed finding explains (a name split
            # across a table's cells) is held unplaced: corrected, never released.
            unplaced = sorted(set(fields) - seen)
            located.extend(held)
            located.extend(PlacedFinding(name, fld, fld.rpartition(".")[2], "stop", "") for fld in unplaced)
            if remaining := sorted({f.field for f in held} | set(unplaced)):
                findings[name] = remaining

        for name, text in documents.items():
            numeric = name not in flowing
            if fields := self.scan(text, numeric_dates=numeric):
                wanted = [f for f in self.stops(text, numeric_dates=numeric) if f.field in fields]
                kept = [f for f in wanted if not is_released(f, text, released)]
                settle(name, fields, {f.field for f in wanted},
                       locate_text(name, text, kept, html=name in html, titles=list(titles)))
        for name, rows in (tables or {}).items():
            if fields := self.scan_cells(rows):
                seen: set[str] = set()

                def cell_findings(cell: str, fields=fields, seen=seen) -> list[Finding]:
                    wanted = [f for f in self.stops(cell) if f.field in fields]
                    seen.update(f.field for f in wanted)
                    return [f for f in wanted if not is_released(f, cell, released)]

                settle(name, fields, seen, locate_cells(name, rows, cell_findings))
        if findings:
            raise ReportBlocked(year, findings, located, what=what)


# ------------------------------------------------------------------- flags, held

# The documents whose "not an identifier" decisions an annual report honours: the text
# was entered as an analysis's learning or a recommendation's progress, then published.
ANNUAL_REPORT_DOCUMENTS = ("annual_report", "learning", "progress")


@dataclass(frozen=True)
class HeldFlag:
    """A flag (a name nobody recorded) in one case's text that a document publishes:
    the case, which part of the document (e.g. "learning"), the text and the finding.
    Only for the coordinator's screen: never logged, never in an exception's message."""

    case_id: int
    case_number: str
    part: str
    text: str
    finding: Finding


class ReportHeld(ReportBlocked):
    """The report holds names nobody recorded: held until the coordinator decides each
    flag (`cdop gate held`, `cdop gate resolve`). The message names cases, parts and
    fields only; `flags` (for the coordinator's screen) holds the texts."""

    def __init__(self, year: int, flags: list[HeldFlag]):
        from cdop.confidentiality.held import PlacedFinding, fingerprint

        findings: dict[str, list[str]] = {}
        located = []
        for f in flags:
            findings.setdefault(f"{f.case_number} {f.part}", [])
            label = f.finding.field + FLAG_SUFFIX
            if label not in findings[f"{f.case_number} {f.part}"]:
                findings[f"{f.case_number} {f.part}"].append(label)
            located.append(PlacedFinding(
                "both editions", f.finding.field, f.finding.kind, "flag",
                fingerprint(f.finding.kind, f.text[f.finding.start:f.finding.end]),
                section=f"{PART_SECTIONS.get(f.part, f.part)} (case {f.case_number})",
                line=f.text.count("\n", 0, f.finding.start) + 1, case_id=f.case_id))
        super().__init__(year, findings, located)
        self.flags = flags


# Where each part of a case's published text is printed in the report.
PART_SECTIONS = {"learning": "Learning", "recommendation": "Recommendations made",
                 "organisation": "Recommendations made: organisation"}


def report_sources(data, content) -> list[tuple[int, str, str]]:
    """(case id, part, text) for each case's free text the annual report publishes: the
    learning statements and the recommendations (text and organisation) it prints.
    `data` is cdop.annual_report.data.ReportData, `content` its ReportContent."""
    printed = {" ".join(str(t).split()) for t in content.learning}
    printed |= {" ".join(str(r.get(k) or "").split()) for r in content.recommendations_made
                for k in ("recommendation", "organisation")}
    sources: list[tuple[int, str, str]] = []
    reviews = data.reviews
    for case_id, text in zip(reviews["case_id"], reviews["learning"], strict=True):
        if isinstance(text, str) and " ".join(text.split()) in printed:
            sources.append((int(case_id), "learning", text))
    recs = data.recommendations
    if len(recs):
        for case_id, text, org in zip(recs["case_id"], recs["text"], recs["organisation"], strict=True):
            for part, value in (("recommendation", text), ("organisation", org)):
                if isinstance(value, str) and " ".join(value.split()) in printed:
                    sources.append((int(case_id), part, value))
    return list(dict.fromkeys(sources))


def report_flags(settings, session, sources: Iterable[tuple[int, str, str]],
                 released: frozenset[str] = frozenset(),
                 identifiers: Mapping[int, tuple[Identifier, ...]] | None = None) -> list[HeldFlag]:
    """The flags not yet decided in each case's published text, checked with that
    case's gate (its identifiers, the annual report's policy, the coordinator's
    "not an identifier" decisions for the case's learning, progress and annual report).

    A year publishes the text of thousands of cases: their identifiers and decisions are
    read a chunk of cases at a time (a few SELECTs per 900 cases, not a few per case),
    and each text goes through the real Gate with only the case's identifiers that could
    match it (YearGate's narrowing, one index per case), so the findings are exactly the
    case gate's for every recorded and derived form it indexes. `identifiers`: each case's
    gate identifiers already decrypted (cdop.annual_report.data.scope_identifiers_by_case),
    not read and decrypted again; a case not in it is read here."""
    from sqlalchemy import select

    from cdop.confidentiality.decisions import NOT_IDENTIFIER
    from cdop.confidentiality.detectors import office_policy
    from cdop.confidentiality.held import is_released
    from cdop.confidentiality.identifiers import case_identifiers
    from cdop.store.models import Case, CaseIdentifier, GateDecision

    by_case: dict[int, list[tuple[str, str]]] = {}
    for case_id, part, text in sources:
        by_case.setdefault(case_id, []).append((part, text))
    held: list[HeldFlag] = []
    policy = office_policy(settings, "annual_report")
    ids = sorted(by_case)
    for chunk in range(0, len(ids), 900):
        part_ids = ids[chunk:chunk + 900]
        known = identifiers or {}
        unread = [case_id for case_id in part_ids if case_id not in known]
        recorded: dict[int, list[tuple[str, str]]] = {}
        for case_id, field_name, value in session.execute(
            select(CaseIdentifier.case_id, CaseIdentifier.field, CaseIdentifier.value)
            .where(CaseIdentifier.case_id.in_(unread))
            .order_by(CaseIdentifier.id)
        ) if unread else ():
            recorded.setdefault(case_id, []).append((field_name, value))
        dismissed: dict[int, set[str]] = {}
        for case_id, fingerprint in session.execute(
            select(GateDecision.case_id, GateDecision.fingerprint).where(
                GateDecision.case_id.in_(part_ids),
                GateDecision.document.in_(ANNUAL_REPORT_DOCUMENTS),
                GateDecision.decision == NOT_IDENTIFIER)
        ):
            dismissed.setdefault(case_id, set()).add(fingerprint)
        numbers = dict(session.execute(
            select(Case.id, Case.case_number).where(Case.id.in_(part_ids))).all())
        read = {case.id: case_identifiers(case, recorded.get(case.id, ())) for case in session.execute(
            select(Case.id, Case.forenames, Case.surname, Case.date_of_birth, Case.date_of_death,
                   Case.nhs_number, Case.postcode, Case.address, Case.notifier_name)
            .where(Case.id.in_(unread))
        )} if unread else {}
        for case_id in part_ids:
            if case_id not in numbers:
                continue
            case_number = numbers[case_id]
            case_idents = known[case_id] if case_id in known else read[case_id]
            # One index per case, whatever the number of its published texts.
            narrowing = YearGate(case_idents, policy=policy)
            for part, text in by_case[case_id]:
                gate = Gate(tuple(narrowing.candidates(text)), policy=policy,
                            dismissed=frozenset(dismissed.get(case_id, ())))
                held += [HeldFlag(case_id, case_number, part, text, f) for f in gate.flags(text)
                         if not is_released(f, text, released)]
    return held


def hold_for_flags(settings, year: int, sources: Iterable[tuple[int, str, str]],
                   released: frozenset[str] = frozenset(),
                   identifiers: Mapping[int, tuple[Identifier, ...]] | None = None) -> None:
    """Raise ReportHeld if the published free text holds a flag not yet decided (or
    released for the year's report)."""
    from cdop.store.db import unit_of_work

    sources = list(sources)
    if not sources:
        return
    with unit_of_work(settings) as uow:
        flags = report_flags(settings, uow.session, sources, released, identifiers)
    if flags:
        raise ReportHeld(year, flags)
