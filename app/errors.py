"""The domain's errors: what went wrong and which HTTP status says so, with no web imports.

Every service raises these; the HTTP layer (``app.api.problems``) renders them as RFC 9457
``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldProblem:
    item: str
    message: str


class SecureBaseError(Exception):
    """Base of every error the services raise; each subclass knows its status."""

    status_code = 400
    slug = "bad-request"
    title = "The request cannot be processed"

    def __init__(
        self,
        detail: str,
        problems: Sequence[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = tuple(problems)
        self.headers = dict(headers or {})
        """Headers the answer carries (``WWW-Authenticate``, ``Retry-After``)."""


class InvalidInput(SecureBaseError):
    status_code = 422
    slug = "invalid-input"
    title = "Some of the input is not valid"


class Unauthorized(SecureBaseError):
    """No valid credentials: raise it with the ``WWW-Authenticate`` challenge in ``headers``."""

    status_code = 401
    slug = "unauthorized"
    title = "Authentication is required"


class NotFound(SecureBaseError):
    status_code = 404
    slug = "not-found"
    title = "Not found"


class Conflict(SecureBaseError):
    status_code = 409
    slug = "conflict"
    title = "The request conflicts with the current state"


class PayloadTooLarge(SecureBaseError):
    status_code = 413
    slug = "payload-too-large"
    title = "The request body is too large"


class TooManyRequests(SecureBaseError):
    """Raise it with ``Retry-After`` in ``headers``."""

    status_code = 429
    slug = "too-many-requests"
    title = "Too many requests"


class ServiceUnavailable(SecureBaseError):
    status_code = 503
    slug = "unavailable"
    title = "The service is not ready"
