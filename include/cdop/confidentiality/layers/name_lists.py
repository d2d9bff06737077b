"""Multicultural given-name and surname lists for the people layer, from a maintained
package (names-dataset 3.3.1: names with their rank by country in 105 countries), kept
compact and cached between processes.

names-dataset loads its whole data set into memory (about 1 GB and 70 s per process for
the two lists): far too slow for a gate that runs in every `cdop` call. So the lists are
read once, folded (transliterated, lower case: "Łukasz" -> "lukasz", "Nguyễn" ->
"nguyen"), kept to one-word names ranked within the first `MAX_RANK` of some country
(each with its best rank), and written to two cache files keyed by the package's version
(`CACHE_VERSION` says how the files are built). Later processes map the files into memory
(cdop.confidentiality.mapped: microseconds, where reading the ~300,000 names whole took a
tenth of a second or more) and look each word up as it is asked.
The writes are atomic (a temporary file renamed into place), so processes building them at
the same time cannot leave half a file; a damaged file is built again.

Where the cache lives: $CDOP_CACHE_DIR, else $XDG_CACHE_HOME/cdop, else ~/.cache/cdop.
"""

from __future__ import annotations

import functools
import gzip
import pickle
import sys
from importlib import metadata, resources
from pathlib import Path

from anyascii import anyascii

from cdop.confidentiality.mapped import MappedTable, write_table
from cdop.confidentiality.words import cache_dir

MAX_RANK = 3000  # the people layer asks for at most rank 3000 (a surname in a full name)
CACHE_VERSION = 2


def cache_path() -> Path:
    """The given names' table; the surnames' is beside it (`_surnames_path`)."""
    version = metadata.version("names-dataset")
    # The tables' offsets are written in the machine's byte order: part of the key.
    return cache_dir() / f"names-dataset-{version}-r{MAX_RANK}-v{CACHE_VERSION}-{sys.byteorder}.map"


def _surnames_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-surnames{path.suffix}")


def fold_name(name: str) -> str:
    return anyascii(name).lower().strip(".'\u2019-")


def _read_package(kind: str) -> dict[str, int]:
    """One of the package's lists as {folded one-word name: best rank} (slow: see above)."""
    with gzip.open(resources.files("names_dataset").joinpath(f"v3/{kind}_names.pkl.gz")) as f:
        data = pickle.load(f)  # noqa: S301 -- the package's own data file, pinned by version
    best: dict[str, int] = {}
    for name, info in data.items():
        ranks = info.get("rank") or {}
        if not ranks:
            continue
        rank = min(ranks.values())
        if rank > MAX_RANK or " " in name.strip():
            continue
        folded = fold_name(name)
        if len(folded) >= 2 and folded.isalpha() and folded.isascii():
            best[folded] = min(rank, best.get(folded, rank))
    return best


def build_cache(path: Path | None = None) -> Path:
    """Read names-dataset and write the two tables (atomically, owner-only)."""
    path = path or cache_path()
    given, surnames = _read_package("first"), _read_package("last")
    write_table(_surnames_path(path), surnames)
    write_table(path, given)  # last: its presence says both are there
    for stale in path.parent.glob("names-dataset-*"):  # another version's or format's copy
        if stale not in (path, _surnames_path(path)) and stale.name.startswith("names-dataset-"):
            stale.unlink(missing_ok=True)
    return path


@functools.cache
def name_ranks() -> tuple[MappedTable, MappedTable]:
    """({given name: best rank}, {surname: best rank}), folded, as read-only mappings;
    built on first use, or again when a file is damaged."""
    path = cache_path()
    try:
        return MappedTable(path), MappedTable(_surnames_path(path))
    except (OSError, ValueError):
        pass  # no cache yet, or a damaged one: built again
    try:
        build_cache(path)
        return MappedTable(path), MappedTable(_surnames_path(path))
    except (OSError, ValueError):  # a cache folder that cannot be written: kept in memory, every process
        return _read_package("first"), _read_package("last")
