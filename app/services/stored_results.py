"""A submitted result in compact form, and the same result composed back from it.

A result is mostly words that many responses share: labels, bands, the summary, the
explanation of how it was scored, the psychoeducation and the disclaimer, which differ
between responses only in their numbers and in which of a few variants each part takes.
So a result's JSON text is cut into **pieces** (at each field, each entry of a mapping or a
list, and after each sentence of a text) and stored as:

- its pieces, each with every number (a JSON number, or a number written in a sentence)
  replaced by a numbered slot, ``{0}``, ``{1}``, ... (one slot per distinct number of the
  piece; braces of the text itself are doubled, as :meth:`str.format` reads them). The
  psychoeducation sections keep their numbers (years in references, the same for everyone);
- its **frame**: the ids of its pieces, in order;
- its **values**: the text of each number taken out, in slot order (a value equal to an
  earlier one, when that is shorter, is written ``^`` and the earlier one's position).

Pieces and frames go into ``result_content`` once each, under the SHA-256 of their text,
shared by every response that reads the same; a response keeps its frame's id and its
values. Concatenating the filled pieces gives back the very text that was stored, so a
stored result is returned exactly as it was scored, whatever the content files say today.
Cut this fine, variants add up instead of multiplying: each band of each dimension, each
sentence of a summary and each section is stored once, not once per combination.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from string import Formatter
from typing import Any, get_args

from pydantic import BaseModel

from scoring.crisis import CrisisNotice, HelpFooter
from scoring.result import (
    DimensionResult,
    PsychoeducationSection,
    QuestionnaireRef,
    ScoreResult,
    TargetResult,
    TendencyResult,
)

WHOLE_FIELDS = frozenset({"psychoeducation"})
"""Fields whose numbers stay in their pieces (stored last)."""
DYNAMIC_FIELDS = frozenset({"crisis", "help"})
"""Shown as they are today, never stored: who to contact changes, and must be current."""

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?!\w)")
SEPARATOR = ","
"""Between values, and between the piece ids of a frame (neither ever contains one)."""
_EARLIER = "^"


@dataclass(frozen=True, slots=True)
class Content:
    """One row of ``result_content``: a piece or a frame."""

    hash: str
    body: str


def content(body: str) -> Content:
    return Content(hashlib.sha256(body.encode()).hexdigest(), body)


@dataclass(frozen=True, slots=True)
class CompactResult:
    """What a response keeps of its result: its pieces, in order, and its values."""

    pieces: tuple[Content, ...]
    values: str


def frame_of(piece_ids: list[int]) -> Content:
    """The frame listing these pieces."""
    return content(SEPARATOR.join(map(str, piece_ids)))


@lru_cache(maxsize=1024)
def frame_listing(piece_ids: tuple[int, ...]) -> Content:
    """:func:`frame_of`, made once per (bounded) list of pieces: results that differ only in
    their numbers list the same pieces."""
    return frame_of(list(piece_ids))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _cut(value: Any) -> list[str]:
    """``value``'s JSON text in pieces that concatenate to it."""
    if isinstance(value, dict) and value:
        parts = [_json(k) + ":" + _json(v) for k, v in value.items()]
        return ["{" + parts[0], *("," + p for p in parts[1:-1]), *_last(parts, "}")]
    if isinstance(value, list) and value:
        parts = [_json(v) for v in value]
        return ["[" + parts[0], *("," + p for p in parts[1:-1]), *_last(parts, "]")]
    text = _json(value)
    if isinstance(value, str):
        sentences = text.split(". ")  # cut after each ". ", which stays with its sentence
        return [*(sentence + ". " for sentence in sentences[:-1]), sentences[-1]]
    return [text]


def _last(parts: list[str], closing: str) -> list[str]:
    if len(parts) == 1:
        return [closing]  # the one part opened the container; this closes it
    return ["," + parts[-1] + closing]


def _pieces(document: dict[str, Any], last: bool) -> Iterator[str]:
    """The document's JSON text in pieces (closed with ``}`` when ``last``)."""
    for index, (name, value) in enumerate(document.items()):
        cut = _cut(value)
        cut[0] = ("{" if index == 0 else ",") + _json(name) + ":" + cut[0]
        if last and index == len(document) - 1:
            cut[-1] += "}"
        yield from cut


@lru_cache(maxsize=16384)
def _slotted(piece: str) -> tuple[Content, tuple[str, ...]]:
    """A piece with its numbers in slots, and the numbers. Most pieces (labels, sentences
    without numbers, bands) recur from one result to the next: each is slotted and hashed
    once per process."""
    slots: dict[str, int] = {}

    def slot(match: re.Match[str]) -> str:
        number = match.group()
        if number not in slots:
            slots[number] = len(slots)
        return "{" + str(slots[number]) + "}"

    body = _NUMBER.sub(slot, _escaped(piece))
    return content(body), tuple(slots)


