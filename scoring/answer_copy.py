"""The research copy of a submitted response's answers: one byte per attachment item, then one
per demographic item.

Research exports read every covered response, so they must not parse each one's JSON answers
(at a million responses that alone takes longer than everything else together). When a
response with research consent is submitted, its attachment answers are also written here in
a fixed layout: byte ``i`` stands for the ``i``-th item of the definition, in file order, and
holds 0 when the item was not answered, otherwise the answer's place on the item's scale
counted from 1 (``value - min + 1``; a definition's scale has at most 255 points). After the
items come the demographic items, in file order, one byte each: 0 when not answered, otherwise
the chosen option's position counted from 1 (the answer as given; at most 255 options). The
layout is fixed by the definition, whose content hash every stored response records, so the
bytes are read with the definition they were written with. The wellbeing check is not copied:
the exports use only the stored crisis level.

This module is the one owner of the layout: submission writes it (:func:`encode`), the research
queries find bytes with :func:`position_of` and read them with
:data:`NOT_ANSWERED`, :data:`FIRST_PLACE` and :func:`option_of`.

Every answer a response keeps is stored the same way (:func:`pack`, :func:`unpack`): the
research copy's bytes, then one byte per wellbeing item (``value - min + 1``, in file order).
What each byte stands for, an answer's item and the value its first place holds, is the
response's :data:`Layout`, stored once for every response that shares it (as text:
:func:`layout_text`). The research copy is the first bytes of the stored answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from scoring.definition import Definition

NOT_ANSWERED = 0
FIRST_PLACE = 1
"""The byte of a scale's lowest point, and of a demographic item's first option."""


Layout = tuple[tuple[str, int], ...]
"""Byte by byte: the item it stands for and the answer its :data:`FIRST_PLACE` holds."""


def layout_of(definition: Definition) -> Layout:
    """The attachment items, the demographic items, then the wellbeing items, in file order."""
    return (
        *((item.id, definition.scales[item.scale].min) for item in definition.items),
        *((demographic.id, FIRST_PLACE) for demographic in definition.demographics),
        *((item.id, definition.scales[item.scale].min) for item in definition.wellbeing_items),
    )


def pack(layout: Layout, answers: Mapping[str, int]) -> bytes:
    """``answers`` in ``layout``; ValueError when an answer has no place in it or its value
    does not fit in a byte."""
    places = bytearray(len(layout))
    placed = 0
    for position, (item_id, lowest) in enumerate(layout):
        value = answers.get(item_id)
        if value is not None:
            places[position] = value - lowest + FIRST_PLACE
            placed += 1
    if placed != len(answers):
        unplaced = sorted(set(answers) - {item_id for item_id, _ in layout})
        raise ValueError(f"answers without a place in the layout: {unplaced}")
    return bytes(places)


def unpack(layout: Layout, places: bytes) -> dict[str, int]:
    """The answers that :func:`pack` stored, in layout order."""
    if len(places) != len(layout):
        raise ValueError(f"{len(places)} stored answers for a layout of {len(layout)}")
    return {
        item_id: place - FIRST_PLACE + lowest
        for (item_id, lowest), place in zip(layout, places, strict=True)
        if place != NOT_ANSWERED
    }


def layout_text(layout: Layout) -> str:
    return json.dumps(layout, ensure_ascii=False, separators=(",", ":"))


def layout_from_text(text: str) -> Layout:
    return tuple((str(item_id), int(lowest)) for item_id, lowest in json.loads(text))


def encode(definition: Definition, answers: Mapping[str, int]) -> bytes:
    """The research copy of ``answers`` (already checked against ``definition``)."""
    return copied_part(definition, pack(layout_of(definition), answers))


def copied_part(definition: Definition, packed: bytes) -> bytes:
    """The research copy of answers already packed in ``layout_of(definition)``: the copy
    is the bytes of the attachment and demographic items, which that layout puts first."""
    return packed[: len(definition.items) + len(definition.demographics)]


def position_of(definition: Definition, item_id: str) -> int:
    """Where an item's (or a demographic item's) byte is."""
    for position, item in enumerate(definition.items):
        if item.id == item_id:
            return position
    for offset, demographic in enumerate(definition.demographics):
        if demographic.id == item_id:
            return len(definition.items) + offset
    raise KeyError(item_id)


def option_of(place: int, options: int) -> int | None:
    """Which of a demographic item's ``options`` (counted from 0) a byte holds; None when the
    item was not answered."""
    if place == NOT_ANSWERED:
        return None
    if not FIRST_PLACE <= place < FIRST_PLACE + options:
        raise ValueError(f"no option {place} in a research copy")
    return place - FIRST_PLACE
