"""Fingerprints of flagged text, for the coordinator's decisions on them ("not an
identifier", remembered for one case and document; or "redact"). What was flagged is
kept only as an HMAC under the blind-index key, never as text."""

from __future__ import annotations

from cdop.crypto import blind_index, blind_indexes

NOT_IDENTIFIER = "not_identifier"
REDACT = "redact"
DECISIONS = (NOT_IDENTIFIER, REDACT)


def fingerprint(kind: str, text: str) -> str:
    """The HMAC of a flagged text under the current key (case-, accent- and
    spacing-insensitive)."""
    return blind_index("gate-flag", kind, text)


def fingerprints(kind: str, text: str) -> tuple[str, ...]:
    """The same under every configured key (a decision survives a key rotation)."""
    return blind_indexes("gate-flag", kind, text)
