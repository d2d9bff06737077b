"""The gate's measurement corpora are well formed: every span inside its passage, every
tag from the vocabulary, enough children and passages, and no held-out child or family
name shared with the tests or the demo (a rule written for a test must not pass as one
that generalises)."""

import re
import sys
import tomllib
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from gate_corpus import (  # noqa: E402
    EXTERNAL_KINDS,
    HELD_OUT_DIR,
    load_external,
    load_held_out,
    tag_vocabulary,
)

CHILD_FIELDS = {"forenames", "surname", "date_of_birth", "date_of_death", "nhs_number", "address", "postcode"}


@pytest.fixture(scope="module")
def children():
    return load_held_out()


@pytest.fixture(scope="module")
def vocabulary():
    return tag_vocabulary()


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def _nhs_valid(number: str) -> bool:
    digits = [int(d) for d in number]
    check = 11 - sum(d * (10 - i) for i, d in enumerate(digits[:9])) % 11
    return len(digits) == 10 and check != 10 and (check % 11) == digits[9]


def test_the_held_out_corpus_has_at_least_eight_children_and_300_passages(children):
    assert len(children) >= 8
    assert sum(len(c.passages) for c in children) >= 300


def test_about_a_third_of_the_held_out_passages_are_clean(children):
    passages = [p for c in children for p in c.passages]
    clean = sum(not p.tags for p in passages)
    assert 0.25 <= clean / len(passages) <= 0.45


def test_every_held_out_file_carries_the_written_before_tuning_header():
    for path in sorted(HELD_OUT_DIR.glob("*.toml")):
        head = path.read_text(encoding="utf-8")[:600]
        assert "before tuning" in head and "must not edit" in head, path.name


def test_each_child_has_the_notification_fields_and_recorded_family_fields(children):
    family_fields = set(tomllib.loads((ROOT / "include/cdop/data/taxonomy.toml").read_text(encoding="utf-8"))
                        ["family_identifier"])
    for child in children:
        assert CHILD_FIELDS <= set(child.record), child.key
        assert _nhs_valid(child.record["nhs_number"]), child.key
        assert child.family and {f for f, _ in child.family} <= family_fields, child.key


def test_every_held_out_span_is_inside_its_passage_and_every_tag_is_known(children, vocabulary):
    ids = [p.id for c in children for p in c.passages]
    assert len(ids) == len(set(ids))
    for child in children:
        for p in child.passages:
            assert p.difficulty in {"easy", "medium", "hard"}, p.id
            for kind, start, end in p.tags:
                assert kind in vocabulary, (p.id, kind)
                assert 0 <= start < end <= len(p.text), p.id
                assert p.text[start:end].strip() == p.text[start:end], p.id  # no stray spaces


def test_every_group_of_tags_is_measured(children, vocabulary):
    groups = {vocabulary[k] for c in children for p in c.passages for k, _, _ in p.tags}
    assert groups == {"recorded", "unrecorded", "circumstance"}


def test_no_held_out_name_is_one_the_tests_or_the_demo_use(children):
    here = Path(__file__).resolve()
    written = _fold("\n".join(
        p.read_text(encoding="utf-8", errors="ignore")
        for root in (ROOT / "tests", ROOT / "include/cdop/dev") for p in root.rglob("*")
        if p.is_file() and p != here and p.suffix in {".py", ".toml", ".json", ".csv", ".txt", ".md", ".j2"}))
    shared = []
    for child in children:
        names = [child.record["forenames"], child.record["surname"],
                 *(v for f, v in child.family if f.endswith("_name"))]
        for part in (p for name in names for p in re.split(r"[\s-]+", name) if p):
            if re.search(rf"(?<!\w){re.escape(_fold(part))}(?!\w)", written):
                shared.append((child.key, part))
    assert not shared


def test_the_external_corpus_has_300_sentences_with_spans_inside_them():
    sentences = load_external()
    assert len(sentences) >= 300
    assert len({s.text for s in sentences}) == len(sentences)
    for s in sentences:
        for _kind, start, end in s.tags:
            assert 0 <= start < end <= len(s.text), s.id
    for kind in EXTERNAL_KINDS:
        assert sum(any(k == kind for k, _, _ in s.tags) for s in sentences) >= 50, kind
    assert sum(not any(k in EXTERNAL_KINDS for k, _, _ in s.tags) for s in sentences) >= 50


def test_the_development_corpus_is_well_formed_and_shares_no_name_with_the_held_out_one(children, vocabulary):
    dev = load_held_out(HELD_OUT_DIR.parent / "dev")
    assert len(dev) >= 3 and sum(len(c.passages) for c in dev) >= 80
    for child in dev:
        assert CHILD_FIELDS <= set(child.record) and _nhs_valid(child.record["nhs_number"]), child.key
        for p in child.passages:
            for kind, start, end in p.tags:
                assert kind in vocabulary, (p.id, kind)
                assert 0 <= start < end <= len(p.text) and p.text[start:end].strip() == p.text[start:end], p.id
    held = _fold("\n".join(" ".join([c.record["forenames"], c.record["surname"], *(v for _, v in c.family)])
                           for c in children))
    shared = [(c.key, part) for c in dev
              for name in [c.record["forenames"], c.record["surname"], *(v for f, v in c.family if f.endswith("_name"))]
              for part in re.split(r"[\s-]+", name)
              if part and re.search(rf"(?<!\w){re.escape(_fold(part))}(?!\w)", held)]
    assert not shared
