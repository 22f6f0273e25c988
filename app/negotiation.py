"""The q-values of ``Accept`` and ``Accept-Language`` (RFC 9110, section 12.4.2), read once.

Both headers are comma-separated values, each with optional ``;name=value`` parameters, ``q``
among them: a weight from 0 to 1, 1 when absent. A weight that is not a number in that range
counts as 0, "not acceptable", like an explicit ``q=0``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Weighted:
    value: str
    quality: float


def weighted(header: str | None) -> list[Weighted]:
    """Every value of the header with its weight, in the order the header lists them."""
    values: list[Weighted] = []
    for part in (header or "").split(","):
        value, *params = (piece.strip() for piece in part.split(";"))
        if not value:
            continue
        quality = 1.0
        for param in params:
            name, _, number = param.partition("=")
            if name.strip().lower() == "q":
                quality = _quality(number.strip())
        values.append(Weighted(value, quality))
    return values


def preferred(header: str | None) -> list[str]:
    """The acceptable values, most wanted first (ties keep the header's order)."""
    ranked = sorted(enumerate(weighted(header)), key=lambda pair: (-pair[1].quality, pair[0]))
    return [entry.value for _, entry in ranked if entry.quality > 0]


def media_quality(accept: str | None, media: str) -> float:
    """How much an ``Accept`` header wants ``media``: the weight of the most specific range
    that matches it (``type/subtype``, then ``type/*``, then ``*/*``), 0 when none does."""
    media = media.lower()
    specificity = {media: 3, media.split("/")[0] + "/*": 2, "*/*": 1}
    matches = [
        (specificity[entry.value.lower()], entry.quality)
        for entry in weighted(accept)
        if entry.value.lower() in specificity
    ]
    return max(matches)[1] if matches else 0.0


def _quality(number: str) -> float:
    try:
        quality = float(number)
    except ValueError:
        return 0.0
    return quality if 0.0 <= quality <= 1.0 else 0.0
