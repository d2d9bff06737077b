"""The reporting form the portal shows: which sections apply (the agency's type, the forms
chosen for the case), each field typed, read from data/reporting_form.toml; and reading
what the browser sent back into answers, a summary and chronology rows, collecting
problems that name the field (and the chronology row), never the value.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cdop.validation import Problem, RowReader

DATA = Path(__file__).resolve().parents[1] / "data" / "reporting_form.toml"
FIELD_TYPES = ("date", "yesno", "choice", "text")
YES_NO = {"yes": "Yes", "no": "No", "not_known": "Not known"}
# The chronology as the browser sends it: chronology-<n>-date / chronology-<n>-what_happened.
CHRONOLOGY_ROWS_MAX = 200
SUMMARY_MAX = 20_000  # as cdop.requests.returns
ENTRY_MAX = 4_000


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: str
    required: bool = False
    max_len: int = 200
    lines: int = 1
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.key

    @property
    def options(self) -> dict[str, str]:
        return YES_NO if self.type == "yesno" else dict(self.choices)


@dataclass(frozen=True)
class Section:
    form: str
    key: str
    title: str
    fields: tuple[Field, ...]
    agency_types: tuple[str, ...] = ()

    def applies_to(self, agency_type: str, forms: list[str]) -> bool:
        return self.form in forms and (not self.agency_types or agency_type in self.agency_types)


@lru_cache(maxsize=1)
def all_sections() -> tuple[Section, ...]:
    raw = tomllib.loads(DATA.read_text(encoding="utf-8"))
    sections, seen = [], set()
    for spec in raw["section"]:
        fields = []
        for f in spec["field"]:
            if f["type"] not in FIELD_TYPES:
                raise ValueError(f"reporting_form.toml: field {f['key']} has an unknown type")
            key = f"{spec['key']}__{f['key']}"
            if key in seen:
                raise ValueError(f"reporting_form.toml: field {key} appears twice")
            seen.add(key)
            fields.append(Field(key=key, label=f["label"], type=f["type"], required=f.get("required", False),
                                max_len=f.get("max_len", 200), lines=f.get("lines", 1),
                                choices=tuple(f.get("choices", {}).items())))
        sections.append(Section(form=spec["form"], key=spec["key"], title=spec["title"], fields=tuple(fields),
                                agency_types=tuple(spec.get("agency_types", ()))))
    return tuple(sections)


def sections_for(agency_type: str, forms: list[str]) -> list[Section]:
    """The sections this agency answers: the reporting form's that apply to its type, then
    each supplementary form's, in the order the forms were chosen."""
    order = {code: i for i, code in enumerate(forms)}
    chosen = [s for s in all_sections() if s.applies_to(agency_type, forms)]
    return sorted(chosen, key=lambda s: order[s.form])


@dataclass
class Submitted:
    answers: dict[str, Any]
    summary: str | None
    chronology: list[dict[str, str]]  # as typed: {"date": "YYYY-MM-DD", "what_happened": ...}
    problems: list[Problem]

    def as_content(self) -> dict[str, Any]:
        return {"answers": self.answers, "summary": self.summary, "chronology": self.chronology}


def read_form(data: Mapping[str, Any], sections: list[Section], *, today: dt.date,
              final: bool) -> Submitted:
    """What the browser sent. A draft (`final` False) keeps what was typed, even if
    incomplete or wrong, so nothing is lost; the problems are still reported. A
    submission must be complete and valid."""
    reader = RowReader(data)
    answers: dict[str, Any] = {}
    for section in sections:
        for field in section.fields:
            required = field.required and final
            if field.type == "text":
                value = reader.text(field.key, required=required, max_len=field.max_len, multiline=field.lines > 1)
            elif field.type == "date":
                value = reader.date(field.key, required=required)
                if value and value > today:
                    reader.problem(field.key, "is in the future")
                value = value.isoformat() if value else None
            else:
                value = reader.choice(field.key, field.options, required=required)
            if value is None and not final:
                value = _kept(data.get(field.key), field.max_len)
            if value is not None:
                answers[field.key] = value
    summary = reader.text("summary", required=final, max_len=SUMMARY_MAX, multiline=True)
    if summary is None and not final:
        summary = _kept(data.get("summary"), SUMMARY_MAX)
    problems = list(reader.problems)
    chronology = []
    for row, entry in enumerate(_chronology_rows(data), start=1):
        r = RowReader(entry, row=row)
        day = r.date("date", required=final)
        if day and day > today:
            r.problem("date", "is in the future")
        text = r.text("what_happened", required=final, max_len=ENTRY_MAX, multiline=True)
        problems += [Problem(f"chronology {p.field}", p.message, p.row) for p in r.problems]
        kept = {"date": day.isoformat() if day else _kept(entry.get("date"), 10) or "",
                "what_happened": text if text is not None else (_kept(entry.get("what_happened"), ENTRY_MAX) or "")}
        chronology.append(kept)
    if final and not chronology:
        problems.append(Problem("chronology", "add at least one entry (date, what happened)"))
    return Submitted(answers, summary, chronology, problems)


def _kept(value: Any, max_len: int) -> str | None:
    """What a draft keeps of a value that did not pass: the text, cut to its length."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:max_len]


def _chronology_rows(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The chronology rows, in their numbered order; rows left wholly blank are dropped."""
    numbers = set()
    for key in data:
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == "chronology" and parts[1].isdigit() and len(parts[1]) <= 4:
            numbers.add(int(parts[1]))
    rows = []
    for n in sorted(numbers)[:CHRONOLOGY_ROWS_MAX]:
        entry = {"date": data.get(f"chronology-{n}-date") or "",
                 "what_happened": data.get(f"chronology-{n}-what_happened") or ""}
        if any(isinstance(v, str) and v.strip() for v in entry.values()):
            rows.append(entry)
    return rows


def free_texts(sections: list[Section], submitted: Submitted) -> list[tuple[str, str]]:
    """(field, text) of every free text in a return: what the gate reads."""
    texts = [(f.key, submitted.answers[f.key]) for s in sections for f in s.fields
             if f.type == "text" and submitted.answers.get(f.key)]
    if submitted.summary:
        texts.append(("summary", submitted.summary))
    texts += [(f"chronology row {n}", e["what_happened"]) for n, e in enumerate(submitted.chronology, start=1)
              if e.get("what_happened")]
    return texts
