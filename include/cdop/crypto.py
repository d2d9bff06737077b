"""Encryption at rest for identifiable fields, and keyed blind indexes for look-ups.

Keys are Fernet keys; the first is used to encrypt, all are tried to decrypt
(MultiFernet), so a key is rotated by putting a new one first and running
`cdop keys rotate`, which re-encrypts every field and recomputes the indexes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from cdop.errors import ConfigError

_keyring: MultiFernet | None = None
_index_keys: tuple[bytes, ...] = ()


def check_keys(keys: Sequence[str]) -> None:
    if not keys:
        raise ConfigError("CDOP_ENCRYPTION_KEYS: no key given")
    for i, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigError(
                f"CDOP_ENCRYPTION_KEYS: key {i} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from None


def use_keys(keys: Sequence[str]) -> None:
    """Install the keyring used by every Encrypted column in this process."""
    global _keyring, _index_keys
    check_keys(keys)
    _keyring = MultiFernet([Fernet(k.encode("ascii")) for k in keys])
    # The index key is derived from each Fernet key, so that look-ups still match
    # rows indexed under an older key until rotation has recomputed them.
    _index_keys = tuple(hashlib.sha256(b"cdop-blind-index:" + k.encode()).digest() for k in keys)


def _ring() -> MultiFernet:
    if _keyring is None:
        raise ConfigError("encryption keys are not configured (call cdop.store.db.make_engine first)")
    return _keyring


def encrypt(value: str) -> str:
    return _ring().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _ring().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise ConfigError(
            "a stored field cannot be decrypted with the configured CDOP_ENCRYPTION_KEYS "
            "(was a key removed before rotation finished?)"
        ) from None


def rotate_token(token: str) -> str:
    return _ring().rotate(token.encode("ascii")).decode("ascii")


def normalise(text: str) -> str:
    """Case-, accent- and spacing-insensitive form used for identity matching."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join("".join(c if c.isalnum() else " " for c in folded).split())


def blind_indexes(*parts: str) -> tuple[str, ...]:
    """The index value under every configured key; the first is the current one."""
    if not _index_keys:
        _ring()
    message = "\x1f".join(normalise(p) for p in parts).encode("utf-8")
    return tuple(hmac.new(k, message, hashlib.sha256).hexdigest() for k in _index_keys)


def blind_index(*parts: str) -> str:
    return blind_indexes(*parts)[0]


def index_keys() -> tuple[bytes, ...]:
    """The blind-index keys, the current one first, for a module that keys its own HMACs
    (cdop.portal.tokens); raises ConfigError if no keys are installed."""
    if not _index_keys:
        _ring()
    return _index_keys


class Encrypted(TypeDecorator):
    """A text column stored as a Fernet token; Python sees the plain string."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encrypt(str(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return decrypt(value)


class EncryptedDate(Encrypted):
    """A date stored as a Fernet token of its ISO form; Python sees a `datetime.date`.

    Nothing can filter, order or group on it in SQL: queries use a coarse plain column
    (or the office's own dates) and decrypt the few rows they need."""

    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.date.fromisoformat(value)
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise TypeError("EncryptedDate takes a date")
        return encrypt(value.isoformat())

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return dt.date.fromisoformat(decrypt(value))


class EncryptedInt(Encrypted):
    """An integer (e.g. an exact age in days) stored as a Fernet token."""

    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encrypt(str(int(value)))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return int(decrypt(value))


class EncryptedJSON(Encrypted):
    """A JSON document (e.g. family circumstances with free-text notes) as a Fernet token."""

    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return json.loads(decrypt(value))


def encrypt_bytes(data: bytes) -> bytes:
    return _ring().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _ring().decrypt(token)
    except InvalidToken:
        raise ConfigError("a stored file cannot be decrypted with the configured keys") from None


def rotate_bytes(token: bytes) -> bytes:
    return _ring().rotate(token)
