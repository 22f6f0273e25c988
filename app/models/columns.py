"""Column types that keep digests as raw bytes: half the room of their hex text, in every row
and in every index that holds them. Python code sees the usual text either way."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Dialect, LargeBinary, TypeDecorator

CONTENT_HASH_PREFIX = "sha256:"
DIGEST_BYTES = 32
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_END = b"\x00"


def content_hash_bytes(value: str) -> bytes:
    """``sha256:<64 hex digits>`` as its 32 bytes. Any other text (none is written today) is
    kept as UTF-8 ending in NUL, never 32 bytes long, so that the two never meet."""
    digest = value.removeprefix(CONTENT_HASH_PREFIX)
    if value.startswith(CONTENT_HASH_PREFIX) and _HEX_DIGEST.fullmatch(digest):
        return bytes.fromhex(digest)
    stored = value.encode() + _END
    return stored + _END if len(stored) == DIGEST_BYTES else stored


def content_hash_text(stored: bytes) -> str:
    if len(stored) == DIGEST_BYTES:
        return CONTENT_HASH_PREFIX + stored.hex()
    return stored.rstrip(_END).decode()


def digest_bytes(value: str) -> bytes:
    """A SHA-256 hex digest as its 32 bytes."""
    if not _HEX_DIGEST.fullmatch(value):
        raise ValueError("not a SHA-256 hex digest")
    return bytes.fromhex(value)


class ContentHash(TypeDecorator[str]):
    """A definition's content hash (``sha256:...``), stored as 32 bytes."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else content_hash_bytes(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else content_hash_text(bytes(value))


class HexDigest(TypeDecorator[str]):
    """A SHA-256 hex digest, stored as 32 bytes."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else digest_bytes(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else bytes(value).hex()