_KEPT_SECTION_LISTS = 256
_kept_sections: dict[
    tuple[int, ...], tuple[tuple[PsychoeducationSection, ...], tuple[Content, ...]]
] = {}
"""The pieces of each list of sections, by the identities of its sections: the composer keeps
the sections it makes and hands the same objects to every result that shows them, so a list
is found without hashing every section's text (the sections are kept with their pieces, so
their ids cannot be other objects' while kept); emptied when full."""


def _section_pieces(sections: tuple[PsychoeducationSection, ...]) -> tuple[Content, ...]:
    identities = tuple(map(id, sections))
    kept = _kept_sections.get(identities)
    if kept is not None and all(map(operator.is_, kept[0], sections)):
        return kept[1]
    pieces = _sections_cut(sections)
    if len(_kept_sections) >= _KEPT_SECTION_LISTS:
        _kept_sections.clear()
    _kept_sections[identities] = (sections, pieces)
    return pieces


@lru_cache(maxsize=256)
def _sections_cut(sections: tuple[PsychoeducationSection, ...]) -> tuple[Content, ...]:
    # Serialized, escaped and hashed once per set of sections (per definition, language,
    # tendencies and notice), not once per submission; numbers stay in these pieces.
    document = {"psychoeducation": [s.model_dump(mode="json") for s in sections]}
    pieces = list(_pieces(document, last=True))
    pieces[0] = "," + pieces[0][1:]  # follows the other fields
    return tuple(content(_escaped(piece)) for piece in pieces)


def _packed(values: list[str]) -> str:
    # A reference (``^`` and a position) is at least two characters long, so only a value of
    # three or more can be written shorter as one: shorter values are written as they are.
    # A value is written as it is unless it repeats one written in full before; the one
    # written in full last is the one referred to.
    first: dict[str, int] = {}
    packed = values.copy()
    for index, value in enumerate(values):
        if len(value) > 2:
            seen = first.setdefault(value, index)
            if seen != index:
                earlier = f"{_EARLIER}{seen}"
                if len(earlier) < len(value):
                    packed[index] = earlier
                else:
                    first[value] = index
    return SEPARATOR.join(packed)


def _unpacked(values: str) -> list[str]:
    out: list[str] = []
    for value in values.split(SEPARATOR) if values else []:
        out.append(out[int(value[1:])] if value.startswith(_EARLIER) else value)
    return out


def split(result: ScoreResult) -> CompactResult:
    """The compact form of ``result`` (without its crisis notice and help footer)."""
    values: list[str] = []
    pieces: list[Content] = []
    for slotted, numbers in _stored_pieces(result):
        pieces.append(slotted)
        values += numbers
    pieces += _section_pieces(result.psychoeducation)
    return CompactResult(tuple(pieces), _packed(values))


Slotted = tuple[Content, tuple[str, ...]]
"""A piece with its numbers in slots, and the numbers."""

_STORED_FIELDS = tuple(
    (name, field.exclude_if, "{" + _json(name) + ":", "," + _json(name) + ":")
    for name, field in ScoreResult.__pydantic_fields__.items()
    if name not in DYNAMIC_FIELDS and name not in WHOLE_FIELDS
)
"""The fields cut into pieces, in the order the result's JSON has them, each with the rule
that leaves it out (``exclude_if``), if any, and its name's JSON opening the document or
following another field."""


def _stored_pieces(result: ScoreResult) -> Iterator[Slotted]:
    """The pieces of ``result``'s stored fields: those of ``_pieces`` over its JSON document
    (without the dynamic and whole fields), slotted. The text of each field, entry or part is
    made and slotted once per process (bounded), then found by what decides it."""
    index = 0
    for name, left_out, first, following in _STORED_FIELDS:
        value = getattr(result, name)
        if left_out is not None and left_out(value):
            continue
        opening = first if index == 0 else following
        index += 1
        if isinstance(value, dict) and value:
            yield from _entries(opening, "{", "}", list(value.items()))
        elif isinstance(value, tuple) and value:
            yield from _entries(opening, "[", "]", [(None, part) for part in value])
        elif isinstance(value, str) or value is None:
            yield from _text_pieces(opening, value)
        elif (key := _part_key(value)) is not None:
            yield from _part_pieces(opening, key, value)
        else:
            # Anything else (a part with parts of its own, such as the norms) as before.
            document = result.model_dump(mode="json", include={name})
            cut = _cut(document[name])
            cut[0] = opening + cut[0]
            yield from map(_slotted, cut)


