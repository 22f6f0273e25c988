"""Digests stored as their bytes read back as the text they were written as."""

from __future__ import annotations

import hashlib

import pytest

from app.models.columns import content_hash_bytes, content_hash_text, digest_bytes

HASH = "sha256:" + hashlib.sha256(b"a definition").hexdigest()


@pytest.mark.parametrize(
    "value",
    [
        HASH,
        "sha256:older",
        "h",
        "",
        "x" * 31,  # with its end mark, as long as a digest's bytes: must not read as one
        "x" * 32,
        "sha256:" + "A" * 64,  # upper-case hex is not what content hashes are written as
        "ünïcode",
    ],
)
def test_every_content_hash_reads_back_as_written(value: str) -> None:
    assert content_hash_text(content_hash_bytes(value)) == value


def test_a_content_hash_takes_its_32_bytes() -> None:
    assert len(content_hash_bytes(HASH)) == 32


def test_a_token_digest_is_kept_as_bytes_and_anything_else_is_refused() -> None:
    token_digest = hashlib.sha256(b"token").hexdigest()
    assert digest_bytes(token_digest).hex() == token_digest
    with pytest.raises(ValueError, match="digest"):
        digest_bytes("x")
