"""Crisis resources and the crisis notice.

The resources are data (``questionnaires/resources/crisis-resources.yaml``): per country the
services, every way to reach each one, hours, languages, the source and the date it was last
verified.
The notice puts them in the order the level calls for:

- acute: the country's emergency number first (where the country is unknown, "your local
  emergency number" first, then the international directory), then crisis lines, then the rest;
- urgent: crisis lines (with every channel: call, text, chat) first, then support, then emergency;
- support: support services first, then crisis lines, then emergency.

Whatever the country, the international directory and the "your local emergency number"
fallback are always part of the list (last, except that acute leads with the emergency action),
so nobody is ever left with an empty list. Where the country is unknown, the notice lists the
countries that have resources (``country_choice``) so that one can be chosen.

Messages may name ``{emergency}`` (the country's emergency number, or "your local emergency
number") and ``{reach_crisis_line}`` (how to reach the listed crisis lines: only the channels
they offer, so nobody is told to text where no text line is listed).

Relationship-safety services (for when someone close is the danger) are kept apart from the
crisis lines: they are offered where relationship safety comes up, not in every notice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from scoring import yaml_text
from scoring.definition import CrisisLevel, Identifier, Localized, NonEmptyText
from scoring.loading import DefinitionError, DefinitionProblem, dotted
from scoring.memo import bounded, kept_with

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Channel = Literal["call", "text", "chat", "email", "web"]
ResourceKind = Literal["emergency", "crisis_line", "support", "directory", "relationship_safety"]
REACH_CHANNELS: tuple[Channel, ...] = ("call", "text", "chat")
WORDING_KEYS = (
    "local_emergency_number",
    "reach_call",
    "reach_call_text",
    "reach_call_chat",
    "reach_call_text_chat",
    "reach_directory",
)


class CrisisModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Contact(CrisisModel):
    """One way to reach a service: a number to call or text, a chat or web address, an e-mail."""

    channel: Channel
    value: NonEmptyText
    note: str | None = None


class CrisisResource(CrisisModel):
    id: Identifier
    name: NonEmptyText
    kind: ResourceKind
    country: CountryCode | None = None
    description: NonEmptyText
    contacts: tuple[Contact, ...] = Field(min_length=1)
    hours: NonEmptyText
    languages: tuple[str, ...] = ()
    source: NonEmptyText
    verified: dt.date


class CountryResources(CrisisModel):
    name: NonEmptyText
    resources: tuple[CrisisResource, ...] = Field(min_length=1)
    relationship_safety: tuple[CrisisResource, ...] = ()


class CountryOption(CrisisModel):
    code: CountryCode
    name: NonEmptyText


class CountryChoice(CrisisModel):
    """Where the country is unknown: the countries whose services can be shown instead, and
    the parameter that chooses one."""

    parameter: Literal["country"] = "country"
    countries: tuple[CountryOption, ...]


class CrisisNotice(CrisisModel):
    """The prominent notice shown when answers indicate risk."""

    level: CrisisLevel
    message: str
    resources: tuple[CrisisResource, ...]
    triggered_by: tuple[str, ...]
    country_choice: CountryChoice | None = None


class HelpFooter(CrisisModel):
    """The small, always-present pointer to help, on every result."""

    message: str
    resources: tuple[CrisisResource, ...]


_KEPT_TEXTS = 4096
"""At most this many notices (and footers) are kept: countries and languages come from
requests, so what is kept must stay bounded."""


class CrisisDirectory(CrisisModel):
    """The whole resource file."""

    countries: dict[CountryCode, CountryResources]
    international: tuple[CrisisResource, ...] = Field(min_length=1)
    local_emergency: CrisisResource
    messages: dict[CrisisLevel, Localized]
    help_footer: Localized
    wording: dict[str, Localized]

    @classmethod
    def load(cls, path: Path) -> CrisisDirectory:
        try:
            document = yaml_text.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DefinitionError(
                [DefinitionProblem(str(path), "", f"cannot read: {exc}")]
            ) from exc
        except yaml.YAMLError as exc:
            raise DefinitionError(
                [DefinitionProblem(str(path), "", f"not valid YAML: {exc}")]
            ) from exc
        try:
            directory = cls.model_validate(document)
        except ValidationError as exc:
            raise DefinitionError(
                [DefinitionProblem(str(path), dotted(e["loc"]), e["msg"]) for e in exc.errors()]
            ) from exc
        problems = [
            DefinitionProblem(str(path), f"messages.{level}", "missing")
            for level in ("acute", "urgent", "support")
            if level not in directory.messages
        ] + [
            DefinitionProblem(str(path), f"wording.{key}", "missing")
            for key in WORDING_KEYS
            if key not in directory.wording
        ]
        if problems:
            raise DefinitionError(problems)
        return directory

    def country_resources(self, country: str | None) -> tuple[CrisisResource, ...]:
        entry = self.countries.get(country or "")
        return entry.resources if entry is not None else ()

    def knows(self, country: str | None) -> bool:
        return (country or "") in self.countries

    def resources_for(self, level: CrisisLevel, country: str | None) -> tuple[CrisisResource, ...]:
        """The country's resources in the order ``level`` calls for, then the fallbacks."""
        order: dict[CrisisLevel, Sequence[ResourceKind]] = {
            "acute": ("emergency", "crisis_line", "support"),
            "urgent": ("crisis_line", "support", "emergency"),
            "support": ("support", "crisis_line", "emergency"),
        }
        local = self.country_resources(country)
        ranked = [r for kind in order[level] for r in local if r.kind == kind]
        if level == "acute" and not any(r.kind == "emergency" for r in local):
            return (self.local_emergency, *ranked, *self.international)
        return (*ranked, *self.international, self.local_emergency)

    def relationship_safety(self, country: str | None) -> tuple[CrisisResource, ...]:
        """Services for when someone close is the danger (none where the country is unknown:
        the international directory lists them too)."""
        entry = self.countries.get(country or "")
        return entry.relationship_safety if entry is not None else ()

    def country_choice(self, country: str | None) -> CountryChoice | None:
        if self.knows(country):
            return None
        return CountryChoice(
            countries=tuple(
                CountryOption(code=code, name=entry.name)
                for code, entry in sorted(self.countries.items(), key=lambda c: c[1].name)
            )
        )

    def _worded(self, text: dict[str, str], country: str | None, language: str) -> str:
        """A message with ``{emergency}`` and ``{reach_crisis_line}`` filled in for ``country``."""
        local = self.country_resources(country)
        emergency = next(
            (
                contact.value
                for r in local
                if r.kind == "emergency"
                for contact in r.contacts
                if contact.channel == "call"
            ),
            None,
        )
        offered = {c.channel for r in local if r.kind == "crisis_line" for c in r.contacts}
        channels = [channel for channel in REACH_CHANNELS if channel in offered]
        reach = "reach_" + "_".join(channels) if "call" in channels else "reach_directory"
        wording = self.wording.get(reach, self.wording["reach_directory"])
        return (
            _pick(text, language)
            .replace(
                "{emergency}", emergency or _pick(self.wording["local_emergency_number"], language)
            )
            .replace("{reach_crisis_line}", _pick(wording, language))
        )

    def notice(
        self, level: CrisisLevel, triggered_by: Sequence[str], country: str | None, language: str
    ) -> CrisisNotice:
        # Made once per (level, items, country, language) while this directory is loaded: a
        # notice is immutable, and a new directory (new resources) starts with none kept.
        key = (level, tuple(triggered_by), country, language)
        notices = bounded(kept_with(self), "notices", _KEPT_TEXTS)
        notice = notices.get(key)
        if notice is None:
            notice = notices[key] = self._notice(level, key[1], country, language)
        return notice

    def _notice(
        self, level: CrisisLevel, triggered_by: tuple[str, ...], country: str | None, language: str
    ) -> CrisisNotice:
        return CrisisNotice(
            level=level,
            message=self._worded(self.messages[level], country, language),
            resources=self.resources_for(level, country),
            triggered_by=triggered_by,
            country_choice=self.country_choice(country),
        )

    def help(self, country: str | None, language: str) -> HelpFooter:
        """The footer: the country's crisis lines and the fallbacks, without the urgency."""
        footers = bounded(kept_with(self), "help", _KEPT_TEXTS)
        footer = footers.get((country, language))
        if footer is None:
            footer = footers[country, language] = self._help(country, language)
        return footer

    def _help(self, country: str | None, language: str) -> HelpFooter:
        local = [r for r in self.country_resources(country) if r.kind == "crisis_line"]
        return HelpFooter(
            message=self._worded(self.help_footer, country, language),
            resources=(*local, *self.international, self.local_emergency),
        )


def _pick(text: dict[str, str], language: str) -> str:
    """The text in ``language``, else English, else whatever there is."""
    return text.get(language) or text.get("en") or next(iter(text.values()))
