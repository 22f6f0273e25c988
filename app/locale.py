"""Which country's resources and which language a request should get.

Country: the explicit ``country`` parameter, else the region of the first Accept-Language
entry that has one (``en-GB`` -> ``GB``), else the configured default. Language: the explicit
``lang``, else the first Accept-Language language, else English; callers check it is offered.
"""

from __future__ import annotations

import re

from starlette.requests import Request

_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}))?$")


def accept_language_tags(header: str) -> list[tuple[str, str | None]]:
    """(language, region) pairs in the order of preference the header gives (q-values)."""
    ranked: list[tuple[float, int, str, str | None]] = []
    for position, part in enumerate(header.split(",")):
        piece, _, params = part.strip().partition(";")
        match = _TAG.fullmatch(piece.strip())
        if match is None:
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if quality <= 0:
            continue
        region = match.group(2).upper() if match.group(2) else None
        ranked.append((-quality, position, match.group(1).lower(), region))
    return [(language, region) for _, _, language, region in sorted(ranked)]


def country_from_accept_language(header: str | None) -> str | None:
    for _, region in accept_language_tags(header or ""):
        if region is not None:
            return region
    return None


def request_country(request: Request, explicit: str | None, default: str | None) -> str | None:
    if explicit and re.fullmatch(r"[A-Za-z]{2}", explicit):
        return explicit.upper()
    return country_from_accept_language(request.headers.get("accept-language")) or default


def request_language(request: Request, explicit: str | None) -> str:
    if explicit:
        return explicit
    tags = accept_language_tags(request.headers.get("accept-language", ""))
    return tags[0][0] if tags else "en"
