"""The words of the web pages, one YAML file per language in ``app/web/strings/``.

Nested keys are read as dotted paths (``landing.title``). Every language must have exactly the
keys English has, so a missing translation fails at start-up instead of showing a blank. A value
is a sentence (with optional ``{placeholders}``) or a list of sentences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import yaml

STRINGS_DIR = Path(__file__).resolve().parent / "strings"
BASE_LANGUAGE = "en"

Text = str | tuple[str, ...]


class StringsError(ValueError):
    """A strings file is missing, malformed, or does not match the English keys."""


def _flatten(prefix: str, node: object, into: dict[str, Text], source: Path) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, into, source)
    elif isinstance(node, str):
        into[prefix] = node.strip()
    elif isinstance(node, list) and all(isinstance(x, str) for x in node):
        into[prefix] = tuple(x.strip() for x in node)
    else:
        raise StringsError(f"{source}: {prefix or 'document'} must be text or a list of text")


class WebStrings:
    """Every page string, by language."""

    def __init__(self, by_language: Mapping[str, Mapping[str, Text]]) -> None:
        if BASE_LANGUAGE not in by_language:
            raise StringsError(f"no {BASE_LANGUAGE}.yaml strings file")
        expected = set(by_language[BASE_LANGUAGE])
        for language, strings in by_language.items():
            missing = sorted(expected - set(strings))
            extra = sorted(set(strings) - expected)
            if missing or extra:
                missing_text, extra_text = ", ".join(missing) or "none", ", ".join(extra) or "none"
                raise StringsError(
                    f"{language}: keys differ from {BASE_LANGUAGE} "
                    f"(missing: {missing_text}; extra: {extra_text})"
                )
        self._by_language = {lang: dict(strings) for lang, strings in by_language.items()}

    @classmethod
    def load(cls, folder: Path = STRINGS_DIR) -> WebStrings:
        by_language: dict[str, dict[str, Text]] = {}
        for path in sorted(folder.glob("*.yaml")):
            try:
                document = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise StringsError(f"{path}: not valid YAML: {exc}") from exc
            flat: dict[str, Text] = {}
            _flatten("", document, flat, path)
            by_language[path.stem] = flat
        return cls(by_language)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_language, key=lambda lang: (lang != BASE_LANGUAGE, lang)))

    def keys(self) -> frozenset[str]:
        return frozenset(self._by_language[BASE_LANGUAGE])

    def _raw(self, language: str, key: str) -> Text:
        strings = self._by_language.get(language) or self._by_language[BASE_LANGUAGE]
        if key not in strings:
            raise KeyError(f"no web string {key!r}")
        return strings[key]

    def text(self, language: str, key: str, **values: object) -> str:
        raw = self._raw(language, key)
        if not isinstance(raw, str):
            raise TypeError(f"web string {key!r} is a list; use texts()")
        return raw.format(**values) if values else raw

    def texts(self, language: str, key: str) -> Sequence[str]:
        raw = self._raw(language, key)
        if isinstance(raw, str):
            raise TypeError(f"web string {key!r} is a single text; use text()")
        return raw


class Translator:
    """The strings of one language, as the templates call them: ``t(key, **values)``."""

    def __init__(self, strings: WebStrings, language: str) -> None:
        self.strings = strings
        self.language = language

    def __call__(self, key: str, **values: object) -> str:
        return self.strings.text(self.language, key, **values)

    def many(self, key: str) -> Sequence[str]:
        return self.strings.texts(self.language, key)


@lru_cache(maxsize=1)
def web_strings() -> WebStrings:
    return WebStrings.load()
