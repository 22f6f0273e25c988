"""The two ways the exports count give the same counts on the same rows.

On PostgreSQL a summary's and a histogram's counts are made by the database (one
``GROUP BY GROUPING SETS`` over codes computed in SQL from the research copies); on SQLite the
research copies are streamed and counted in Python. Both are asked here on the same stored
responses (PostgreSQL only: SQLite cannot run the first), for every kind of group and period,
and must agree on every count. The exports' numbers themselves are checked against reference
values computed from the stored rows in the other tests of this folder, on both databases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from research_support import (
    NOW,
    QUESTIONNAIRE,
    WITH_DEMOGRAPHICS,
    Respondent,
    insert,
    latent_answers,
)
from sqlalchemy import create_engine
from sqlmodel import Session

from app.repositories import research_data
from app.repositories.research_scope import PackedDimension, ResponseFilter
from app.services.research.request import grouping_of, packed_dimensions
from scoring.catalog import Catalog


def varied(catalog: Catalog, rng: np.random.Generator, count: int) -> list[Respondent]:
    """Respondents of both questionnaires over three months: some skip items (at most two
    per dimension), some answer the demographic items, some indicate risk, some have no
    study or country, some did not consent (never counted)."""
    people = []
    for index, answers in enumerate(latent_answers(rng, count, catalog, missing=0.15)):
        questionnaire = WITH_DEMOGRAPHICS if index % 2 else QUESTIONNAIRE
        if questionnaire == WITH_DEMOGRAPHICS and index % 5:
            answers["age_band"] = int(rng.integers(1, 5))
            answers["living_area"] = int(rng.integers(1, 3))
        if index % 7 == 0:
            answers["wb_overwhelmed"] = 3
        people.append(
            Respondent(
                answers,
                questionnaire=questionnaire,
                study=[None, "alpha", "beta"][index % 3],
                country=[None, "DE", "FR", "GB"][index % 4],
                consent=index % 11 != 5,
                submitted_at=NOW - dt.timedelta(days=int(rng.integers(0, 90))),
            )
        )
    return people


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_database_counts_what_python_counts(database_url: str, catalog: Catalog) -> None:
    engine = create_engine(database_url)
    try:
        insert(engine, catalog, varied(catalog, np.random.default_rng(7), 240))
        with Session(engine) as session:
            for questionnaire in (QUESTIONNAIRE, WITH_DEMOGRAPHICS):
                loaded = catalog.definitions[questionnaire]
                definition = loaded.definition
                dimensions = packed_dimensions(definition)
                where = ResponseFilter(questionnaire, loaded.content_hash)
                demographic = [d.id for d in definition.demographics]
                for name in [None, "study", "language", "country", "tendency", *demographic]:
                    grouping = None if name is None else grouping_of(definition, name)
                    for unit in ("week", "month"):
                        by_database = research_data.counted_in_database(
                            session, where, grouping, unit, dimensions
                        )
                        by_python = research_data.streamed_counts(
                            session, where, grouping, unit, dimensions
                        )
                        assert by_database.responses == by_python.responses, (name, unit)
                        assert by_database.codes == by_python.codes, (name, unit)
                        assert sum(by_python.responses.values()) > 50
                    codes = research_data.dimension_codes(session, where, grouping, dimensions)
                    streamed = research_data.streamed_codes(session, where, grouping, dimensions)
                    assert codes == streamed, name
            # Scales so wide that an item adds more than a byte holds: the database adds
            # them up with comparisons instead of its lookup tables, and must agree too.
            loaded = catalog.definitions[QUESTIONNAIRE]
            wide = tuple(widened(d) for d in packed_dimensions(loaded.definition))
            where = ResponseFilter(QUESTIONNAIRE, loaded.content_hash)
            by_database = research_data.counted_in_database(session, where, "study", "week", wide)
            by_python = research_data.streamed_counts(session, where, "study", "week", wide)
            assert by_database.codes == by_python.codes
            assert max(code for _, _, code in by_python.codes) > 256
    finally:
        engine.dispose()


def widened(dimension: PackedDimension) -> PackedDimension:
    """``dimension`` with every item on a scale from -20 to 60 (same bytes, other answers)."""
    items = tuple(dataclasses.replace(item, low=-20, high=60) for item in dimension.items)
    return dataclasses.replace(dimension, items=items)
