"""The blind-index key: HKDF-SHA256 of each Fernet key (RFC 5869), with the derivation
used before it still matched, so indexes and fingerprints written then stay found."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.fernet import Fernet

from cdop import crypto


def _rfc5869(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF written out from RFC 5869 (no salt: HashLen zero bytes), independently of
    the library the code uses."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


@pytest.fixture
def two_keys():
    saved = crypto._keyring, crypto._index_keys
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    crypto.use_keys([new, old])
    yield new, old
    crypto._keyring, crypto._index_keys = saved


def test_the_index_key_is_rfc5869_hkdf_of_the_fernet_key_bytes(two_keys):
    new, _ = two_keys
    expected = _rfc5869(base64.urlsafe_b64decode(new), crypto.INDEX_KEY_INFO)
    assert crypto.index_key(new) == expected
    assert crypto.index_keys()[0] == expected
    # Neither half of the Fernet key itself, nor the old derivation.
    raw = base64.urlsafe_b64decode(new)
    assert expected not in (raw[:16], raw[16:], raw, crypto.legacy_index_key(new))


def test_new_indexes_use_hkdf_and_old_ones_are_still_matched(two_keys):
    new, old = two_keys
    parts = ("Siân", "O’Neill-Łukasz", "2019-05-05")
    message = "\x1f".join(crypto.normalise(p) for p in parts).encode()
    current = hmac.new(_rfc5869(base64.urlsafe_b64decode(new), crypto.INDEX_KEY_INFO), message,
                       hashlib.sha256).hexdigest()
    before_hkdf = [hmac.new(hashlib.sha256(b"cdop-blind-index:" + k.encode()).digest(), message,
                            hashlib.sha256).hexdigest() for k in (new, old)]
    assert crypto.blind_index(*parts) == current
    found = crypto.blind_indexes("SIAN", "o’neill  łukasz", "2019/05/05")  # the same, normalised
    assert found[0] == current and len(found) == 4
    assert set(before_hkdf) <= set(found[2:])  # written before HKDF: matched, never written
    assert crypto.index_keys() == crypto.index_keys()[:2] + tuple(
        crypto.legacy_index_key(k) for k in (new, old))


def test_a_gate_decision_fingerprint_from_before_hkdf_is_still_recognised(two_keys):
    from cdop.confidentiality.decisions import fingerprint, fingerprints

    new, _ = two_keys
    message = "\x1f".join(crypto.normalise(p) for p in ("gate-flag", "name", "Grace")).encode()
    legacy = hmac.new(crypto.legacy_index_key(new), message, hashlib.sha256).hexdigest()
    assert legacy in fingerprints("name", "GRACE")
    assert fingerprint("name", "Grace") != legacy
