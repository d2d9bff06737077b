"""A text with what the gate found replaced by who or what it is, not by hand.

Each recorded identifier becomes its role's label ("the child", "Parent 1", "Sibling 2",
"the school", "the child's date of birth"), each thing nobody recorded a typed placeholder
("[person A]", "[place]", "[reference]", "[date]"): the labels are policy data
(data/pseudonyms.toml, `Policy.pseudonyms`). One `Pseudonymiser` serves every text of one
case, so the same unrecorded name is the same "[person B]" throughout.

Findings that overlap are replaced once, by the outermost span. A replacement reads as
English where it lands: a title before a person's label goes ("Mrs Hope Ó Briain" ->
"Parent 1"), "the" is not doubled ("the Oakfield Primary" -> "the school"), a label that
starts a sentence starts with a capital, a possessive keeps its "'s" ("Zofia's" -> "the
child's") and a plural surname names the family ("the Kowalskis" -> "the family").

The coordinator's decisions (keyed by a fingerprint of the finding's kind and its text:
never the text) change a label or undo a false alarm; a flag nobody decided is replaced
all the same, and waits for a decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from cdop.confidentiality.folding import Finding, _fold

KEEP, LABEL, UNDO = "keep", "label", "undo"
DECISIONS = (KEEP, LABEL, UNDO)

# Roles whose label names a person (a title before it goes with the name).
PERSON_ROLES = frozenset({"child", "parent", "carer", "sibling", "relative", "contact", "professional",
                          "notifier"})
_TITLE_BEFORE = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Miss|Mx|Master)\.?\s+)$")
_TITLE_WORDS = re.compile(r"^ (?:(?:mr|mrs|ms|miss|mx|master|dr|prof) )+")
_THE_BEFORE = re.compile(r"\bthe\s+$", re.IGNORECASE)
_SENTENCE_END = ".!?\n\u2022*"


@dataclass(frozen=True)
class Decision:
    """The coordinator's decision on one replacement (the same for every place its text
    appears in one case)."""

    decision: str  # keep | label | undo
    label: str | None = None


@dataclass(frozen=True)
class Replacement:
    """One place a text was changed: [start, end) of the original text, what replaced it
    (`text`, with the grammar around it), the label it stands for and why."""

    start: int
    end: int
    text: str
    label: str
    default_label: str
    kind: str
    field: str
    role: str | None
    severity: str
    layer: str
    confidence: float
    fingerprint: str
    decision: str | None = None  # None: not decided (a stop counts as decided unless undone)

    @property
    def undone(self) -> bool:
        return self.decision == UNDO

    @property
    def decided(self) -> bool:
        return self.decision is not None or self.severity == "stop"

    @property
    def recorded(self) -> bool:
        return not self.field.startswith("unrecorded.")


@dataclass(frozen=True)
class Segment:
    """A run of the pseudonymised text: plain, or one replacement (its text is what
    replaced the original; for an undone one, the original kept as written)."""

    text: str
    replacement: Replacement | None = None


@dataclass(frozen=True)
class Pseudonymised:
    text: str
    segments: tuple[Segment, ...]
    replacements: tuple[Replacement, ...]


def outermost(findings: Iterable[Finding], text: str) -> list[Finding]:
    """Overlapping findings as one each, said by the finding that matters most (a stop
    before a flag, recorded before unrecorded, the longest), over the union of their
    spans -- but what an unrecorded layer took in around a recorded identifier that
    identifies nobody (a relation word before it, "'s" or a full stop after it) stays
    as written: "Zofia's brother Lukasz" -> "the child's brother Sibling 1"."""
    ordered = sorted(findings, key=lambda f: (f.start, -f.end))
    clusters: list[list[Finding]] = []
    end = -1
    for f in ordered:
        if f.end <= f.start:
            continue
        # Two parts of one person's name side by side ("Zofia Wiśniewska-O’Neill", the
        # middle name left out) are one person: one label, not "the child the child".
        beside = clusters and f.role is not None and f.role == clusters[-1][0].role \
            and f.start >= end and not text[end:f.start].strip()
        if clusters and (f.start < end or beside):
            clusters[-1].append(f)
            end = max(end, f.end)
        else:
            clusters.append([f])
            end = f.end
    out = []
    for cluster in clusters:
        best = max(cluster, key=lambda f: (f.severity == "stop", not f.field.startswith("unrecorded."),
                                            f.end - f.start, -f.start))
        start, stop = min(f.start for f in cluster), max(f.end for f in cluster)
        recorded = [f for f in cluster if not f.field.startswith("unrecorded.")]
        if recorded:
            rs, re_ = min(f.start for f in recorded), max(f.end for f in recorded)
            if _says_nothing(text[start:rs]):
                start = rs
            if _says_nothing(text[re_:stop]):
                stop = re_
        elif best.kind == "name":
            lead = _LEADING_WORDS.match(text, start, stop)
            if lead and lead.end() < stop:
                start = lead.end()  # "brother Lukasz" -> "brother [person A]"
        while stop > start + 1 and text[stop - 1] in _TRAILING:
            stop -= 1
        out.append(replace(best, start=start, end=stop))
    return out


_TRAILING = ".,;:!?)]}\"'\u2019 \t\n"
_LEADING_WORDS = re.compile(r"(?:[a-z]+\s+)+")


def _says_nothing(part: str) -> bool:
    """Lower-case words, a title, a possessive and punctuation only: no name, number or
    place (the title then goes with the person's label)."""
    part = re.sub(r"\b(?:Mr|Mrs|Ms|Miss|Mx)\b\.?", "", re.sub(r"['\u2019]s\b", "", part))
    return not re.search(r"[A-Z0-9]", part)


def _letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("A") + r) + out
    return out


