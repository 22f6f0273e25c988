"""Which FHIR release a request wants: ``?fhirVersion=`` first, then the ``fhirVersion``
parameter of the Accept (or Content-Type) media type, else R4."""

from __future__ import annotations

from typing import Literal

FhirVersion = Literal["4.0", "5.0"]
DEFAULT_VERSION: FhirVersion = "4.0"
RELEASES: dict[FhirVersion, str] = {"4.0": "4.0.1", "5.0": "5.0.0"}
FHIR_JSON = "application/fhir+json"
_ALIASES: dict[str, FhirVersion] = {
    "4": "4.0",
    "4.0": "4.0",
    "4.0.1": "4.0",
    "5": "5.0",
    "5.0": "5.0",
    "5.0.0": "5.0",
}


class UnsupportedVersion(ValueError):
    def __init__(self, asked: str) -> None:
        super().__init__(f"FHIR version {asked!r} is not offered; use 4.0 (R4) or 5.0 (R5)")


def _from_media_types(header: str | None) -> str | None:
    for media_range in (header or "").split(","):
        for parameter in media_range.split(";")[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "fhirversion":
                return value.strip().strip('"')
    return None


def choose_version(query: str | None, *headers: str | None) -> FhirVersion:
    asked = query
    for header in headers:
        if asked is None:
            asked = _from_media_types(header)
    if asked is None:
        return DEFAULT_VERSION
    version = _ALIASES.get(asked.strip())
    if version is None:
        raise UnsupportedVersion(asked)
    return version


def media_type(version: FhirVersion) -> str:
    return f"{FHIR_JSON}; fhirVersion={version}"
