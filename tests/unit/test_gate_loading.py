"""The gate's loading: `Gate.scan` (what a document build asks: the stops) runs without
the layers that only flag, the model among them, and finds the same stops; the caches
between processes are rebuilt, never an error, when what they were built from changes
(a package's version, the rules' content) or the file is damaged, and are owner-only."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from cdop.confidentiality import detectors, words
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.identifiers import case_identifiers
from cdop.confidentiality.layers import name_lists
from cdop.confidentiality.mapped import MappedTable, write_table

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=f"{ROOT / 'include'}{os.pathsep}{ROOT}")


# ------------------------------------------------------------------ Gate.scan
CASE = SimpleNamespace(forenames="Zofia Grace", surname="Quennell", date_of_birth="2019-05-14",
                       date_of_death=dt.date(2024, 3, 3), nhs_number="9434765919", postcode="CF10 1AA",
                       address="12 Stapleton Road, Bristol", notifier_name=None)
TEXTS = ["Zofia was seen by Sarah Jenkins at 4 Mill Lane, BS5 0HE, on 3 March 2024; call 0117 496 0123.",
         "Mr Okafor from the village shop in Upper Slaughter rang the ambulance; NI number QQ123456C.",
         "Mum and Dad were present; Baby slept in a Moses basket. Nothing here names anyone.", ""]


def test_scan_gives_the_stops_of_findings_without_the_flag_layers(monkeypatch):
    gate = Gate(case_identifiers(CASE, []))
    expected = [sorted({f.field for f in gate.findings(t) if f.severity == "stop"}) for t in TEXTS]
    assert any(expected) and any(f.severity == "flag" for t in TEXTS for f in gate.findings(t))

    def no_model(text):
        raise AssertionError("scan must not run the model")

    monkeypatch.setattr(detectors, "_model_entities", no_model)
    assert [gate.scan(t) for t in TEXTS] == expected


# ------------------------------------------------------------------ caches
def test_the_rules_digest_follows_the_content_of_the_rules_not_their_path(tmp_path):
    package = ROOT / "include" / "cdop"
    copy = tmp_path / "cdop"
    for name in words._RULE_FILES:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((package / name).read_bytes())
    assert words.rules_digest(copy) == words.rules_digest(package)  # two checkouts share a cache
    edited = copy / words._RULE_FILES[0]
    edited.write_bytes(edited.read_bytes() + b"\n# a rule changed\n")
    assert words.rules_digest(copy) != words.rules_digest(package)


def test_the_countries_are_cached_with_the_other_lists(tmp_path):
    env = dict(ENV, CDOP_CACHE_DIR=str(tmp_path))
    code = "from cdop.confidentiality.layers import terms; print(len(terms._countries()))"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                           timeout=300).stdout
    [path] = tmp_path.glob("countries-*.marshal")
    assert path.stat().st_mode & 0o077 == 0
    stamp = path.stat().st_mtime_ns
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                           timeout=300).stdout
    assert again == first and int(first) > 200 and path.stat().st_mtime_ns == stamp


@pytest.fixture
def small_names(tmp_path, monkeypatch):
    monkeypatch.setenv("CDOP_CACHE_DIR", str(tmp_path))
    built = []

    def read(kind):
        built.append(kind)
        return {"zofia": 10} if kind == "first" else {"quennell": 20}

    monkeypatch.setattr(name_lists, "_read_package", read)
    name_lists.name_ranks.cache_clear()
    yield built
    name_lists.name_ranks.cache_clear()


def test_a_damaged_name_list_cache_is_built_again_not_an_error(small_names, tmp_path):
    path = name_lists.cache_path()
    path.write_bytes(b"\x00not a table at all")
    assert name_lists.name_ranks() == ({"zofia": 10}, {"quennell": 20})
    assert small_names == ["first", "last"]
    assert MappedTable(path) == {"zofia": 10}  # written whole, again
    whole = path.read_bytes()
    path.write_bytes(whole[:-3] + b"xyz")  # the right size, a changed byte: the checksum says so
    name_lists.name_ranks.cache_clear()
    assert name_lists.name_ranks() == ({"zofia": 10}, {"quennell": 20})
    assert small_names == ["first", "last", "first", "last"]


def test_the_name_list_cache_is_owner_only_and_follows_the_package_version(small_names, tmp_path, monkeypatch):
    path = name_lists.cache_path()
    name_lists.name_ranks()
    assert path.exists() and path.stat().st_mode & 0o077 == 0
    real = name_lists.metadata.version
    monkeypatch.setattr(name_lists.metadata, "version",
                        lambda package: "99.0" if package == "names-dataset" else real(package))
    upgraded = name_lists.cache_path()
    assert upgraded != path
    name_lists.name_ranks.cache_clear()
    name_lists.name_ranks()
    assert upgraded.exists() and small_names == ["first", "last", "first", "last"]  # built again


def test_a_name_list_cache_that_cannot_be_written_is_built_in_memory(small_names, tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("CDOP_CACHE_DIR", str(blocked / "cache"))
    assert name_lists.name_ranks() == ({"zofia": 10}, {"quennell": 20})


def test_a_mapped_table_answers_as_the_mapping_it_was_written_from(tmp_path):
    data = {"zofia": 3, "łukasz": 7, "o'neill": 9, "a": 1, "zz": -2}
    table = MappedTable(write_table(tmp_path / "t.map", data))
    assert table == data and len(table) == 5 and list(table) == sorted(data, key=str.encode)
    for word in [*data, "zof", "zofiax", "", "Zofia", "łukasza"]:
        assert (word in table) == (word in data) and table.get(word, 0) == data.get(word, 0)
    assert 5 not in table and table.get(None) is None
    words_only = MappedTable(write_table(tmp_path / "w.map", ["moses", "roma", "stale"]))
    assert "roma" in words_only and "rome" not in words_only and len(words_only) == 3
    assert (tmp_path / "t.map").stat().st_mode & 0o077 == 0
    (tmp_path / "short.map").write_bytes(b"CDOP")
    with pytest.raises(ValueError):
        MappedTable(tmp_path / "short.map")


def test_the_spelling_list_is_a_mapped_table_rebuilt_when_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("CDOP_CACHE_DIR", str(tmp_path))
    words._cache_path.cache_clear()
    try:
        first = words.cached_table("probe", lambda: {"stale", "sow"})
        assert isinstance(first, MappedTable) and "sow" in first and "zofia" not in first
        [path] = tmp_path.glob("probe-*.map")
        assert path.stat().st_mode & 0o077 == 0
        assert words.cached_table("probe", lambda: {"not", "called"}) == first
        path.write_bytes(b"garbage")
        assert set(words.cached_table("probe", lambda: {"rebuilt"})) == {"rebuilt"}
    finally:
        words._cache_path.cache_clear()


# ------------------------------------------------------------------ the model's entities
class _FakePipeline:
    """Stands in for spaCy (a unit test): every word starting "Z" is a PERSON."""

    def __init__(self):
        self.calls = 0

    def __call__(self, text):
        import re

        self.calls += 1
        ents = [SimpleNamespace(start_char=m.start(), end_char=m.end(), label_="PERSON")
                for m in re.finditer(r"\bZ\w+", text)]
        return SimpleNamespace(ents=ents)


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    from cdop.confidentiality.layers import model

    monkeypatch.setenv("CDOP_CACHE_DIR", str(tmp_path))
    pipeline = _FakePipeline()
    monkeypatch.setattr(model, "nlp", lambda: pipeline)
    for cached_fn in (model.entities, model._store_dir_and_key):
        cached_fn.cache_clear()
    yield model, pipeline
    for cached_fn in (model.entities, model._store_dir_and_key):
        cached_fn.cache_clear()


def test_a_texts_entities_are_kept_between_processes_without_the_text(fake_model, tmp_path):
    model, pipeline = fake_model
    text = "Zofia Quennell was seen by the health visitor."
    first = model.entities(text)
    assert first == ((0, 5, "PERSON"),) and pipeline.calls == 1
    model.entities.cache_clear()  # as a new process would
    assert model.entities(text) == first and pipeline.calls == 1  # read back, the model not run
    stored = [p for p in (tmp_path / "entities").iterdir() if p.suffix == ".marshal"]
    assert len(stored) == 1 and "zofia" not in stored[0].name.lower()
    assert b"Zofia" not in stored[0].read_bytes() and b"Quennell" not in stored[0].read_bytes()
    assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "entities").iterdir())
    assert (tmp_path / "entities").stat().st_mode & 0o077 == 0
    assert model.entities(text + " ") == first and pipeline.calls == 2  # another text: run


def test_a_damaged_stored_entry_is_recomputed_and_a_new_model_is_not_served_old_entities(fake_model, monkeypatch):
    model, pipeline = fake_model
    text = "Zara and Zed went home."
    path = model._stored_path(text)
    model.entities(text)
    path.write_bytes(b"\xffdamaged")
    model.entities.cache_clear()
    assert model.entities(text) == ((0, 4, "PERSON"), (9, 12, "PERSON")) and pipeline.calls == 2
    monkeypatch.setattr(model, "MODEL_VERSION", "9.9.9")
    assert model._stored_path(text) != path


def test_a_cache_folder_that_cannot_be_written_runs_the_model_each_time(fake_model, tmp_path, monkeypatch):
    model, pipeline = fake_model
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("CDOP_CACHE_DIR", str(blocked / "cache"))
    model._store_dir_and_key.cache_clear()
    assert model.entities("Zoe.") == ((0, 3, "PERSON"),) and model._stored_path("Zoe.") is None


def test_the_stored_entities_are_kept_to_the_newest(fake_model, tmp_path, monkeypatch):
    model, _ = fake_model
    monkeypatch.setattr(model, "STORED_TEXTS", 16)
    monkeypatch.setattr(model, "_writes", 0)
    for n in range(40):
        model.entities(f"Zed came on day {n}.")
    stored = [p for p in (tmp_path / "entities").iterdir() if p.suffix == ".marshal"]
    assert 8 <= len(stored) <= 16
    assert model._stored_path("Zed came on day 39.") in stored  # the newest kept