@dataclass
class Pseudonymiser:
    """Pseudonymises the texts of one case. `labels` is a PseudonymPolicy (or anything
    with its tables); `role_counts` how many people or places of each role the case
    records (one school is "the school", two are "School 1" and "School 2");
    `decisions` the coordinator's, by (kind, fingerprint); `fingerprint(kind, text)`
    the keyed hash a decision is remembered under."""

    labels: object
    fingerprint: Callable[[str, str], str]
    role_counts: Mapping[str, int] = field(default_factory=dict)
    decisions: Mapping[tuple[str, str], Decision] = field(default_factory=dict)
    _letters: dict[str, str] = field(default_factory=dict)

    # -------------------------------------------------------------------- labels
    def default_label(self, finding: Finding, original: str) -> str:
        labels = self.labels
        role = finding.role
        if role is None:
            placeholder = labels.placeholders.get(finding.kind) or labels.placeholders["default"]
            if "{letter}" in placeholder:
                key = _TITLE_WORDS.sub("", _fold(original)).strip()  # "Ms Xander" is "Xander"
                if key not in self._letters:
                    self._letters[key] = _letters(len(self._letters))
                placeholder = placeholder.replace("{letter}", self._letters[key])
            return placeholder
        if finding.field in labels.fields:
            return labels.fields[finding.field]
        base, _, number = role.partition(":")
        if finding.kind == "date":
            return labels.dates.get(base) or labels.placeholders.get("date") or labels.placeholders["default"]
        n = number or "1"
        if base in labels.several and self.role_counts.get(base, 1) > 1:
            return labels.several[base].replace("{n}", n)
        if base in labels.roles:
            return labels.roles[base].replace("{n}", n)
        return labels.placeholders.get(finding.kind) or labels.placeholders["default"]

    # -------------------------------------------------------------------- applying
    def apply(self, text: str | None, findings: Iterable[Finding]) -> Pseudonymised:
        """`text` with every finding replaced (the outermost of overlapping ones once)."""
        if not text:
            return Pseudonymised(text or "", (), ())
        segments: list[Segment] = []
        replacements: list[Replacement] = []
        out: list[str] = []
        at = 0  # how far the original has been copied
        for f in outermost(findings, text):
            if f.start < at:
                continue
            original = text[f.start:f.end]
            default = self.default_label(f, original)
            fp = self.fingerprint(f.kind, original)
            decision = self.decisions.get((f.kind, fp))
            label = decision.label if decision and decision.decision == LABEL and decision.label else default
            start, end, written = f.start, f.end, label
            if decision and decision.decision == UNDO:
                written = original
            else:
                start, end, written = self._in_context(text, f, start, end, label, at)
            if start > at:
                plain = text[at:start]
                segments.append(Segment(plain))
                out.append(plain)
            r = Replacement(start=start, end=end, text=written, label=label, default_label=default,
                            kind=f.kind, field=f.field, role=f.role, severity=f.severity, layer=f.layer,
                            confidence=f.confidence, fingerprint=fp,
                            decision=decision.decision if decision else None)
            segments.append(Segment(written, r))
            replacements.append(r)
            out.append(written)
            at = end
        if at < len(text):
            segments.append(Segment(text[at:]))
            out.append(text[at:])
        return Pseudonymised("".join(out), tuple(segments), tuple(replacements))

    def _in_context(self, text: str, f: Finding, start: int, end: int, label: str,
                    floor: int) -> tuple[int, int, str]:
        """The span to replace and its replacement, fitted to the sentence around it."""
        before = text[max(floor, start - 12):start]
        base = (f.role or "").partition(":")[0]
        person = base in PERSON_ROLES or (f.role is None and f.kind == "name")
        if person and (m := _TITLE_BEFORE.search(before)):
            start -= len(m.group(0))
            before = text[max(floor, start - 12):start]
        plural = self.labels.plurals.get(base) if f.kind == "name" else None
        the = _THE_BEFORE.search(before)
        if plural and the and text[start:end][-1:] in "sS" and not text[end:end + 1].isalpha():
            start -= len(the.group(0))  # "the Kowalskis": the family
            label = plural
            before = text[max(floor, start - 12):start]
        elif the and label.lower().startswith("the "):
            label = label[4:]  # "the Oakfield Primary" -> "the school", not "the the school"
        if _starts_sentence(text, start) and label[:1].islower():
            label = label[0].upper() + label[1:]
        return start, end, label


