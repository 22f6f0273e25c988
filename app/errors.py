"""The domain's errors: what went wrong and which HTTP status says so, with no web imports.

Every service raises these; the HTTP layer (``app.api.problems``) renders them as RFC 9457
``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Sequence
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

    def __init__(self, detail: str, problems: Sequence[FieldProblem] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = tuple(problems)
        self.headers: dict[str, str] = {}


class InvalidInput(SecureBaseError):
    status_code = 422
    slug = "invalid-input"
    title = "Some of the input is not valid"


class Unauthorized(SecureBaseError):
    """No valid credentials; ``challenge`` is the ``WWW-Authenticate`` value to answer with."""

    status_code = 401
    slug = "unauthorized"
    title = "Authentication is required"

    def __init__(self, detail: str, challenge: str) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": challenge}


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
    status_code = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_seconds)}


class ServiceUnavailable(SecureBaseError):
    status_code = 503
    slug = "unavailable"
    title = "The service is not ready"
