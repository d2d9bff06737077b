"""Files and folders only the CDOP's own user can read: 0700 folders, 0600 files.

Case data lives in them (the SQLite database, returned forms, case reports, the annual
report's build, the demo key, the local mail sink): none is created readable by others,
whatever the process umask."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents as 0700 folders (existing ones are left alone)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        folder.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty as a 0600 file if it does not exist; make an existing one 0600."""
    path = Path(path)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    path.chmod(FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> Path:
    """Write `data` to `path`, created (or truncated) as a 0600 file."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb", closefd=False) as out:
            out.write(data)
    finally:
        os.close(fd)
    return path
