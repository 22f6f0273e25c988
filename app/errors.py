"""The domain's errors: what went wrong and which HTTP status says so, with no web imports.

Every service raises these; the HTTP layer (``app.api.problems``) renders them as RFC 9457
``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import exc as db_errors


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


RETRY_AFTER_SECONDS = 10
"""How long a client is asked to wait before it tries again after a database outage."""


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached, or did not answer in time: nothing of the request was
    carried out, and the same request may be sent again later. It names what is unavailable,
    never why (no driver, host, file or statement: messages can hold any of them)."""

    slug = "database-unavailable"
    title = "The service is unavailable for the moment"

    def __init__(
        self,
        detail: str = (
            "The database is unavailable for the moment, so this request was not carried out. "
            "Please try again in a little while (a retry with the same Idempotency-Key never "
            "stores anything twice)."
        ),
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    # A refused or lost connection, a file that cannot be opened, a lock still held when the
    # busy timeout ends, a server shutting down.
    db_errors.OperationalError,
    # A connection the driver can no longer use.
    db_errors.InterfaceError,
    db_errors.DisconnectionError,
    # No pooled connection came free in time.
    db_errors.TimeoutError,
)
"""The database errors that mean the database is unavailable rather than that the request or
the code is wrong (a constraint, a bad statement): each is answered with 503, not 500."""


def outage_of(error: BaseException) -> DatabaseUnavailable | None:
    """The 503 a database error calls for; None when it is no outage."""
    if isinstance(error, DATABASE_OUTAGES):
        return DatabaseUnavailable()
    if isinstance(error, db_errors.DBAPIError) and error.connection_invalidated:
        return DatabaseUnavailable()
    return None
