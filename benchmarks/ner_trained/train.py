"""Train a small English named-entity model here, to compare with the third-party copy
of spaCy's en_core_web_sm the gate loads (issue 20, item 6).

The data is generated, never downloaded: templates written here (agency prose and
plain sentences) filled by Faker's en_GB, en_IE, en_US, pl_PL, ro_RO, vi_VN and yo_NG
people, towns, streets and companies (PERSON, GPE, FAC, ORG), with clean domain
sentences (agencies, eponyms, drugs, products, "Moses basket") that hold no entity. A
blank English pipeline with one ner component (its own tok2vec inside) is trained on the CPU for a
fixed number of steps, fixed seeds, and saved under benchmarks/ner_trained/model/ (not
committed: rebuild it with this script, a few minutes).

    pip install -r requirements-bench.txt
    PYTHONPATH=include python benchmarks/ner_trained/train.py [--steps 400 --n 3000]
    PYTHONPATH=include python benchmarks/ner_trained/compare.py

None of this is imported by include/: the gate keeps the pinned pipeline.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "model"
SEED = 5150  # not the external corpus's seed: its people must not be trained on
LOCALES = ("en_GB", "en_IE", "en_US", "pl_PL", "ro_RO", "vi_VN", "yo_NG")
TEMPLATES = """
{PERSON} was seen by the health visitor at home.
The health visitor spoke to {PERSON} about safe sleep.
Her aunt, {PERSON}, looked after the children.
{PERSON} said the baby had been unsettled all night.
Mum's partner {PERSON} was at work when it happened.
The family moved from {GPE} to {GPE} last year.
They lived on {FAC} before the move.
Dad works for {ORG} in {GPE}.
The referral came from {ORG} on Monday.
{PERSON} from {ORG} attended the strategy meeting.
The grandparents live in {GPE}.
The child attended a nursery near {FAC}.
The social worker, {PERSON}, completed the assessment.
I spoke to {PERSON} on the phone.
The ambulance was called to {FAC} in {GPE}.
{PERSON} and {PERSON} were interviewed by police.
The conference this year is in {GPE}.
{ORG} announced a new office in {GPE}.
She works for {ORG} now.
We moved here from {GPE} when the children were small.
The neighbour, {PERSON}, heard shouting.
Dr {LAST} reviewed the baby on the ward.
Mr {LAST} works as a driver in {GPE}.
The family were visiting relatives in {GPE}.
""".strip().splitlines()
CLEAN = """
Mum and Dad were present when the paramedics arrived.
The baby slept in a Moses basket beside the bed.
Kawasaki disease was considered and excluded.
The Child Death Overview Panel met on Thursday.
Calpol and Nurofen were given in the evening.
The NSPCC and Barnardo's both supported the siblings.
Ward 4 staff escalated to the Paediatric Intensive Care Unit.
The child was in the 1 to 4 age band.
You can contact the office for a copy of the guidance.
Line management supervision was provided by the team manager.
The Roma community liaison worker attended.
Down syndrome had been diagnosed at birth.
The Lullaby Trust guidance on safer sleep was discussed.
A Joint Agency Response meeting took place the next morning.
The Healthy Child Programme reviews were completed.
Sertraline was started by the GP.
The GP surgery sent its records.
The Sudden Unexpected Death in Infancy protocol was followed.
""".strip().splitlines()


def examples(n: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    from faker import Faker

    rng = random.Random(SEED)
    fakers = []
    for i, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(SEED + i)
        fakers.append(fake)
    out = []
    for k in range(n):
        if k % 5 == 4:
            out.append((rng.choice(CLEAN), []))
            continue
        fake = fakers[k % len(fakers)]
        uk = fakers[k % 2]
        template = rng.choice(TEMPLATES)
        text, ents, pos = "", [], 0
        for m in re.finditer(r"\{(\w+)\}", template):
            text += template[pos:m.start()]
            label = m[1]
            if label == "PERSON":
                value = f"{fake.first_name()} {fake.last_name()}" if rng.random() < 0.6 else fake.first_name()
            elif label == "LAST":
                value = fake.last_name()
            elif label == "GPE":
                value = fake.city() if rng.random() < 0.7 else fake.country()
            else:
                value = uk.street_name() if label == "FAC" else uk.company()
            ents.append((len(text), len(text) + len(value), "PERSON" if label == "LAST" else label))
            text += value
            pos = m.end()
        out.append((text + template[pos:], ents))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    import warnings

    import spacy
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    warnings.filterwarnings("ignore", message=r"\[W030\]")  # (an entity ending in "Ltd." before the full stop)
    fix_random_seed(SEED)
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    data = examples(args.n)
    train = []
    for text, ents in data:
        doc = nlp.make_doc(text)
        train.append(Example.from_dict(doc, {"entities": ents}))
    optimizer = nlp.initialize(lambda: train)
    rng = random.Random(SEED)
    step = 0
    while step < args.steps:
        rng.shuffle(train)
        for batch in minibatch(train, size=32):
            losses = {}
            nlp.update(batch, sgd=optimizer, losses=losses, drop=0.2)
            step += 1
            if step % 100 == 0:
                print(f"step {step}: ner loss {losses.get('ner', 0):.1f}", flush=True)
            if step >= args.steps:
                break
    OUT.mkdir(exist_ok=True)
    nlp.to_disk(OUT)
    print(f"saved {OUT} ({len(train)} examples, {step} steps)")


if __name__ == "__main__":
    main()
