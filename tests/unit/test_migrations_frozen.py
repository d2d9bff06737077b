"""Migrations are frozen: none imports live rule or service code.

A migration that calls today's rule (an age band, a stage) writes, when it is replayed
on a new database next year, what the rule says then rather than what it said when the
migration was written. So a migration copies the rule as it stood; it may import only the
ground (encryption at rest, the taxonomy's data) and the libraries.

The files are read with `ast`, never imported: an import inside a function counts.
`store/migrations` is not a package, so the import-linter contract does not see it.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ROOT / "include/cdop/store/migrations/versions"


def _layers_from_store_up() -> set[str]:
    """The cdop layers at or above `store`, as the contract in pyproject.toml lists them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [layered] = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    layers = layered["layers"]
    above = layers[: layers.index("store") + 1]
    return {name.strip() for layer in above for name in layer.replace("|", ":").split(":")}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)]
            # `from cdop import rules` names the package through the imported name
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def live_code_imports(path: Path, live: set[str]) -> list[str]:
    """`file:line module` for each import of a live cdop layer, or of the Airflow glue."""
    hits: dict[int, str] = {}  # one per import statement: the first name it reaches
    for line, module in imported_modules(path):
        parts = module.split(".")
        if parts[0] == "cdop_airflow" or (parts[0] == "cdop" and len(parts) > 1 and parts[1] in live):
            hits.setdefault(line, f"{path.name}:{line} {module}")
    return list(hits.values())


def test_the_layers_read_from_the_contract_hold_the_rules_and_the_services():
    live = _layers_from_store_up()
    assert {"rules", "store", "intake", "panel", "portal", "mail", "sending"} <= live
    assert not {"crypto", "taxonomy", "config", "errors"} & live


def test_no_migration_imports_live_rule_or_service_code():
    live = _layers_from_store_up()
    files = sorted(VERSIONS.glob("*.py"))
    assert len(files) >= 17  # the chain is read, not an empty folder
    hits = [hit for path in files for hit in live_code_imports(path, live)]
    assert hits == []


def test_the_scan_sees_an_import_inside_a_function(tmp_path):
    live = _layers_from_store_up()
    sample = tmp_path / "0099_sample.py"
    sample.write_text("def upgrade():\n    from cdop.rules.ages import age_band\n"
                      "    from cdop import crypto\n    import cdop.panel.meetings\n"
                      "    from cdop import rules\n", encoding="utf-8")
    assert live_code_imports(sample, live) == [
        "0099_sample.py:2 cdop.rules.ages", "0099_sample.py:4 cdop.panel.meetings",
        "0099_sample.py:5 cdop.rules"]


def test_0009_writes_the_age_bands_of_its_time():
    """0009's own copy of the rule: the bands as they stood when it was written (a later
    change to cdop.rules.ages must not change what a replay of 0009 writes)."""
    import datetime as dt
    import importlib.util

    spec = importlib.util.spec_from_file_location("m0009", VERSIONS / "0009_encrypt_free_text.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    born = dt.date(2012, 2, 29)
    expected = {
        dt.date(2012, 3, 27): "0-27 days", dt.date(2012, 3, 28): "28-364 days",
        dt.date(2013, 2, 28): "28-364 days", dt.date(2013, 3, 1): "1-4 years",
        dt.date(2017, 2, 28): "1-4 years", dt.date(2017, 3, 1): "5-9 years",
        dt.date(2022, 3, 1): "10-14 years", dt.date(2027, 3, 1): "15-17 years",
    }
    assert {died: module._age_band(born, died) for died in expected} == expected
