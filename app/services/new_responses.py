"""Storing new responses as plain column values, many in one statement.

A new response is prepared in its request (:mod:`app.services.submissions`) as the values of
its row, not as an ORM object, so nothing validates or tracks each field on the way. The
writer stores the new responses of a group together (:func:`store`): first the shared
content they refer to (their answers' layout, their result's pieces, then its frame), each
call in hash order so that concurrent transactions on PostgreSQL take their locks in the
same order, then one INSERT of all the rows per table.

An Idempotency-Key stored before, or used earlier in the same group, is answered from its
record, writing nothing; so a key reused with another request fails that request alone
(422), and the others are stored. A key taken by another process between the check and
the INSERT fails the whole statement: the writer then stores each write alone, and alone
the key is checked again, in a savepoint, as it always was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.errors import Conflict, SecureBaseError
from app.models import IdempotencyRecord
from app.repositories import idempotency as idempotency_repo
from app.repositories import responses as responses_repo
from app.repositories import result_content as result_content_repo
from app.schemas.responses import ResponseCreated
from app.services import idempotent_replies, scored_results, stored_results

CREATE_SCOPE = "responses.create"


@dataclass(frozen=True, slots=True)
class KeyedStart:
    """The Idempotency-Key a start came with, and the record that remembers its answer."""

    key: str
    fingerprint: str
    record: dict[str, Any]
    """Every column of its ``idempotency_record`` row."""

    @property
    def key_hash(self) -> str:
        return str(self.record["key_hash"])


@dataclass(frozen=True, slots=True)
class NewResponse:
    """A new response, checked, screened and (if submitted) scored: ready to store."""

    values: dict[str, Any]
    """Every column of its row but ``answer_layout`` and ``result_frame``, the ids of shared
    content, which only the writing transaction can know."""
    layout: stored_results.Content
    """Its answers' layout."""
    pieces: tuple[stored_results.Content, ...]
    """Its result's pieces, in order (none unless submitted)."""
    submitted: bool
    created: ResponseCreated
    """The reply to send once it is stored."""
    keyed: KeyedStart | None


def store(session: Session, starts: Sequence[NewResponse]) -> list[ResponseCreated | Exception]:
    """Store ``starts`` (once per Idempotency-Key); each one's reply, or the exception that
    refuses it alone, in order."""
    keys = {start.keyed.key_hash for start in starts if start.keyed is not None}
    records = idempotency_repo.found(session, keys) if keys else {}
    first: dict[str, KeyedStart] = {}
    answers: list[ResponseCreated | Exception] = []
    stored: list[NewResponse] = []
    for start in starts:
        keyed = start.keyed
        if keyed is not None:
            previous = records.get(keyed.key_hash)
            if previous is None and keyed.key_hash in first:  # used earlier in this group
                previous = records[keyed.key_hash] = IdempotencyRecord(
                    **first[keyed.key_hash].record
                )
            if previous is not None:
                answers.append(_replayed(previous, keyed))
                continue
            first[keyed.key_hash] = keyed
        stored.append(start)
        answers.append(start.created)
    if not stored:
        return answers
    rows = _with_content_ids(session, stored)
    if len(starts) == 1 and (keyed := stored[0].keyed) is not None:
        return [_stored_unless_taken(session, stored[0], rows[0], keyed)]
    _insert(session, stored, rows)
    return answers


def store_one(session: Session, start: NewResponse) -> ResponseCreated:
    """Store one new response in the caller's session; its reply."""
    (answer,) = store(session, [start])
    if isinstance(answer, Exception):
        raise answer
    return answer


def _replayed(previous: IdempotencyRecord, keyed: KeyedStart) -> ResponseCreated | Exception:
    """The first answer given under the key; the refusal (422: another request) if not."""
    try:
        body = idempotent_replies.replay(previous, keyed.key, CREATE_SCOPE, keyed.fingerprint)
    except SecureBaseError as refusal:
        return refusal
    return ResponseCreated.model_validate_json(body)


def _with_content_ids(session: Session, starts: Sequence[NewResponse]) -> list[dict[str, Any]]:
    """The rows of ``starts``, given the ids of the shared content they refer to (stored
    first where new)."""
    known = result_content_repo.known_ids(session)
    found: list[tuple[int, tuple[int, ...]]] = []
    for start in starts:
        layout_id = known.get(start.layout.hash)
        piece_ids = tuple(known.get(piece.hash) for piece in start.pieces)
        if layout_id is None or None in piece_ids:
            return _with_new_content_ids(session, starts)
        found.append((layout_id, cast(tuple[int, ...], piece_ids)))
    # The usual group: every layout and piece is stored already, and its id known.
    frames = [
        stored_results.frame_listing(piece_ids) if start.submitted else None
        for start, (_, piece_ids) in zip(starts, found, strict=True)
    ]
    framed = {frame.hash: frame.body for frame in frames if frame is not None}
    frame_ids = dict(
        zip(framed, result_content_repo.keep(session, list(framed.items())), strict=True)
    )
    return [
        {
            **start.values,
            "answer_layout": layout_id,
            "result_frame": None if frame is None else frame_ids[frame.hash],
        }
        for start, (layout_id, _), frame in zip(starts, found, frames, strict=True)
    ]


def _with_new_content_ids(session: Session, starts: Sequence[NewResponse]) -> list[dict[str, Any]]:
    """:func:`_with_content_ids` of a group that brings content not known to be stored."""
    contents = {start.layout.hash: start.layout.body for start in starts}
    for start in starts:
        contents.update((piece.hash, piece.body) for piece in start.pieces)
    ids = dict(
        zip(contents, result_content_repo.keep(session, list(contents.items())), strict=True)
    )
    frames = [
        stored_results.frame_of([ids[piece.hash] for piece in start.pieces])
        if start.submitted
        else None
        for start in starts
    ]
    framed = {frame.hash: frame.body for frame in frames if frame is not None}
    frame_ids = dict(
        zip(framed, result_content_repo.keep(session, list(framed.items())), strict=True)
    )
    return [
        {
            **start.values,
            "answer_layout": ids[start.layout.hash],
            "result_frame": None if frame is None else frame_ids[frame.hash],
        }
        for start, frame in zip(starts, frames, strict=True)
    ]


def _insert(session: Session, starts: Sequence[NewResponse], rows: list[dict[str, Any]]) -> None:
    responses_repo.insert_new(session, rows)
    records = [start.keyed.record for start in starts if start.keyed is not None]
    if records:
        idempotency_repo.insert_new(session, records)
    submitted = sum(start.submitted for start in starts)
    if submitted:
        scored_results.count_once_committed(session, submitted)


def _stored_unless_taken(
    session: Session, start: NewResponse, row: dict[str, Any], keyed: KeyedStart
) -> ResponseCreated | Exception:
    """Store one keyed start in a savepoint; if a concurrent request (another process) took
    its key first, answer as that request was answered."""
    try:
        with session.begin_nested():
            _insert(session, [start], [row])
    except IntegrityError:
        previous = idempotency_repo.get(session, keyed.key_hash)
        if previous is None:  # pragma: no cover - the unique key was taken, so it exists
            return Conflict("A request with this Idempotency-Key is still being processed.")
        return _replayed(previous, keyed)
    return start.created
