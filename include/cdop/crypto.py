"""Encryption at rest for identifiable fields, and keyed blind indexes for look-ups.

Keys are Fernet keys; the first is used to encrypt, all are tried to decrypt
(MultiFernet), so a key is rotated by putting a new one first and running
`cdop keys rotate`, which re-encrypts every field and recomputes the indexes.

The blind-index key of each Fernet key is derived from it by HKDF-SHA256 (RFC 5869) with
its own `info`, so it is independent of the two halves Fernet uses. Indexes written
before that (keyed by `sha256("cdop-blind-index:" + key)`) are still found: look-ups try
the HKDF key of every configured key, then the old derivation of each; nothing is written
under the old one, and `cdop keys rotate` recomputes the case and portal indexes under
the current HKDF key (docs/operations/keys.md, "Blind indexes").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from cdop.errors import ConfigError

_keyring: MultiFernet | None = None
_index_keys: tuple[bytes, ...] = ()  # HKDF keys (current first), then the legacy ones

# HKDF's `info` for the blind-index key: a new purpose gets its own, never this one.
INDEX_KEY_INFO = b"cdop blind index v2"


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
    # An index key is derived from each Fernet key, so that look-ups still match rows
    # indexed under an older key until rotation has recomputed them; then the legacy
    # derivation of each, for the indexes written before HKDF.
    _index_keys = tuple(index_key(k) for k in keys) + tuple(legacy_index_key(k) for k in keys)


def index_key(key: str) -> bytes:
    """The blind-index key of a Fernet key: HKDF-SHA256 of its 32 bytes, no salt (the input
    is already uniformly random), `INDEX_KEY_INFO` as the context."""
    material = base64.urlsafe_b64decode(key.encode("ascii"))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INDEX_KEY_INFO).derive(material)


def legacy_index_key(key: str) -> bytes:
    """The derivation used before HKDF, read only: indexes written under it stay found."""
    return hashlib.sha256(b"cdop-blind-index:" + key.encode()).digest()


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
    """The index value under every configured key, the current one first (then the other
    keys', then each key's legacy derivation): what a look-up matches against."""
    if not _index_keys:
        _ring()
    message = "\x1f".join(normalise(p) for p in parts).encode("utf-8")
    return tuple(hmac.new(k, message, hashlib.sha256).hexdigest() for k in _index_keys)


def blind_index(*parts: str) -> str:
    return blind_indexes(*parts)[0]


def index_keys() -> tuple[bytes, ...]:
    """Every blind-index key a stored value may be keyed by, the current one first (as
    blind_indexes), for a module that keys its own HMACs (cdop.portal.tokens); raises
    ConfigError if no keys are installed."""
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
