"""Remembered answers to requests sent with an ``Idempotency-Key``.

The key itself is never stored: ``key_hash`` is SHA-256 over the endpoint scope and the key.
The first answer is kept so that a retry returns it unchanged. A create's answer holds the
response's secret token, which must not sit in the database in the clear, so the answer is
encrypted with a key derived from the Idempotency-Key (which only the client knows).
Records of a response are deleted with it (erasure) and expire after a day.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, ForeignKey, LargeBinary, String
from sqlmodel import Field, SQLModel


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"

    key_hash: str = Field(primary_key=True, max_length=64)
    request_fingerprint: str = Field(max_length=64)
    response_id: str = Field(
        sa_column=Column(
            String(32),
            ForeignKey("response_session.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    status_code: int
    sealed_body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
