"""What one request says about country and language, for the services.

The rules are ``app.locale``'s; this adds the request's facts and turns a refused language
into the domain's ``InvalidInput`` naming ``lang``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.errors import FieldProblem, InvalidInput
from app.locale import LanguageNotOffered, choose_country, choose_language


@dataclass(frozen=True, slots=True)
class RequestLocale:
    explicit_country: str | None = None
    header_country: str | None = None
    default_country: str | None = None
    explicit_language: str | None = None
    header_languages: tuple[str, ...] = ()

    def with_explicit(self, country: str | None, language: str | None) -> RequestLocale:
        return replace(
            self,
            explicit_country=country.upper() if country else self.explicit_country,
            explicit_language=language or self.explicit_language,
        )

    def country(self, stored: str | None = None) -> str | None:
        return choose_country(
            self.explicit_country, stored, self.header_country, self.default_country
        )

    def language(self, offered: Sequence[str], stored: str | None = None) -> str:
        try:
            return choose_language(offered, self.explicit_language, stored, self.header_languages)
        except LanguageNotOffered as exc:
            raise InvalidInput(
                "This language is not offered.", [FieldProblem("lang", str(exc))]
            ) from exc
