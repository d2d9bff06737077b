"""The taxonomy (vocabularies, forms, categories of death) loaded from data/taxonomy.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "taxonomy.toml"


@dataclass(frozen=True)
class FormRule:
    code: str
    title: str
    always: bool = False
    circumstances: tuple[str, ...] = ()
    max_age_days: int | None = None
    unexpected_only: bool = False
    min_age_days: int | None = None

    def applies(self, *, age_days: int, expected: bool, circumstances: set[str]) -> bool:
        if self.always:
            return True
        if self.min_age_days is not None and age_days < self.min_age_days:
            return False
        if self.unexpected_only and expected:
            return False
        by_circumstance = bool(self.circumstances) and bool(circumstances & set(self.circumstances))
        by_age = self.max_age_days is not None and age_days < self.max_age_days
        if self.circumstances and self.max_age_days is not None:
            # e.g. SUDI: an unexpected death of an infant, or one flagged sudden-unexpected
            return by_age or by_circumstance
        return by_circumstance or by_age


@dataclass(frozen=True)
class CircumstanceRule:
    """What a circumstance of the death brings: the agency types to ask and the
    processes that apply (e.g. police and coroner for a road traffic collision)."""

    agency_types: tuple[str, ...] = ()
    investigations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    vocab: dict[str, dict[str, str]]
    forms: tuple[FormRule, ...]
    categories: tuple[dict, ...]
    agency_min_age_days: dict[str, int] = field(default_factory=dict)
    circumstance_rules: dict[str, CircumstanceRule] = field(default_factory=dict)

    def agency_applies(self, agency_type: str, age_days: int) -> bool:
        """Whether an agency of this type is asked about a child who died at this age."""
        return age_days >= self.agency_min_age_days.get(agency_type, 0)

    def required_by(self, circumstances: list[str]) -> CircumstanceRule:
        """The agency types and processes the circumstances bring, in taxonomy order."""
        types: list[str] = []
        kinds: list[str] = []
        for code in circumstances:
            rule = self.circumstance_rules.get(code)
            if rule:
                types += [t for t in rule.agency_types if t not in types]
                kinds += [k for k in rule.investigations if k not in kinds]
        return CircumstanceRule(tuple(types), tuple(kinds))

    def labels(self, vocabulary: str) -> dict[str, str]:
        return self.vocab[vocabulary]

    def forms_for(self, *, age_days: int, expected: bool, circumstances: list[str]) -> list[str]:
        found = set(circumstances)
        return [
            f.code
            for f in self.forms
            if f.applies(age_days=age_days, expected=expected, circumstances=found)
        ]

    def form_title(self, code: str) -> str:
        return next(f.title for f in self.forms if f.code == code)


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    raw = tomllib.loads(DATA.read_text(encoding="utf-8"))
    forms = tuple(
        FormRule(
            code=code,
            title=spec["title"],
            always=spec.get("always", False),
            circumstances=tuple(spec.get("circumstances", ())),
            max_age_days=spec.get("max_age_days"),
            unexpected_only=spec.get("unexpected_only", False),
            min_age_days=spec.get("min_age_days"),
        )
        for code, spec in raw.pop("forms").items()
    )
    categories = tuple(sorted(raw.pop("category"), key=lambda c: c["rank"]))
    ages = {code: int(spec["min_age_days"]) for code, spec in raw.pop("agency_rules", {}).items()}
    rules = {code: CircumstanceRule(tuple(spec.get("agency_types", ())), tuple(spec.get("investigations", ())))
             for code, spec in raw.pop("circumstance_rules", {}).items()}
    return Taxonomy(vocab=raw, forms=forms, categories=categories, agency_min_age_days=ages,
                    circumstance_rules=rules)


FACTORS_DATA = Path(__file__).with_name("data") / "analysis_factors.toml"


@dataclass(frozen=True)
class FactorCodes:
    """The analysis form's factor codes by domain and its grades (data/analysis_factors.toml)."""

    grades: dict[int, str]
    by_domain: dict[str, dict[str, str]]

    def label(self, domain: str, code: str) -> str:
        return self.by_domain[domain][code]


@lru_cache(maxsize=1)
def factor_codes() -> FactorCodes:
    raw = tomllib.loads(FACTORS_DATA.read_text(encoding="utf-8"))
    return FactorCodes(grades={int(k): v for k, v in raw["grade"].items()}, by_domain=raw["factor"])
