"""Multicultural given-name and surname lists for the people layer, from a maintained
package (names-dataset 3.3.1: names with their rank by country in 105 countries), kept
compact and cached between processes.

names-dataset loads its whole data set into memory (about 1 GB and 70 s per process for
the two lists): far too slow for a gate that runs in every `cdop` call. So the lists are
read once, folded (transliterated, lower case: "Łukasz" -> "lukasz", "Nguyễn" ->
"nguyen"), kept to one-word names ranked within the first `MAX_RANK` of some country
(each with its best rank), and written to a cache file keyed by the package's version
(`CACHE_VERSION` says how the file is built). Later processes read the cache (marshal: ~0.1 s).
The write is atomic (a temporary file renamed into place), so processes building it at
the same time cannot leave half a file.

Where the cache lives: $CDOP_CACHE_DIR, else $XDG_CACHE_HOME/cdop, else ~/.cache/cdop.
"""

from __future__ import annotations

import functools
import gzip
import marshal
import os
import pickle
import sys
import tempfile
from importlib import metadata, resources
from pathlib import Path

from anyascii import anyascii

from cdop.confidentiality.words import cache_dir

MAX_RANK = 3000  # the people layer asks for at most rank 3000 (a surname in a full name)
CACHE_VERSION = 1


def cache_path() -> Path:
    version = metadata.version("names-dataset")
    # marshal's format is Python's own: the interpreter's version is part of the key.
    py = f"py{sys.version_info.major}{sys.version_info.minor}"
    return cache_dir() / f"names-dataset-{version}-r{MAX_RANK}-v{CACHE_VERSION}-{py}.marshal"


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
    """Read names-dataset and write the compact cache file (atomically)."""
    path = path or cache_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = (_read_package("first"), _read_package("last"))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".names-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            marshal.dump(data, out)
        os.chmod(tmp, 0o600)  # owner-only, like every file the project writes
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@functools.cache
def name_ranks() -> tuple[dict[str, int], dict[str, int]]:
    """({given name: best rank}, {surname: best rank}), folded; built on first use."""
    path = cache_path()
    try:
        with open(path, "rb") as f:
            given, surnames = marshal.load(f)
        if isinstance(given, dict) and isinstance(surnames, dict):
            return given, surnames
    except (OSError, EOFError, ValueError, TypeError):
        pass  # no cache yet, or a damaged one: built again
    try:
        build_cache(path)
    except OSError:  # a cache folder that cannot be written: built in memory, every process
        return _read_package("first"), _read_package("last")
    with open(path, "rb") as f:
        given, surnames = marshal.load(f)
    return given, surnames
