"""Stored result content: the frames of submitted results, each stored once.

A submitted response keeps its numbers and the ids of its result's frames (see
:mod:`app.services.stored_results`); a frame holds the words, shared by every response
scored into them. A row never changes and is never deleted: new words make a new row (a new
hash), so every version a stored response refers to stays as it was scored. Frames hold
labels, bands and general reading, never anyone's answers or numbers.
"""

from __future__ import annotations

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class ResultContent(SQLModel, table=True):
    __tablename__ = "result_content"

    id: int | None = Field(default=None, primary_key=True)
    """What a response refers to: a few bytes, where the hash would take 64."""
    hash: str = Field(max_length=64, unique=True, index=True)
    """The SHA-256 of ``body`` in hex: the same words are found, and stored, once."""
    body: str = Field(sa_column=Column(Text, nullable=False))
