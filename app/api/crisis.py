"""Crisis resources for a country, always with the international fallbacks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from app.deps import CatalogDep, LocaleDep
from app.schemas.common import CountryParam, LanguageParam, ResponseModel
from app.schemas.problem import problem_responses
from scoring.crisis import CrisisResource


class CrisisResourcesView(ResponseModel):
    country: str | None
    known_country: bool
    message: str
    resources: tuple[CrisisResource, ...]
    relationship_safety: tuple[CrisisResource, ...] = Field(
        description="Services for when someone close is the danger (feeling unsafe with a "
        "partner or family member): the country's, none where it is unknown."
    )


router = APIRouter(tags=["crisis"])


@router.get(
    "/crisis-resources",
    response_model=CrisisResourcesView,
    operation_id="getCrisisResources",
    summary="Get crisis resources for a country",
    responses=problem_responses(422),
)
def crisis_resources(
    catalog: CatalogDep,
    locale: LocaleDep,
    country: Annotated[CountryParam | None, Query()] = None,
    lang: Annotated[LanguageParam | None, Query()] = None,
) -> CrisisResourcesView:
    """Who to contact, for ``country`` (else Accept-Language, else the default)."""
    locale = locale.with_explicit(country, lang)
    resolved = locale.country()
    language = locale.language(tuple(catalog.crisis.help_footer))
    footer = catalog.crisis.help(resolved, language)
    return CrisisResourcesView(
        country=resolved,
        known_country=catalog.crisis.knows(resolved),
        message=footer.message,
        resources=catalog.crisis.resources_for("urgent", resolved),
        relationship_safety=catalog.crisis.relationship_safety(resolved),
    )
