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
"""

from __future__ import annotations

from collections.abc import Mapping

from scoring.definition import Definition

NOT_ANSWERED = 0
FIRST_PLACE = 1
"""The byte of a scale's lowest point, and of a demographic item's first option."""


def encode(definition: Definition, answers: Mapping[str, int]) -> bytes:
    """The research copy of ``answers`` (already checked against ``definition``)."""
    places = bytearray(len(definition.items) + len(definition.demographics))
    for position, item in enumerate(definition.items):
        value = answers.get(item.id)
        if value is not None:
            places[position] = value - definition.scales[item.scale].min + FIRST_PLACE
    for offset, demographic in enumerate(definition.demographics):
        places[len(definition.items) + offset] = answers.get(demographic.id, NOT_ANSWERED)
    return bytes(places)


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
