"""The walk-throughs in docs/guides/ work as written: every `cdop ...` command in a fenced
block of a "Walk-through" section runs, in order, against a freshly loaded demo and
exits 0. A guide that names a case the demo has closed, or a command that changed its
options, fails here rather than in a newcomer's first hour."""

from __future__ import annotations

import datetime as dt
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import ROOT, cli

GUIDES = sorted((ROOT / "docs/guides").glob("*.md"))
# The guides' case numbers are those of the demo loaded on this day (the demo's history
# is dated back from the day it is loaded); the guide says so.
DEMO_DAY = dt.date(2026, 12, 7)


def walkthrough_commands(text: str) -> list[str]:
    """The `cdop` command lines of the fenced blocks under each "## Walk-through" heading,
    with backslash continuations joined."""
    commands: list[str] = []
    for section in re.split(r"^(?=## )", text, flags=re.M):
        if not section.startswith("## Walk-through"):
            continue
        for block in re.findall(r"^```[a-z]*\n(.*?)^```", section, flags=re.M | re.S):
            for line in block.replace("\\\n", " ").splitlines():
                if line.strip().startswith("cdop "):
                    commands.append(line.strip())
    return commands


def test_each_guide_with_a_walkthrough_has_commands_to_run():
    found = {g.name: walkthrough_commands(g.read_text(encoding="utf-8")) for g in GUIDES}
    assert found["coordinator.md"], "the coordinator's guide has no walk-through commands"
    assert any("analysis record" in c for c in found["coordinator.md"])


def test_the_extractor_joins_continuations_and_skips_other_sections():
    text = (
        "## Before\n```\ncdop not-this\n```\n"
        "## Walk-through: x\n```\nexport A=1\ncdop case show \\\n     CDOP-2026-0001  # why\n```\n"
        "## After\n```\ncdop nor-this\n```\n"
    )
    assert walkthrough_commands(text) == ["cdop case show       CDOP-2026-0001  # why"]


# What is checked is the guide, not the database: each command's SQL runs on both backends
# in the tests of its service, so the walk-through runs on SQLite alone.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("guide", [g for g in GUIDES if "## Walk-through" in g.read_text(encoding="utf-8")],
                         ids=lambda g: g.name)
def test_the_walkthrough_runs_against_a_fresh_demo(guide: Path, settings, demo_copy):
    demo_copy(settings, DEMO_DAY)
    for command in walkthrough_commands(guide.read_text(encoding="utf-8")):
        args = shlex.split(command, comments=True)[1:]
        result = cli(*args)
        assert result.returncode == 0, f"{guide.name}: `{command}` exited {result.returncode}:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
        assert "Traceback" not in result.stderr
