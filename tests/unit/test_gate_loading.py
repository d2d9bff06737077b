"""The gate's loading: `Gate.scan` (what a document build asks: the stops) runs without
the layers that only flag, the model among them, and finds the same stops; the caches
between processes are rebuilt, never an error, when what they were built from changes
(a package's version, the rules' content) or the file is damaged, and are owner-only."""

from __future__ import annotations

import datetime as dt
import marshal
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
    path.write_bytes(b"\x00not marshal at all")
    assert name_lists.name_ranks() == ({"zofia": 10}, {"quennell": 20})
    assert small_names == ["first", "last"]
    with open(path, "rb") as fh:
        assert marshal.load(fh) == ({"zofia": 10}, {"quennell": 20})  # written whole, again
    path.write_bytes(marshal.dumps(42))  # readable, but not the lists
    name_lists.name_ranks.cache_clear()
    assert name_lists.name_ranks() == ({"zofia": 10}, {"quennell": 20})


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
