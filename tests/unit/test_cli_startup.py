"""A `cdop` call costs only what it uses: `cdop --help` lists the commands from a table
without importing any area, and an area loads alone with every command of it (those
other modules add into its groups included), each help showing."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cdop.cli.main import COMMANDS, EXTENSIONS, load_command

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=f"{ROOT / 'include'}{os.pathsep}{ROOT}")
HEAVY = ("sqlalchemy", "pydantic", "spacy", "cdop.config", "cdop.store")


def _child(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _loaded_after(args: list[str]) -> tuple[str, list[str]]:
    """What `cdop ARGS` printed, and the modules it had imported by then."""
    out = _child("import sys, io, contextlib; from cdop.cli.main import main\n"
                 "buf = io.StringIO()\n"
                 "with contextlib.redirect_stdout(buf):\n"
                 f"    try: main({args!r}, prog_name='cdop')\n"
                 "    except SystemExit as e: assert e.code in (0, None), e.code\n"
                 "print(buf.getvalue()); print('MODULES', ' '.join(sorted(sys.modules)))")
    text, _, modules = out.rpartition("MODULES ")
    return text, modules.split()


def test_cdop_help_lists_every_command_and_imports_no_area():
    text, modules = _loaded_after(["--help"])
    listed = [line.split()[0] for line in text.split("Commands:")[1].splitlines() if line.startswith("  ")
              and not line.startswith("   ")]
    assert listed == sorted(COMMANDS)
    assert "The anonymisation gate" in text
    assert not [m for m in modules if m.startswith("cdop.cli.") and m not in ("cdop.cli.main",)]
    assert not [m for m in modules if m.startswith(HEAVY)]


def test_cdop_gate_check_help_imports_neither_the_database_nor_the_settings_nor_the_model():
    text, modules = _loaded_after(["gate", "check", "--help"])
    assert "Usage: cdop gate check [OPTIONS] CASE_NUMBER" in text and "--document" in text
    assert not [m for m in modules if m.startswith(HEAVY)]
    assert "cdop.cli.intake" not in modules


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_area_loads_alone_and_every_help_of_it_shows(name):
    """In a fresh interpreter: `cdop NAME --help`, then every subcommand's help, nested."""
    out = _child("import click, sys\n"
                 "from click.testing import CliRunner\n"
                 "from cdop.cli.main import main\n"
                 "runner = CliRunner()\n"
                 "def walk(path, command):\n"
                 "    r = runner.invoke(main, [*path, '--help'], prog_name='cdop')\n"
                 "    assert r.exit_code == 0 and r.exception is None, (path, r.output, r.exception)\n"
                 "    assert 'Usage: cdop ' + ' '.join(path) in r.output, (path, r.output)\n"
                 "    print(' '.join(path))\n"
                 "    for sub, c in getattr(command, 'commands', {}).items():\n"
                 "        walk([*path, sub], c)\n"
                 f"walk([{name!r}], main.get_command(None, {name!r}))\n")
    shown = out.split("\n")
    assert shown[0] == name and len(shown) >= 2


def test_the_table_is_the_commands_themselves():
    every_listed = set()
    for name, (_module, _attr, first_sentence) in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert command.get_short_help_str() == first_sentence, name
        every_listed.add(id(command))
    # Every command a cli module offers for the top level is in the table, and every
    # command it offers for another's group is added there.
    for path in sorted((ROOT / "include" / "cdop" / "cli").glob("*.py")):
        if path.stem == "main":
            continue
        module = importlib.import_module(f"cdop.cli.{path.stem}")
        for command in getattr(module, "COMMANDS", ()):
            assert id(command) in every_listed, (path.stem, command.name)
    for group, added in EXTENSIONS.items():
        target = load_command(group)
        for module, attr in added:
            value = getattr(importlib.import_module(f"cdop.cli.{module}"), attr)
            for command in value if isinstance(value, tuple) else (value,):
                assert isinstance(target, click.Group) and target.commands[command.name] is command
