"""Questionnaires as the API shows them: the list, one to render, and stateless scoring."""

from __future__ import annotations

from app.errors import FieldProblem, InvalidInput, NotFound
from app.schemas.questionnaires import (
    DemographicOptionView,
    DemographicView,
    ItemView,
    QuestionnaireSummary,
    QuestionnaireView,
    ScaleView,
    SectionView,
)
from app.schemas.responses import ScoreRequest
from app.services.locale import RequestLocale
from app.services.notices import counted
from scoring.catalog import Catalog
from scoring.definition import Localized
from scoring.loading import LoadedDefinition
from scoring.result import ScoreResult


def _text(text: Localized, language: str) -> str:
    return text.get(language) or text.get("en") or next(iter(text.values()))


def summaries(catalog: Catalog) -> list[QuestionnaireSummary]:
    return [
        QuestionnaireSummary(
            id=d.definition.id,
            version=d.definition.version,
            hash=d.content_hash,
            title=_text(d.definition.title, d.definition.languages[0]),
            languages=list(d.definition.languages),
            item_count=len(d.definition.items) + len(d.definition.wellbeing_items),
            estimated_minutes=d.definition.estimated_minutes,
        )
        for d in sorted(catalog.definitions.values(), key=lambda d: d.definition.id)
    ]


def find(catalog: Catalog, questionnaire_id: str) -> LoadedDefinition:
    loaded = catalog.get(questionnaire_id)
    if loaded is None:
        raise NotFound(f"No questionnaire {questionnaire_id!r}.")
    return loaded


def render(loaded: LoadedDefinition, locale: RequestLocale) -> QuestionnaireView:
    """The definition in one language, without the scoring key (dimensions, reverse keying).
    Demographic items are listed on their own, in no section: a client may offer them."""
    definition = loaded.definition
    language = locale.language(definition.languages)
    labels = {t.id: _text(t.label, language) for t in definition.targets}
    items = [
        ItemView(
            id=i.id,
            text=_text(i.text, language),
            scale=i.scale,
            target=i.target,
            target_label=labels.get(i.target or ""),
        )
        for i in definition.items
    ]
    wellbeing_items = [
        ItemView(id=w.id, text=_text(w.text, language), scale=w.scale)
        for w in definition.wellbeing_items
    ]
    sections = [
        SectionView(
            id="attachment",
            title=_text(definition.title, language),
            instructions=_text(definition.instructions, language),
            optional=False,
            items=items,
        )
    ]
    if definition.wellbeing is not None:
        sections.append(
            SectionView(
                id="wellbeing",
                title=_text(definition.wellbeing.title, language),
                instructions=_text(definition.wellbeing.instructions, language),
                optional=True,
                items=wellbeing_items,
            )
        )
    return QuestionnaireView(
        id=definition.id,
        version=definition.version,
        hash=loaded.content_hash,
        language=language,
        title=_text(definition.title, language),
        instructions=_text(definition.instructions, language),
        consent_text=_text(definition.consent_text, language) if definition.consent_text else None,
        estimated_minutes=definition.estimated_minutes,
        scales={
            name: ScaleView(
                min=scale.min,
                max=scale.max,
                labels=list(scale.labels.get(language) or next(iter(scale.labels.values()))),
            )
            for name, scale in definition.scales.items()
        },
        sections=sections,
        items=items,
        wellbeing_items=wellbeing_items,
        demographics=[
            DemographicView(
                id=d.id,
                text=_text(d.text, language),
                options=[
                    DemographicOptionView(id=o.id, label=_text(o.label, language))
                    for o in d.options
                ],
            )
            for d in definition.demographics
        ],
    )


def score_stateless(
    catalog: Catalog, loaded: LoadedDefinition, request: ScoreRequest, locale: RequestLocale
) -> ScoreResult:
    """Score answers without storing anything."""
    locale = locale.with_explicit(request.country, request.lang)
    language = locale.language(loaded.definition.languages)
    result, _risk, problems = catalog.evaluate(
        loaded, request.answers, language=language, country=locale.country()
    )
    if problems or result is None:
        raise InvalidInput(
            "Some answers are not valid.",
            [FieldProblem(p.item, p.message) for p in problems],
        )
    counted(result.crisis)
    return result
