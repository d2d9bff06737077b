"""The gate with the pinned third-party copy of en_core_web_sm beside the gate with the
model trained here (benchmarks/ner_trained/train.py), on the same corpora: the
held-out and external corpora (measured) and the development ones. Only the model
changes; every other layer is the same code. Also each model alone: the share of tagged
people in the external corpus that it labels PERSON, and its load and per-text time.

    PYTHONPATH=include python benchmarks/ner_trained/compare.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import gate_corpus as gc  # noqa: E402
from cdop.confidentiality.layers import model  # noqa: E402

TRAINED = Path(__file__).resolve().parent / "model"


def use(pipeline) -> None:
    model.nlp = lambda: pipeline
    model.entities.cache_clear()


def figures() -> dict[str, str]:
    vocabulary = gc.tag_vocabulary()
    system = gc.GateSystem()
    held = gc.score_held_out(system, gc.load_held_out(), vocabulary)
    ext = gc.score_external(system, gc.load_external())
    dev = gc.score_development(system, gc.load_marked(), vocabulary)
    fak = gc.score_external(system, gc.load_external(gc.DEV_DIR / "faker_sample.jsonl"))
    pct = lambda pair: f"{100 * pair[0] / pair[1]:.1f}% {pair[0]}/{pair[1]}" if pair[1] else "-"  # noqa: E731
    return {
        "held-out unrecorded": pct(held.rate("unrecorded")), "held-out unrecorded.person": pct(held.rate("unrecorded.person")),
        "held-out clean passed": pct(tuple(held.clean)),
        "external person": pct(ext.rate("person")), "external address": pct(ext.rate("address")),
        "external no entity passed": pct(tuple(ext.clean)),
        "dev passages unrecorded": pct(dev.rate("unrecorded")), "dev passages clean": pct(tuple(dev.clean)),
        "dev Faker person": pct(fak.rate("person")), "dev Faker no entity passed": pct(tuple(fak.clean)),
    }


def person_recall(pipeline) -> tuple[str, float]:
    sentences = gc.load_external()
    hit = total = 0
    started = time.perf_counter()
    for s in sentences:
        ents = [(e.start_char, e.end_char) for e in pipeline(s.text).ents if e.label_ == "PERSON"]
        for kind, a, b in s.tags:
            if kind == "person":
                total += 1
                hit += any(x < b and a < y for x, y in ents)
    per_text = (time.perf_counter() - started) / len(sentences) * 1000
    return f"{100 * hit / total:.1f}% {hit}/{total}", per_text


def main() -> None:
    import spacy

    started = time.perf_counter()
    pinned = spacy.load(model.MODEL_PACKAGE, exclude=list(model._EXCLUDE))
    pinned_load = time.perf_counter() - started
    started = time.perf_counter()
    trained = spacy.load(TRAINED)
    trained_load = time.perf_counter() - started
    rows = {}
    for name, pipeline in (("en_core_web_sm (third-party copy)", pinned), ("trained here", trained)):
        use(pipeline)
        rows[name] = figures()
        recall, ms = person_recall(pipeline)
        rows[name]["model alone: external people labelled PERSON"] = recall
        rows[name]["model alone: ms per sentence"] = f"{ms:.2f}"
    rows["en_core_web_sm (third-party copy)"]["load, s"] = f"{pinned_load:.2f}"
    rows["trained here"]["load, s"] = f"{trained_load:.2f}"
    names = list(rows)
    print(f"| | {' | '.join(names)} |\n|---|{'---|' * len(names)}")
    for key in rows[names[0]]:
        print(f"| {key} | {' | '.join(rows[n][key] for n in names)} |")


if __name__ == "__main__":
    main()
