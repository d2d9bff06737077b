"""A read-only table of words (str -> int) kept in a file and memory-mapped: opening it
costs microseconds whatever its size, where unpickling or unmarshalling a list of a few
hundred thousand names costs a tenth of a second or more in every process. Each lookup
is a binary search over the sorted keys (about twenty comparisons), remembered for the
rest of the process; the gate looks up a few hundred words a text.

The file: a header (magic, count, CRC-32 of the rest), the keys' end offsets, their
values, then the keys (UTF-8, sorted by their bytes). A file that is short, foreign or
damaged is refused (ValueError): the caller builds it again.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import tempfile
import zlib
from array import array
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

MAGIC = b"CDOPMAP1"
_HEADER = struct.Struct("=8sII")  # magic, count, crc32 of everything after the header


def _encode(word: str) -> bytes:
    return word.encode("utf-8", "surrogatepass")


def write_table(path: Path, data: Mapping[str, int] | Iterable[str]) -> Path:
    """Write `data` (a mapping, or words that each get the value 1) to `path`, owner-only,
    atomically (a temporary file renamed into place)."""
    items = sorted(((_encode(k), int(v)) for k, v in data.items()) if isinstance(data, Mapping)
                   else ((_encode(k), 1) for k in set(data)))
    ends, values, blob, end = array("I", [0]), array("i"), bytearray(), 0
    for key, value in items:
        blob += key
        end += len(key)
        ends.append(end)
        values.append(value)
    body = ends.tobytes() + values.tobytes() + bytes(blob)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_HEADER.pack(MAGIC, len(items), zlib.crc32(body)))
            fh.write(body)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


class MappedTable(Mapping):
    """The table in `path` (see the module's docstring), as a read-only mapping."""

    def __init__(self, path: Path):
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < _HEADER.size:
                raise ValueError("table file: too short")
            self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        magic, count, crc = _HEADER.unpack_from(self._mm, 0)
        base = _HEADER.size + 4 * (count + 1) + 4 * count
        if magic != MAGIC or size < base:
            raise ValueError("table file: not a word table")
        view = memoryview(self._mm)
        self._ends = view[_HEADER.size:_HEADER.size + 4 * (count + 1)].cast("I")
        self._values = view[_HEADER.size + 4 * (count + 1):base].cast("i")
        if size != base + self._ends[count] or zlib.crc32(view[_HEADER.size:]) != crc:
            raise ValueError("table file: damaged")
        self._count, self._base = count, base
        self._memo: dict[str, int] = {}

    def _find(self, word: str) -> int:
        found = self._memo.get(word)
        if found is None:
            key, mm, ends, base = _encode(word), self._mm, self._ends, self._base
            lo, hi = 0, self._count
            while lo < hi:
                mid = (lo + hi) // 2
                probe = mm[base + ends[mid]:base + ends[mid + 1]]
                if probe < key:
                    lo = mid + 1
                else:
                    hi = mid
            found = lo if lo < self._count and mm[base + ends[lo]:base + ends[lo + 1]] == key else -1
            self._memo[word] = found
        return found

    def __getitem__(self, word: str) -> int:
        i = self._find(word) if isinstance(word, str) else -1
        if i < 0:
            raise KeyError(word)
        return self._values[i]

    def get(self, word, default=None):
        i = self._find(word) if isinstance(word, str) else -1
        return default if i < 0 else self._values[i]

    def __contains__(self, word) -> bool:
        return isinstance(word, str) and self._find(word) >= 0

    def __iter__(self) -> Iterator[str]:
        mm, ends, base = self._mm, self._ends, self._base
        for i in range(self._count):
            yield mm[base + ends[i]:base + ends[i + 1]].decode("utf-8", "surrogatepass")

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"<MappedTable of {self._count} words>"
