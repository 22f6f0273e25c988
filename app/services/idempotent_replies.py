"""Idempotency-Key replies: what identifies a request, and the first answer given to it."""

from __future__ import annotations

import json
from collections.abc import Mapping

from app.errors import Conflict, FieldProblem, InvalidInput
from app.models import IdempotencyRecord
from app.security import digest, unseal


def key_hash(scope: str, idempotency_key: str) -> str:
    return digest(f"{scope}\0{idempotency_key}")


def fingerprint(payload: Mapping[str, object]) -> str:
    return digest(json.dumps(payload, sort_keys=True, separators=(",", ":")))


def replay(record: IdempotencyRecord, key: str, scope: str, request_fingerprint: str) -> bytes:
    """The body first answered under ``key``; 422 when the key came with another request."""
    if record.request_fingerprint != request_fingerprint:
        raise InvalidInput(
            "This Idempotency-Key was already used with a different request.",
            [FieldProblem("Idempotency-Key", "already used with a different request")],
        )
    body = unseal(record.sealed_body, key, scope)
    if body is None:  # pragma: no cover - only if the stored record was tampered with
        raise Conflict("The remembered answer for this Idempotency-Key cannot be read.")
    return body
