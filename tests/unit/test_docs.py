"""The README stays a screen or two and points at what exists: its lifecycle table names
files that are there, and every relative link in it and in docs/ leads to a file (and,
with an anchor, to a heading of that file)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _links() -> list[tuple[Path, str]]:
    found = []
    for page in PAGES:
        text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
        found += [(page, target) for target in LINK.findall(text)
                  if not target.startswith(("http://", "https://", "mailto:"))]
    return found


def test_the_readme_fits_a_screen_or_two():
    assert len(README.read_bytes()) < 8 * 1024


def test_the_lifecycle_table_names_files_that_exist():
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## A review's lifecycle"):text.index("## Documentation")]
    paths = re.findall(r"`((?:include|dags)/[^`]+)`", table)
    assert len(paths) >= 10
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing
    dags = re.findall(r"`(cdop_[a-z_]+)`", table)
    assert {d for d in dags} == {p.stem for p in (ROOT / "dags").glob("cdop_*.py")}


@pytest.mark.parametrize("page,target", _links(), ids=lambda v: str(v)[-60:])
def test_each_link_leads_somewhere(page: Path, target: str):
    path, _, anchor = target.partition("#")
    dest = (page.parent / path).resolve() if path else page
    if not dest.exists() and dest == ROOT / "docs/architecture.md":
        pytest.skip("docs/architecture.md is not in this checkout")
    assert dest.exists(), f"{page.relative_to(ROOT)}: {target}"
    if anchor and dest.suffix == ".md":
        headings = re.findall(r"^#+ (.*)$", dest.read_text(encoding="utf-8"), flags=re.M)
        assert anchor in {_anchor(h) for h in headings}, f"{page.relative_to(ROOT)}: {target}"