def _entries(
    opening: str, start: str, end: str, entries: list[tuple[str | None, object]]
) -> Iterator[Slotted]:
    """As ``_cut`` cuts a mapping or a list: one piece per entry, the first opening the
    container, the last closing it (or a piece of its own closing a single entry)."""
    last = len(entries) - 1
    for position, (name, part) in enumerate(entries):
        before = opening + start if position == 0 else ","
        after = end if position == last and last > 0 else ""
        yield _entry(before, name, part, after)
    if last == 0:
        yield _slotted(end)


_KEPT_ENTRIES = 16384
_entry_pieces: dict[tuple[object, ...], Slotted] = {}
"""Slotted entries by what decides their text; emptied when full."""


_entries_by_part: dict[tuple[int, str, str], tuple[object, str | None, Slotted]] = {}
"""The same, by the identity of the part and where it stands: the composer keeps the parts
it makes and hands the same object to every result that states the same numbers, so most
parts are found without working out what decides their text (each part is kept with its
entry, so its id cannot be another object's while kept); emptied when full."""


def _entry(before: str, name: str | None, part: object, after: str) -> Slotted:
    place = (id(part), before, after)
    kept = _entries_by_part.get(place)
    if kept is not None and kept[0] is part and kept[1] == name:
        return kept[2]
    key = _part_key(part)
    if key is None:
        return _slotted(before + _entry_text(name, part) + after)
    found = _entry_pieces.get((before, name, after, key))
    if found is None:
        if len(_entry_pieces) >= _KEPT_ENTRIES:
            _entry_pieces.clear()
        found = _slotted(before + _entry_text(name, part) + after)
        _entry_pieces[before, name, after, key] = found
    if len(_entries_by_part) >= _KEPT_ENTRIES:
        _entries_by_part.clear()
    _entries_by_part[place] = (part, name, found)
    return found


def _entry_text(name: str | None, part: object) -> str:
    text = _json(part.model_dump(mode="json")) if isinstance(part, BaseModel) else _json(part)
    return text if name is None else _json(name) + ":" + text


_FLAT_PARTS: dict[type, tuple[str, ...]] = {
    part: tuple(
        name
        for name, field in part.__pydantic_fields__.items()
        if field.annotation is float or float in get_args(field.annotation)
    )
    for part in (QuestionnaireRef, DimensionResult, TendencyResult, TargetResult)
}
"""The parts of a result whose fields hold only plain values (text, numbers, flags, lists of
text), with the names of their decimal fields."""


def _part_key(part: object) -> tuple[object, ...] | None:
    """What decides a flat part's JSON text; None for any other part. Each field of a part
    holds values of one type (validated), so equal keys mean equal text, except that
    -0.0 == 0.0: a decimal zero is left unkeyed."""
    floats = _FLAT_PARTS.get(type(part))
    if floats is None:
        return None
    state = part.__dict__
    for name in floats:
        if state[name] == 0.0:
            return None
    return (type(part), *state.values())


def _part_pieces(opening: str, key: tuple[object, ...], part: object) -> tuple[Slotted, ...]:
    """A flat part (the questionnaire reference) cut as ``_cut`` cuts a mapping."""
    found = _kept_parts.get((opening, key))
    if found is None:
        if len(_kept_parts) >= _KEPT_ENTRIES:
            _kept_parts.clear()
        assert isinstance(part, BaseModel)
        cut = _cut(part.model_dump(mode="json"))
        cut[0] = opening + cut[0]
        found = _kept_parts[opening, key] = tuple(map(_slotted, cut))
    return found


_kept_parts: dict[tuple[object, ...], tuple[Slotted, ...]] = {}


@lru_cache(maxsize=4096)
def _text_pieces(opening: str, text: str | None) -> tuple[Slotted, ...]:
    """A text field (or null) after its opening, cut after each sentence, slotted."""
    cut = _cut(text)
    cut[0] = opening + cut[0]
    return tuple(map(_slotted, cut))


@lru_cache(maxsize=8192)
def _slot_count(body: str) -> int:
    return len({field for _, field, _, _ in Formatter().parse(body) if field is not None})


def stored_document(pieces: list[str], values: str) -> dict[str, Any]:
    """The stored result as it was scored, from its pieces (in order) and its values."""
    numbers = _unpacked(values)
    parts: list[str] = []
    used = 0
    for body in pieces:
        count = _slot_count(body)
        parts.append(body.format(*numbers[used : used + count]))
        used += count
    document: dict[str, Any] = json.loads("".join(parts))
    return document


def compose(
    pieces: list[str], values: str, crisis: CrisisNotice | None, help_footer: HelpFooter
) -> ScoreResult:
    """The stored result with today's crisis notice and help footer."""
    return ScoreResult.model_validate(
        {**stored_document(pieces, values), "crisis": crisis, "help": help_footer}
    )
