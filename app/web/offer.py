"""Which questionnaires the pages offer, and which one a visitor is shown.

Every active questionnaire in the catalog is offered: the bundled ``attachment-self-reflection``
first and by default (the first by id when it is not loaded), then the others by id. A link
chooses one with ``?questionnaire=<id>``; study enrolment links may name one the same way, and
when there is a choice, resume links name the questionnaire they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from app.web.views import localized
from scoring.catalog import Catalog
from scoring.loading import LoadedDefinition

DEFAULT_QUESTIONNAIRE = "attachment-self-reflection"
QUESTIONNAIRE_FIELD = "questionnaire"


def offered(catalog: Catalog) -> tuple[LoadedDefinition, ...]:
    """The questionnaires the pages offer, the default first."""
    ids = sorted(catalog.definitions)
    first = DEFAULT_QUESTIONNAIRE if DEFAULT_QUESTIONNAIRE in catalog.definitions else ids[0]
    return tuple(catalog.definitions[i] for i in [first, *(i for i in ids if i != first)])


def default_questionnaire(catalog: Catalog) -> LoadedDefinition:
    return offered(catalog)[0]


def has_choice(catalog: Catalog) -> bool:
    return len(catalog.definitions) > 1


def chosen(catalog: Catalog, questionnaire_id: str | None) -> LoadedDefinition | None:
    """The questionnaire a link or form names (the default when it names none), or None when
    it names one that is not offered."""
    if questionnaire_id is None or questionnaire_id == "":
        return default_questionnaire(catalog)
    return catalog.get(questionnaire_id)


def landing_url(questionnaire_id: str | None, study: str | None = None) -> str:
    """The start page showing one questionnaire, keeping the study link it came by."""
    query = {
        name: value
        for name, value in ((QUESTIONNAIRE_FIELD, questionnaire_id), ("study", study))
        if value
    }
    return f"/?{urlencode(query)}" if query else "/"


@dataclass(frozen=True, slots=True)
class Choice:
    """One questionnaire in the landing page's list."""

    id: str
    title: str
    minutes: int
    statements: int
    href: str
    current: bool


def _choice(loaded: LoadedDefinition, language: str, study: str | None, current: bool) -> Choice:
    definition = loaded.definition
    return Choice(
        id=definition.id,
        title=localized(definition.title, language),
        minutes=definition.estimated_minutes,
        statements=len(definition.items),
        href=landing_url(definition.id, study),
        current=current,
    )


def named(catalog: Catalog, questionnaire_id: str | None, language: str) -> Choice | None:
    """An offered questionnaire by id (None for none or one not offered)."""
    loaded = catalog.get(questionnaire_id) if questionnaire_id else None
    return _choice(loaded, language, None, False) if loaded is not None else None


def choices(catalog: Catalog, language: str, current: str, study: str | None) -> tuple[Choice, ...]:
    """The landing page's list: empty when only one questionnaire is offered."""
    if not has_choice(catalog):
        return ()
    return tuple(
        _choice(loaded, language, study, loaded.definition.id == current)
        for loaded in offered(catalog)
    )
