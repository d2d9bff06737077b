"""The machinery that makes the recorded layer cheap gives the same answers as the plain
way: the folded text's fast path for ASCII text maps every position as the general path
does; the one-pass index names every identifier a text can match; the word lists are
cached between processes (built once, read after, rebuilt when the data changes, never
an error when the cache cannot be written); `cdop gate` loads without the other areas'
commands, and every command is still there."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from cdop.confidentiality import words
from cdop.confidentiality.folding import Folded
from cdop.confidentiality.gate import Gate, _name_pattern
from cdop.confidentiality.identifiers import case_identifiers
from cdop.confidentiality.recorded_index import RecordedIndex

ROOT = Path(__file__).resolve().parents[2]


def _slow(raw: str) -> Folded:
    folded = Folded.__new__(Folded)
    folded.raw, folded._ascii = raw, None
    folded._fold_slowly(raw)
    return folded


def test_the_ascii_fast_path_folds_and_maps_positions_like_the_general_path():
    rng = random.Random(11)
    alphabet = "ab C1 .,-'\n\t  Xy9"
    for _ in range(2000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        fast, slow = Folded(raw), _slow(raw)
        assert fast.cased == slow.cased
        for i in range(len(fast.text)):
            for j in range(i + 1, len(fast.text) + 1):
                assert fast.raw_span(i, j) == slow.raw_span(i, j), (raw, i, j)


CASE = SimpleNamespace(forenames="Łukasz Will", surname="O'Neill-Brightwell", date_of_birth="2018-09-03",
                       date_of_death=dt.date(2024, 12, 25), nhs_number="9434765919", postcode="BA2 4QX",
                       address="7 Kingsdown Road, Box", notifier_name=None)
FAMILY = [("mother_name", "Grace May"), ("school", "Widcombe Junior School")]


def _every_identifier_the_old_way(gate: Gate, text: str) -> list:
    """Each identifier tried on its own, one regular expression pass each (as the gate
    did before the index)."""
    folded = Folded(text)
    return sorted((f.field, f.start, f.end) for i in gate.identifiers for f in Gate._match(i, folded))


def test_the_one_pass_index_finds_what_one_pass_per_identifier_finds():
    gate = Gate(case_identifiers(CASE, FAMILY))
    texts = ["Lukasz ONeill-Bright-\nwell and the O'Neills at 7 Kingsdown Rd, Box, BA24QX.",
             "Born 3rd September 2018; died 25/12/2024; NHS 943-476-5919; Will and May; Widcombe.",
             "Grace May's school; the Brightwells; Mrs O Neill", "nothing of theirs here at all"]
    for text in texts:
        recorded = sorted((f.field, f.start, f.end) for f in gate.recorded_findings(text) if f.layer == "recorded")
        assert recorded == _every_identifier_the_old_way(gate, text), text
    index = RecordedIndex(gate.identifiers)
    assert index.candidates(Folded("nothing of theirs here at all").text) == []


def test_name_patterns_keep_whole_words():
    pattern = _name_pattern("Zofia")
    assert pattern.search(" zofia s ") and pattern.search(" zofias ")
    assert not pattern.search(" azofia ") and not pattern.search(" zofiax ")


def _child_code() -> str:
    return ("from cdop.confidentiality import words as w; import sys; "
            "n = len(w.given_names()); e = len(w.english_words()); print(n, e, w.cache_dir())")


def _run(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", _child_code()], env=env, capture_output=True, text=True,
                          check=True, timeout=300)
    return done.stdout.strip()


def test_word_lists_are_built_once_and_read_from_the_cache_after(tmp_path):
    env = dict(os.environ, CDOP_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=f"{ROOT / 'include'}{os.pathsep}{ROOT}")
    first = _run(env)
    files = sorted((tmp_path / "cache").glob("*.marshal"))
    assert {f.name.split("-")[0] for f in files} >= {"given", "english"}
    assert all(f.stat().st_mode & 0o077 == 0 for f in files)  # owner-only, like every CDOP file
    stamps = {f: f.stat().st_mtime_ns for f in files}
    assert _run(env) == first  # the same lists, read back
    assert {f: f.stat().st_mtime_ns for f in files} == stamps  # not rebuilt
    assert not list((tmp_path / "cache").glob("*.tmp"))  # no half-written file left


def test_a_new_key_replaces_the_old_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("CDOP_CACHE_DIR", str(tmp_path))
    words._cache_path.cache_clear()
    try:
        old = tmp_path / "probe-0000000000000000.marshal"
        old.write_bytes(b"")
        keep = tmp_path / "probe2-0000000000000000.marshal"  # another list's file
        keep.write_bytes(b"")
        assert words.cached("probe", lambda: (1, 2)) == (1, 2)
        assert not old.exists() and keep.exists()
        assert [p.name for p in tmp_path.glob("probe-*.marshal")] == [words._cache_path("probe").name]
    finally:
        words._cache_path.cache_clear()


def test_the_cache_key_follows_the_data_and_the_rules(monkeypatch):
    key = words._cache_key()
    monkeypatch.setattr(words, "CACHE_FORMAT", words.CACHE_FORMAT + 1)
    assert words._cache_key() != key
    monkeypatch.setattr(words, "CACHE_FORMAT", words.CACHE_FORMAT - 1)
    monkeypatch.setattr(words, "_SOURCE_FILES", (("names_dataset", "v3/no-such-file"),))
    assert words._cache_key() != key


def test_a_cache_that_cannot_be_written_or_read_is_built_in_memory(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("CDOP_CACHE_DIR", str(blocked / "cache"))
    words._cache_path.cache_clear()
    try:
        assert words.cached("probe", lambda: frozenset({"a", "b"})) == frozenset({"a", "b"})
        monkeypatch.setenv("CDOP_CACHE_DIR", str(tmp_path / "c2"))
        words._cache_path.cache_clear()
        path = words._cache_path("probe")
        path.parent.mkdir(parents=True)
        path.write_bytes(b"\x00garbage")
        assert words.cached("probe", lambda: ("rebuilt",)) == ("rebuilt",)
        assert words.cached("probe", lambda: ("not called",)) == ("rebuilt",)  # rewritten whole
    finally:
        words._cache_path.cache_clear()


def test_cdop_gate_loads_alone_and_every_command_is_still_registered():
    code = ("import sys; from cdop.cli.main import main; "
            "main.get_command(None, 'gate'); "
            "print(sorted(m for m in sys.modules if m.startswith('cdop.cli.'))); "
            "print(len(main.list_commands(None)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=f"{ROOT / 'include'}{os.pathsep}{ROOT}"), timeout=300)
    loaded, count = done.stdout.strip().splitlines()
    assert loaded == "['cdop.cli.common', 'cdop.cli.gate', 'cdop.cli.main']"
    assert int(count) >= 24  # db, keys, ..., gate, portal: listing registers them all
