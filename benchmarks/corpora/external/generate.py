"""Generate the external gate corpus: sentences nobody here wrote.

presidio-evaluator's own sentence templates (its data_generator/raw_data/templates.txt)
filled by its PresidioSentenceFaker with Faker's en_GB providers: its person records are
500 British people drawn from Faker('en_GB') (name, address, postcode, phone), in place of
its US ones, and its US-formatted address and phone providers (and its hospital
provider, which downloads a list) are left out; fixed seeds. Each sentence keeps the generator's
spans. The output is committed, so a benchmark run needs neither package:

  pip install -r requirements-bench.txt
  python benchmarks/corpora/external/generate.py   # rewrites presidio_templates_en_gb.jsonl

Sentences are kept by what they hold: a person, an address (street, building, secondary
address or postcode), a phone number, or none of the identifying kinds (only an
organisation, country, city, nationality, job title or age, or nothing at all); sentences
with other kinds (card numbers, emails, dates, IBANs...) are left out: they measure other
detectors than the ones this corpus is for.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

OUT = Path(__file__).with_name("presidio_templates_en_gb.jsonl")
SEED = 20261207
START, END = dt.datetime(1950, 1, 1), dt.datetime(2025, 1, 1)
WANT = {"person": 100, "address": 80, "phone": 60, "none": 60}
KIND = {"PERSON": "person", "STREET_ADDRESS": "address", "ZIP_CODE": "address", "PHONE_NUMBER": "phone"}
HARMLESS = {"ORGANIZATION", "GPE", "NRP", "TITLE", "AGE"}


def _newlines(text: str, spans: list[tuple[str, int, int]]) -> tuple[str, list[tuple[str, int, int]]]:
    """The template file writes a line break as the two characters backslash and n: make it
    one, and move the spans with it."""
    out, where = [], []  # where[i]: the new offset of old offset i
    i = 0
    while i < len(text):
        where.append(len(out))
        if text.startswith("\\n", i):
            out.append("\n")
            where.append(len(out))
            i += 2
        else:
            out.append(text[i])
            i += 1
    where.append(len(out))
    return "".join(out), [(t, where[a], where[b]) for t, a, b in spans]


def main() -> None:
    from faker import Faker
    from presidio_evaluator.data_generator import PresidioSentenceFaker
    from presidio_evaluator.data_generator.faker_extensions import (
        AgeProvider,
        IpAddressProvider,
        NationalityProvider,
        OrganizationProvider,
        ReligionProvider,
        UsDriverLicenseProvider,
    )

    people = Faker("en_GB")
    people.seed_instance(SEED)
    records = []
    for _ in range(500):
        first, last = people.first_name(), people.last_name()
        street, number = people.street_name(), people.building_number()
        city, postcode = people.city(), people.postcode()
        records.append({
            "first_name": first, "last_name": last, "name": f"{first} {last}", "person": f"{first} {last}",
            "street_name": street, "building_number": number, "city": city, "postcode": postcode,
            "address": f"{number} {street}, {city} {postcode}", "phone_number": people.phone_number(),
            "country": people.country(), "zipcode": postcode, "state_abbr": people.county(),  # en_GB has no zip code or state
            # Faker's dates are drawn up to the wall clock: fixed bounds keep the file reproducible.
            "date_time": str(people.date_time_between(START, END)),
            "date_of_birth": str(people.date_between(START.date(), END.date())),
            "year": str(people.date_between(START.date(), END.date()).year)})
    faker = PresidioSentenceFaker(
        "en_GB", lower_case_ratio=0.05, base_records=records, random_seed=SEED,
        entity_providers=[IpAddressProvider, NationalityProvider, OrganizationProvider, UsDriverLicenseProvider,
                          AgeProvider, ReligionProvider])  # (its hospital provider downloads a list)
    import random
    random.seed(SEED)  # PresidioSentenceFaker draws its templates with the random module
    kept: dict[str, list[dict]] = {k: [] for k in WANT}
    seen: set[str] = set()
    for _ in range(200):
        for sample in faker.generate_new_fake_sentences(200):
            text = sample.full_text
            if text in seen or "{" in text:  # (a template or two has single braces, left unfilled)
                continue
            types = {s.entity_type for s in sample.spans}
            kinds = {KIND[t] for t in types if t in KIND}
            if not kinds and types - HARMLESS:
                continue
            group = "none" if not kinds else min(kinds, key=lambda k: len(kept[k]) / WANT[k])
            if len(kept[group]) >= WANT[group]:
                continue
            seen.add(text)
            text, spans = _newlines(text, [(KIND.get(s.entity_type, s.entity_type.lower()), s.start_position,
                                            s.end_position) for s in sample.spans])
            kept[group].append({
                "id": f"ext-{group}-{len(kept[group]) + 1:03d}", "group": group,
                "template": sample.template_id, "text": text,
                "spans": [{"type": t, "start": a, "end": b} for t, a, b in sorted(spans, key=lambda s: s[1:])],
            })
        if all(len(kept[k]) >= WANT[k] for k in WANT):
            break
    rows = [r for k in WANT for r in kept[k]]
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} sentences: " + ", ".join(f"{k} {len(kept[k])}" for k in WANT))


if __name__ == "__main__":
    main()
