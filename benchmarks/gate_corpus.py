"""The anonymisation gate measured on two corpora: three figures for each.

  recorded identifiers caught (goal 100%), unrecorded identifiers stopped or flagged
  (goal >= 95%), clean passages passed without a flag (goal >= 95%).

`first` is tests/support/gate_corpus.py, written alongside the gate; `held-out` is
tests/support/gate_corpus_heldout.py, written apart from it and read as a case report
(its DOCUMENT_KIND). Runs against any version of
the gate that has `case_identifiers` and `Gate.scan` (`Gate.flags`, where it exists, is
counted as a flag). Usage:
  PYTHONPATH=include python benchmarks/gate_corpus.py [--misses]
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cdop.confidentiality.detectors import policy_for  # noqa: E402
from cdop.confidentiality.gate import Gate  # noqa: E402
from cdop.confidentiality.identifiers import case_identifiers  # noqa: E402
from tests.support import gate_corpus, gate_corpus_heldout  # noqa: E402

CORPORA: dict[str, ModuleType] = {"first": gate_corpus, "held-out": gate_corpus_heldout}


def measure(show_misses: bool = False, corpus: ModuleType = gate_corpus) -> dict[str, tuple[int, int]]:
    kind = getattr(corpus, "DOCUMENT_KIND", None)
    policy = policy_for(kind) if kind else None  # (the first corpus: any text, no policy)
    gates = {k: Gate(case_identifiers(case, extra), policy=policy) for k, (case, extra) in corpus.CHILDREN.items()}
    counts = {"recorded": [0, 0], "unrecorded": [0, 0], "clean": [0, 0]}
    for key, text, expected in corpus.passages():
        gate = gates[key]
        stops = gate.scan(text)
        flags = gate.flags(text) if hasattr(gate, "flags") else []
        # A recorded identifier is caught when the gate names its field, as a stop or as a
        # flag (a sentence-initial "Faith ..."): both keep the document from release.
        recorded = [f for f in [*stops, *(f.field for f in flags)] if not f.startswith("unrecorded.")]
        ok = {"recorded": bool(recorded), "unrecorded": bool(stops or flags),
              "clean": not stops and not flags}[expected]
        counts[expected][0] += ok
        counts[expected][1] += 1
        if show_misses and not ok:
            print(f"  miss ({expected}, {key}): {text!r} -> {stops} {[f.field for f in flags]}")
    return {k: (v[0], v[1]) for k, v in counts.items()}


def main() -> None:
    labels = {"recorded": "recorded identifiers caught", "unrecorded": "unrecorded identifiers stopped or flagged",
              "clean": "clean passages passed without a flag"}
    goals = {"recorded": "goal 100%", "unrecorded": "goal >= 95%", "clean": "goal >= 95%"}
    for name, corpus in CORPORA.items():
        print(f"{name} corpus ({len(corpus.CHILDREN)} children, {len(corpus.passages())} passages)")
        for kind, (ok, total) in measure("--misses" in sys.argv, corpus).items():
            print(f"  {labels[kind]:<45} {ok:>4}/{total:<4} {100 * ok / total:6.1f}%   {goals[kind]}")


if __name__ == "__main__":
    main()
