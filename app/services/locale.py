"""What a request says about country and language, and how that is resolved.

Country: an explicit ``country`` wins, then the country stored with the response, then the
Accept-Language region, then the configured default. Language: an explicit ``lang`` (which
must be offered), then the stored language, then the first Accept-Language language that is
offered, then the questionnaire's first language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import FieldProblem, InvalidInput


@dataclass(frozen=True, slots=True)
class RequestLocale:
    explicit_country: str | None = None
    header_country: str | None = None
    default_country: str | None = None
    explicit_language: str | None = None
    header_languages: tuple[str, ...] = ()

    def with_explicit(self, country: str | None, language: str | None) -> RequestLocale:
        return RequestLocale(
            country.upper() if country else self.explicit_country,
            self.header_country,
            self.default_country,
            language or self.explicit_language,
            self.header_languages,
        )

    def country(self, stored: str | None = None) -> str | None:
        return self.explicit_country or stored or self.header_country or self.default_country

    def language(self, offered: Sequence[str], stored: str | None = None) -> str:
        if self.explicit_language is not None:
            if self.explicit_language not in offered:
                raise InvalidInput(
                    "This language is not offered.",
                    [FieldProblem("lang", f"not offered; choose one of: {', '.join(offered)}")],
                )
            return self.explicit_language
        if stored is not None and stored in offered:
            return stored
        for language in self.header_languages:
            if language in offered:
                return language
        return offered[0]