def _starts_sentence(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\r":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def role_counts(roles: Iterable[str | None]) -> dict[str, int]:
    """How many distinct numbered people or places of each role a case records."""
    seen: dict[str, set[str]] = {}
    for role in roles:
        if role and ":" in role:
            base, _, n = role.partition(":")
            seen.setdefault(base, set()).add(n)
    return {base: len(ns) for base, ns in seen.items()}


_TITLE_AHEAD = re.compile(r"^(?:(?:Mr|Mrs|Ms|Miss|Mx|Master|Dr|Prof)\.?\s+)+")


def with_echoes(texts: list[tuple[str, list[Finding]]]) -> list[list[Finding]]:
    """Each text's findings, plus every other place in any of the texts where a name the
    people layer found (nobody recorded it) is written again: "Ms Xander" found once, a
    later "Xander's son" is the same person, and a draft that replaced only the first
    would give her away. Whole words, as capitalised as found; a flag, like the first."""
    names: set[str] = set()
    for text, found in texts:
        for f in found:
            if f.field == "unrecorded.name" and f.kind == "name":
                name = _TITLE_AHEAD.sub("", text[f.start:f.end]).strip()
                name = re.sub(r"['\u2019]s$", "", name)
                if len(name) >= 3 and name[:1].isupper():
                    names.add(name)
    if not names:
        return [list(found) for _, found in texts]
    pattern = re.compile(r"(?<![\w'\u2019])(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
                         + r")(?![\w])")
    out = []
    for text, found in texts:
        extra = [Finding("unrecorded.name", "name", m.start(), m.end(), "flag", None, 0.5, "people")
                 for m in pattern.finditer(text)
                 if not any(f.start < m.end() and m.start() < f.end for f in found)]
        out.append(list(found) + extra)
    return out
