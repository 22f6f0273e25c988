"""Risk screening of a request, whatever else is wrong with it.

The risk edge reads every body before routing and hands the pairs that name a risk item here;
the web client screens the answers of a form it refuses with ``screen_body``. When the
questionnaire is known (from the path or the body) its rules apply; otherwise every
definition's rules do, so a request too broken to name its questionnaire still gets help.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import read_only
from app.services.notices import crisis_notice
from app.services.responses import ResponseContext, StoredRisk, keep_seen_risk
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.memo import kept_with
from scoring.risk import NO_RISK, RiskAssessment, strongest


def screen_body(
    catalog: Catalog,
    payload: Mapping[str, object],
    *,
    path_questionnaire_id: str | None,
    country: str | None,
    language: str,
) -> CrisisNotice | None:
    answers = payload.get("answers")
    if not isinstance(answers, dict):
        return None
    named = payload.get("questionnaire_id")
    questionnaire_id = named if isinstance(named, str) and catalog.get(named) else None
    risk = catalog.screen(answers, questionnaire_id or path_questionnaire_id)
    return crisis_notice(catalog, risk, country, language)


def risk_items(catalog: Catalog) -> frozenset[str]:
    """Every item id any risk rule reads, in lower case (found once per catalog)."""
    kept = kept_with(catalog)
    items: frozenset[str] | None = kept.get("risk items")
    if items is None:
        items = kept["risk items"] = frozenset(
            rule.item.casefold()
            for loaded in catalog.definitions.values()
            for rule in loaded.definition.risk_rules
        )
    return items


def screen_pairs(
    catalog: Catalog, pairs: Iterable[tuple[str, object]], questionnaire_id: str | None
) -> RiskAssessment:
    """The highest risk any single key/value pair indicates (duplicates each count)."""
    known = questionnaire_id if questionnaire_id and catalog.get(questionnaire_id) else None
    return strongest([NO_RISK, *(catalog.screen_answer(key, value, known) for key, value in pairs)])


def keep_risk(
    engine: Engine,
    catalog: Catalog,
    settings: Settings,
    response_id: str,
    token: str,
    seen: RiskAssessment,
) -> StoredRisk | None:
    """In its own small transaction: raise the stored level of the response the id and token
    open (if any) to what was seen, and return what is stored. When nothing risky was seen
    there is nothing to raise: the transaction only reads, and takes no write lock."""
    if not seen.indicated:
        engine = read_only(engine)
    with Session(engine, expire_on_commit=False) as session:
        try:
            stored = keep_seen_risk(
                ResponseContext(session, catalog, settings), response_id, token, seen
            )
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return stored
