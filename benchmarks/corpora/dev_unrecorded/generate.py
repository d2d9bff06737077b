"""Generate the development sample of sentences the unrecorded layers are tuned on.

A second external sample, apart from ../external/ (which is only measured): templates
written here, filled by Faker's en_GB and en_IE providers (people, streets, towns,
companies, jobs, phones) with a seed of its own. Its output is committed, so a benchmark
run needs no Faker; rewrite it with

  pip install -r requirements-bench.txt
  python benchmarks/corpora/dev_unrecorded/generate.py

Each template says what its slots are: {person} {first} {last} (a person), {address}
{street} {postcode} (an address), {phone} (a phone); {company} {city} {job} {country}
{weekday} {age} are not identifying kinds, so a sentence with only those must pass.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

OUT = Path(__file__).with_name("faker_sample.jsonl")
SEED = 4127
LOCALES = ("en_GB", "en_IE")
KIND = {"person": "person", "first": "person", "last": "person", "address": "address", "street": "address",
        "postcode": "address", "phone": "phone"}
TEMPLATES = """
{person} was seen by the health visitor on {weekday}.
The referral came from {person}, a {job}.
Please ask {first} to call the office back.
I spoke to {first} {last} about the appointment.
Her aunt, {person}, looks after the children after school.
{first} said the baby had been unwell since the weekend.
The neighbour {last} heard crying through the wall.
Mr {last} works as a {job} in {city}.
Contact {person} on {phone} for the school's records.
The letter was addressed to {person}, {address}.
{person} lives at {address}.
The family moved to {street} last spring.
Send the form to {address}, marked for the duty team.
Her new postcode is {postcode}.
The GP surgery can be reached on {phone}.
Call {phone} and ask for the safeguarding lead.
The mobile number given was {phone}.
{company} provides the cleaning contract for the council.
She works for {company} in {city}.
The conference this year is in {city}.
{company} announced a new office in {city} on {weekday}.
We moved here from {city} when the children were small.
The {job} from {company} attended the meeting.
Is {company} still the supplier for the car seats?
The panel met on {weekday} and reviewed the {age}-year-old's case.
The training was delivered by {company}.
Our office in {country} has closed.
He is a {job} and has lived in {city} for years.
{company} sponsors the local under-11s football team.
The visit to {city} was cancelled because of the weather.
""".strip().splitlines()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
WANT = 240


def fill(template: str, fake, uk, rng: random.Random) -> dict:
    """`uk`: the en_GB faker, for phones and postcodes (en_IE's are written as in the US)."""
    person_first, person_last = fake.first_name(), fake.last_name()
    values = {
        "person": f"{person_first} {person_last}", "first": person_first, "last": person_last,
        "address": fake.street_address().replace("\n", ", ") + ", " + fake.city() + " " + uk.postcode(),
        "street": fake.street_name(), "postcode": uk.postcode(), "phone": uk.phone_number(),
        "company": fake.company(), "city": fake.city(), "job": fake.job().split(",")[0].lower(),
        "country": fake.country(), "weekday": rng.choice(WEEKDAYS), "age": str(rng.randint(1, 17)),
    }
    text, spans, pos = "", [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        text += template[pos:m.start()]
        value = values[m[1]]
        if m[1] in KIND:
            spans.append({"type": KIND[m[1]], "start": len(text), "end": len(text) + len(value)})
        text += value
        pos = m.end()
    text += template[pos:]
    return {"text": text, "spans": spans}


def main() -> None:
    from faker import Faker

    rng = random.Random(SEED)
    fakers = []
    for i, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(SEED + i)
        fakers.append(fake)
    rows = []
    for n in range(WANT):
        row = fill(TEMPLATES[n % len(TEMPLATES)], fakers[n % len(fakers)], fakers[0], rng)
        kinds = sorted({s["type"] for s in row["spans"]})
        group = kinds[0] if kinds else "none"
        rows.append({"id": f"dev-{group}-{n + 1:03d}", "group": group, **row})
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} sentences: " + ", ".join(f"{g} {sum(r['group'] == g for r in rows)}"
                                                 for g in ("person", "address", "phone", "none")))


if __name__ == "__main__":
    main()
