"""Which country's resources and which language a request gets: the one place that decides.

Country: an explicit ``country`` wins, then the country stored with the response, then the
region of the most preferred Accept-Language entry that has one (``en-GB`` -> ``GB``), then
the configured default. Language: an explicit ``lang``, which must be offered, then the stored
language if still offered, then the most preferred Accept-Language language that is offered,
then the first language offered. Headers are read with ``app.negotiation``'s q-values.

Refused requests (``app.errors``) still get a crisis notice, so ``request_country`` and
``request_language`` never refuse anything: a malformed value is passed over.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import Request

from app.negotiation import preferred

DEFAULT_LANGUAGE = "en"
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}))?$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


class LanguageNotOffered(ValueError):
    """An explicitly asked language that is not among those offered."""

    def __init__(self, language: str, offered: Sequence[str]) -> None:
        self.language = language
        self.offered = tuple(offered)
        super().__init__(f"not offered; choose one of: {', '.join(self.offered)}")


def accept_language_tags(header: str | None) -> list[tuple[str, str | None]]:
    """(language, region) pairs, most preferred first; entries that are not tags are skipped."""
    tags: list[tuple[str, str | None]] = []
    for value in preferred(header):
        match = _TAG.fullmatch(value)
        if match is not None:
            region = match.group(2).upper() if match.group(2) else None
            tags.append((match.group(1).lower(), region))
    return tags


def country_from_accept_language(header: str | None) -> str | None:
    return next((region for _, region in accept_language_tags(header) if region), None)


_CACHED_HEADER_LENGTH = 256


def header_locale(header: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The Accept-Language region (``country_from_accept_language``) and languages, most
    preferred first. A service sees a handful of distinct headers, so each short one is
    parsed once; a long one (rare, and possibly hostile) is parsed every time, not kept."""
    if header is None:
        return None, ()
    if len(header) > _CACHED_HEADER_LENGTH:
        return _read_header_locale(header)
    return _cached_header_locale(header)


def _read_header_locale(header: str) -> tuple[str | None, tuple[str, ...]]:
    tags = accept_language_tags(header)
    return (
        next((region for _, region in tags if region), None),
        tuple(language for language, _ in tags),
    )


_cached_header_locale = lru_cache(maxsize=256)(_read_header_locale)


def choose_country(
    explicit: str | None, stored: str | None, from_header: str | None, default: str | None
) -> str | None:
    return (explicit.upper() if explicit else None) or stored or from_header or default


def choose_language(
    offered: Sequence[str],
    explicit: str | None,
    stored: str | None,
    from_header: Sequence[str],
) -> str:
    if explicit is not None:
        if explicit not in offered:
            raise LanguageNotOffered(explicit, offered)
        return explicit
    if stored is not None and stored in offered:
        return stored
    return next((language for language in from_header if language in offered), offered[0])


def request_country(request: Request, explicit: str | None, default: str | None) -> str | None:
    """The country of any request, even one that is refused (a malformed ``explicit`` is
    passed over)."""
    given = explicit if explicit and _COUNTRY.fullmatch(explicit) else None
    header = country_from_accept_language(request.headers.get("accept-language"))
    return choose_country(given, None, header, default)


def request_language(request: Request, explicit: str | None) -> str:
    """The language of any request, even one that is refused: the notice of a refused request
    is worded in the asked language when there is one, else English."""
    if explicit:
        return explicit
    tags = accept_language_tags(request.headers.get("accept-language"))
    return tags[0][0] if tags else DEFAULT_LANGUAGE
