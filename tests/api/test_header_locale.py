"""Accept-Language read once per distinct header: the same answer as reading it afresh."""

from __future__ import annotations

import pytest

from app.locale import accept_language_tags, country_from_accept_language, header_locale


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "de-AT, en;q=0.5",
        "fr-CA;q=0.3, de-CH",
        "*, x-klingon;q=2, en-US;q=0.9",
        "en;q=0, es-MX",
        ", ".join(f"l{i % 10}x-GB;q=0.{i % 9}" for i in range(80)),  # longer than is kept
    ],
)
def test_the_header_locale_is_what_the_header_says(header: str | None) -> None:
    expected = (
        country_from_accept_language(header),
        tuple(language for language, _ in accept_language_tags(header or "")),
    )
    assert header_locale(header) == expected
    assert header_locale(header) == expected
