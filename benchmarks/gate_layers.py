"""What each unrecorded layer of the gate costs, beside a floor.

For two text sizes (a passage of a few sentences; a case-report-sized document), prints
each layer's time per 1,000 texts, the named-entity model's per-text cost, and the floor:
a plain regex scan of the same texts (one pass of a pattern for capitalised words and
digit runs), measured in the same run, interleaved, with the ratio. Also prints the one-off
loads a process pays once: the model, the name lists (from their cache), the English word
list. The texts are made here from the layers' own unit-test sentences (never from a
measurement corpus). No figure is asserted anywhere.

Usage:  PYTHONPATH=include python benchmarks/gate_layers.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T0 = time.perf_counter()
from cdop.confidentiality import detectors  # noqa: E402
from cdop.confidentiality.layers import model as model_layer  # noqa: E402

IMPORT_S = time.perf_counter() - T0

from cdop.confidentiality.detectors import policy_for  # noqa: E402
from cdop.confidentiality.layers.circumstance import circumstance_findings  # noqa: E402
from cdop.confidentiality.layers.contact import contact_findings  # noqa: E402
from cdop.confidentiality.layers.dates import date_findings  # noqa: E402
from cdop.confidentiality.layers.people import people_findings  # noqa: E402
from cdop.confidentiality.layers.places import place_findings  # noqa: E402
from cdop.confidentiality.layers.references import reference_findings  # noqa: E402
from tests.unit.test_gate_clean_text import CLEAN  # noqa: E402

IDENTIFYING = [
    "Zofia's brother Łukasz O'Neill was at Little Acorns Nursery on Fenwick Crescent.",
    "The health visitor saw Adébáyọ̀ and his aunt Siân on 3 March 2024 in Llanbedr.",
    "Mum's partner, known as Dai, called 999; Nguyễn Văn An attended Ysgol Gymraeg Bro Ogwr.",
    "Ionuț Popescu told PC Evans his NI number was JY 00 11 22 D and the car was AB12 CDE.",
    "Hospital number RXH1234567; crime reference 22/45123/24; coroner's reference 2024-0456.",
    "Ioan died on Boxing Day in the fire at the village shop; Cafodd ei weld ar 3ydd o Fawrth 2024.",
    "Gurpreet Kaur Sandhu and her friend tomasz lived at Maes y Deri near Ali's Barbers.",
]
FLOOR = re.compile(r"[A-Z][\w'\u2019-]+|\d[\d/.\- ]{2,}")


def _texts(size: str) -> list[str]:
    pool = CLEAN + IDENTIFYING * 3
    if size == "passage":  # ~3 sentences, ~250 characters
        return [" ".join(pool[(i * 7 + k) % len(pool)] for k in range(3)) for i in range(200)]
    # a document of ~120 sentences (~10,000 characters)
    return [" ".join(pool[(i * 11 + k) % len(pool)] for k in range(120)) for i in range(10)]


def _time(fn, texts) -> float:
    t = time.perf_counter()
    for text in texts:
        fn(text)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    policy = policy_for("case_report")

    t = time.perf_counter()
    model_layer.nlp()
    model_load = time.perf_counter() - t
    from cdop.confidentiality.layers.name_lists import name_ranks
    t = time.perf_counter()
    name_ranks()
    lists_load = time.perf_counter() - t
    from cdop.confidentiality.words import english_words, given_names, spelling_words
    t = time.perf_counter()
    english_words()
    spelling_words()
    given_names()
    words_load = time.perf_counter() - t
    print(f"one-off per process: import of the gate's detectors {IMPORT_S * 1000:.0f} ms (no model); "
          f"model load {model_load * 1000:.0f} ms; name lists from cache {lists_load * 1000:.0f} ms; "
          f"English word list + given names {words_load * 1000:.0f} ms")

    def model_uncached(text):
        return model_layer.nlp()(text).ents

    for size in ("passage", "document"):
        texts = _texts(size)
        ents = {t: model_layer.entities(t) for t in texts}
        layers = {
            "floor (one regex pass)": lambda x: list(FLOOR.finditer(x)),
            "references": reference_findings,
            "contact": lambda x: contact_findings(x, policy, []),
            "places (patterns)": lambda x: place_findings(x, policy),
            "dates": lambda x: date_findings(x, policy),
            "people (cues + lists)": lambda x, ents=ents: people_findings(x, model_entities=ents[x]),
            "circumstance": lambda x: circumstance_findings(x),
            "model (spaCy NER)": model_uncached,
            "all layers (unrecorded_findings)": lambda x: (model_layer.entities.cache_clear(),
                                                         detectors.unrecorded_findings(x, policy)),
            "stops only (flags=False)": lambda x: detectors.unrecorded_findings(x, policy, flags=False),
        }
        samples: dict[str, list[float]] = {k: [] for k in layers}
        for _ in range(args.rounds):  # interleaved: each round times every layer once
            for name, fn in layers.items():
                samples[name].append(_time(fn, texts))
        chars = sum(map(len, texts)) // len(texts)
        floor = statistics.median(samples["floor (one regex pass)"]) / len(texts) * 1000
        print(f"\n{size}: {len(texts)} texts of ~{chars} characters; median of {args.rounds} rounds")
        print(f"  {'layer':<34} {'s per 1,000 texts':>18} {'x floor':>9}")
        for name, s in samples.items():
            per_k = statistics.median(s) / len(texts) * 1000
            print(f"  {name:<34} {per_k:>18.3f} {per_k / floor:>9.0f}")


if __name__ == "__main__":
    main()
