"""Where stored files' bytes live: the storage port and its three backends.

The callers (cdop.store.files) encrypt before anything reaches a store and decrypt after
it comes back: a store holds ciphertext only, under keys such as
`files/CDOP-2026-0001/RUH/1a2b3c4d-form.docx.enc` (case numbers and agency codes, never an
identifier).

- `LocalStore`: files under CDOP_HOME, written atomically (temporary name, fsync,
  rename). The default with SQLite: one machine, nothing to install.
- `DatabaseStore`: rows of `stored_files` in the CDOP database. The default with
  PostgreSQL: every machine that reaches the database reaches the files, and a file is
  written in the same transaction as the row that points at it.
- `S3Store`: an S3-compatible object store (AWS S3, MinIO, Ceph...), for large volumes.

`CDOP_FILE_STORE` chooses: `local`, `database`, or `s3://bucket/optional/prefix` (the
endpoint in `CDOP_S3_ENDPOINT_URL`, credentials as boto3 finds them: AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, a profile, or the machine's role).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cdop.config import ConfigError, Settings
from cdop.private_files import private_dir

PARTIAL = ".partial"  # the suffix of a local file being written (a leftover one is removed)


class FileStore(Protocol):
    """Bytes by key. `put` replaces whole or not at all; `get` raises FileNotFoundError for
    a key it does not hold. `session`, where a method takes one, is the caller's unit of
    work: a store that can (the database) writes in that transaction."""

    name: str

    def put(self, key: str, data: bytes, session: Session | None = None) -> None: ...
    def get(self, key: str, session: Session | None = None) -> bytes: ...
    def delete(self, key: str, session: Session | None = None) -> None: ...
    def exists(self, key: str) -> bool: ...
    def keys(self, prefix: str = "", session: Session | None = None) -> Iterator[str]: ...

    @property
    def transactional(self) -> bool:
        """True if `put` and `delete` with a session commit or roll back with it."""
        ...


def _check_key(key: str) -> str:
    parts = Path(key).parts
    if not key or key.startswith("/") or ".." in parts or "\\" in key:
        raise ValueError("a stored file's key must be a relative path without '..'")
    return key


# ------------------------------------------------------------------------------ local


def write_atomically(target: Path, data: bytes) -> None:
    """Write `data` to `target` through a temporary file in the same directory, fsynced
    and renamed over it; owner-only."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{PARTIAL}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class LocalStore:
    name = "local"
    transactional = False

    def __init__(self, root: Path):
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, session: Session | None = None) -> None:
        target = self.path(key)
        private_dir(target.parent)  # every missing folder 0700, not only the last
        write_atomically(target, data)

    def get(self, key: str, session: Session | None = None) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str, session: Session | None = None) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def keys(self, prefix: str = "", session: Session | None = None) -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.endswith(PARTIAL):
                yield path.relative_to(self.root).as_posix()


# --------------------------------------------------------------------------- database


class DatabaseStore:
    name = "database"
    transactional = True

    def __init__(self, settings: Settings):
        self.settings = settings

    def _session(self):
        from cdop.store.db import unit_of_work

        return unit_of_work(self.settings)

    def put(self, key: str, data: bytes, session: Session | None = None) -> None:
        from cdop.store.models import StoredFile

        _check_key(key)
        if session is not None:
            session.merge(StoredFile(key=key, data=data))
            session.flush()
            return
        with self._session() as uow:
            uow.session.merge(StoredFile(key=key, data=data))
            uow.commit()

    def get(self, key: str, session: Session | None = None) -> bytes:
        from cdop.store.models import StoredFile

        query = select(StoredFile.data).where(StoredFile.key == key)
        if session is not None:
            data = session.scalar(query)
        else:
            with self._session() as uow:
                data = uow.session.scalar(query)
        if data is None:
            raise FileNotFoundError("no stored file under that key")
        return bytes(data)

    def delete(self, key: str, session: Session | None = None) -> None:
        from cdop.store.models import StoredFile

        if session is not None:
            session.execute(delete(StoredFile).where(StoredFile.key == key))
            return
        with self._session() as uow:
            uow.session.execute(delete(StoredFile).where(StoredFile.key == key))
            uow.commit()

    def exists(self, key: str) -> bool:
        from cdop.store.models import StoredFile

        with self._session() as uow:
            return uow.session.scalar(select(StoredFile.key).where(StoredFile.key == key)) is not None

    def keys(self, prefix: str = "", session: Session | None = None) -> Iterator[str]:
        from cdop.store.models import StoredFile

        query = select(StoredFile.key).order_by(StoredFile.key)
        if prefix:
            # startswith, with % and _ in the prefix taken literally
            query = query.where(StoredFile.key.startswith(prefix, autoescape=True))
        if session is not None:
            yield from list(session.scalars(query))
            return
        with self._session() as uow:
            found = list(uow.session.scalars(query))
        yield from found


# --------------------------------------------------------------------------------- S3


class S3Store:
    name = "s3"
    transactional = False

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3", endpoint_url=endpoint_url,
                                   config=Config(retries={"max_attempts": 5, "mode": "standard"}))

    def _key(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def put(self, key: str, data: bytes, session: Session | None = None) -> None:
        # A PUT replaces the object whole or not at all.
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str, session: Session | None = None) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError("no stored file under that key") from None
            raise

    def delete(self, key: str, session: Session | None = None) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.get(key)
        except FileNotFoundError:
            return False
        return True

    def keys(self, prefix: str = "", session: Session | None = None) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix):]


# ------------------------------------------------------------------------- choosing


def file_store(settings: Settings) -> FileStore:
    """The store `settings.file_store` names."""
    choice = settings.file_store
    if choice == "local":
        return LocalStore(settings.home)
    if choice == "database":
        return DatabaseStore(settings)
    if choice.startswith("s3://"):
        bucket, _, prefix = choice[len("s3://"):].partition("/")
        return S3Store(bucket, prefix, settings.s3_endpoint_url)
    raise ConfigError("CDOP_FILE_STORE must be local, database or s3://bucket[/prefix]")
