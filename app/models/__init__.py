"""Database tables. Alembic reads ``SQLModel.metadata`` from here."""

from app.models.idempotency import IdempotencyRecord
from app.models.response import ResponseSession, ResponseStatus

__all__ = ["IdempotencyRecord", "ResponseSession", "ResponseStatus"]
