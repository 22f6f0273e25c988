"""Secrets: response ids and tokens, their hashes, and sealing remembered answers.

Tokens are 256 random bits, shown once and stored only as a SHA-256 digest; comparisons are
constant-time. Ids and tokens come from OpenSSL's generator (``ssl.RAND_bytes``), which the
operating system seeds and reseeds (after a fork too): as strong as ``os.urandom``, without
a system call per value. That call lets go of the interpreter lock, and on a busy worker each
release handed the event loop's turn to another thread, twice per submission.

An idempotent create must be able to return the token again on a retry, so its
answer is sealed (Fernet: AES-128-CBC + HMAC-SHA256) with a key derived by HKDF from the
client's Idempotency-Key, which the server never stores.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ssl

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_URL_SAFE = bytes.maketrans(b"+/", b"-_")


_ID_BYTES = 16
_TOKEN_BYTES = 32


def _text_of(random: bytes) -> str:
    """Random bytes written as ``secrets.token_urlsafe`` writes them (URL-safe base64
    without padding; ``base64.urlsafe_b64encode`` in one call fewer)."""
    encoded = binascii.b2a_base64(random, newline=False)
    return encoded.translate(_URL_SAFE).rstrip(b"=").decode("ascii")


def new_response_id() -> str:
    return _text_of(ssl.RAND_bytes(_ID_BYTES))


def new_token() -> str:
    return _text_of(ssl.RAND_bytes(_TOKEN_BYTES))


def new_response_keys() -> tuple[str, str]:
    """A new response's id and token, cut from one draw of the generator (each call of it
    costs about as much as the bytes of both): 128 and 256 bits that share none."""
    random = ssl.RAND_bytes(_ID_BYTES + _TOKEN_BYTES)
    return _text_of(random[:_ID_BYTES]), _text_of(random[_ID_BYTES:])


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def token_matches(token: str, token_hash: str) -> bool:
    return hmac.compare_digest(digest(token), token_hash)


def _fernet(idempotency_key: str, scope: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"securebase seal {scope}".encode()
    ).derive(idempotency_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plaintext: bytes, idempotency_key: str, scope: str) -> bytes:
    return _fernet(idempotency_key, scope).encrypt(plaintext)


def unseal(sealed: bytes, idempotency_key: str, scope: str) -> bytes | None:
    try:
        return _fernet(idempotency_key, scope).decrypt(sealed)
    except InvalidToken:
        return None
