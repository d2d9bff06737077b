"""The gate's three figures on the corpus are held at their goals (counts, not timings)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from gate_corpus import measure  # noqa: E402

from tests.support.gate_corpus import CHILDREN, passages  # noqa: E402


def test_the_corpus_is_big_enough_and_hard_enough():
    assert len(CHILDREN) >= 5
    assert len({t for _, t, _ in passages()}) >= 150


def test_every_recorded_identifier_is_caught():
    ok, total = measure()["recorded"]
    assert ok == total


def test_identifiers_nobody_recorded_are_stopped_or_flagged_in_at_least_95_percent():
    ok, total = measure()["unrecorded"]
    assert ok >= 0.95 * total


def test_clean_domain_text_passes_without_a_flag_in_at_least_95_percent():
    ok, total = measure()["clean"]
    assert ok >= 0.95 * total
