"""Helpers for the research export tests: generated respondents, storing them through the
submission service, keys, and reading the stored rows back directly (not through the research
code) for reference values."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from app.config import Settings
from app.models import ResponseSession
from app.repositories import research_studies
from app.schemas.responses import CreateResponseRequest
from app.security import digest, new_response_id, new_token
from app.services import responses, stored_results
from app.services.locale import RequestLocale
from app.services.research.access import create_key
from app.services.responses import ResponseContext
from app.services.studies import add_study
from scoring import answer_copy
from scoring.catalog import Catalog

QUESTIONNAIRE = "attachment-self-reflection"
WITH_DEMOGRAPHICS = "attachment-demographics-test"
"""fixtures/attachment-demographics.yaml: the bundled items, plus age_band and living_area."""
RESEARCH = "/api/v1/research"
PROBLEM_JSON = "application/problem+json"
DIMENSIONS = ("anxiety", "avoidance", "disorganization")
PREFIX = {"anxiety": "anx", "avoidance": "avo", "disorganization": "dis"}
NOW = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.UTC)


@dataclass
class Respondent:
    answers: dict[str, int]
    study: str | None = "alpha"
    country: str | None = "DE"
    language: str = "en"
    consent: bool = True
    submitted: bool = True
    submitted_at: dt.datetime = NOW
    extra: dict[str, Any] = field(default_factory=dict)
    questionnaire: str = QUESTIONNAIRE


def latent_answers(
    rng: np.random.Generator,
    n: int,
    catalog: Catalog,
    *,
    missing: float = 0.05,
    correlation: float = 0.4,
) -> list[dict[str, int]]:
    """Answers with a known structure: three correlated latent traits (one per dimension),
    each item = 4 + 1.3 * trait + noise, rounded and clipped to 1..7, reverse-keyed items
    answered reversed; a few answers missing (never so many that a dimension is unscored)."""
    definition = catalog.definitions[QUESTIONNAIRE].definition
    cov = np.full((3, 3), correlation) + np.eye(3) * (1 - correlation)
    traits = rng.multivariate_normal(np.zeros(3), cov, size=n)
    people = []
    for person in range(n):
        answers: dict[str, int] = {}
        for d_index, dimension in enumerate(DIMENSIONS):
            items = definition.items_of(dimension)
            skipped = 0
            for item in items:
                if skipped < 2 and rng.random() < missing:
                    skipped += 1
                    continue
                value = 4 + 1.3 * traits[person, d_index] + rng.normal(0, 1.0)
                value = int(np.clip(np.rint(value), 1, 7))
                answers[item.id] = 8 - value if item.reverse else value
        people.append(answers)
    return people


@dataclass(frozen=True, slots=True)
class _ContextAt(ResponseContext):
    """The submission service's context with its clock set to a respondent's moment."""

    moment: dt.datetime = NOW

    def now(self) -> dt.datetime:
        return self.moment


def _enrolment_code(session: Session, study: str | None) -> str | None:
    """The enrolment code of ``study``, registering it (exact exports) the first time: a
    response joins a study only through its enrolment code."""
    if study is None:
        return None
    registered = research_studies.get(session, study)
    if registered is None:
        registered = add_study(session, study, "exact", dt.datetime.now(dt.UTC))
    return registered.enrolment_code


def insert(engine: Engine, catalog: Catalog, respondents: Iterable[Respondent]) -> list[str]:
    """Store respondents through the submission service (``responses.start``, the code behind
    ``POST /responses`` and the web pages), each at its ``submitted_at``, in one transaction.

    ``extra`` then overwrites columns of the stored row: the only departure from what the
    service writes, for tests of rows it would never write today (an older content hash)."""
    settings = Settings(environment="test", database_url=engine.url.render_as_string(False))
    ids = []
    with Session(engine) as session:
        for person in respondents:
            enrolment = _enrolment_code(session, person.study)
            request = CreateResponseRequest.model_validate_json(
                json.dumps(
                    {
                        "questionnaire_id": person.questionnaire,
                        "answers": person.answers,
                        "submit": person.submitted,
                        "consent": {"research": person.consent},
                        "study": enrolment,
                        "lang": person.language,
                        "country": person.country,
                    }
                )
            )
            context = _ContextAt(session, catalog, settings, person.submitted_at)
            created = responses.start(context, request, RequestLocale(), None)
            if person.extra:
                row = session.get(ResponseSession, created.response_id)
                assert row is not None
                for name, value in person.extra.items():
                    setattr(row, name, value)
            ids.append(created.response_id)
        session.commit()
    return ids


def copy_rows(engine: Engine, ids: Sequence[str], copies: int) -> int:
    """The fast path for tests that need tens of thousands of responses: every stored row of
    ``ids`` written again ``copies`` times, column for column, under new ids (and new token
    digests), in plain bulk inserts. Nothing is computed here, so each copy holds exactly what
    the service stored (test_research_support.py checks it). Returns the rows written."""
    table = ResponseSession.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        originals = [
            dict(row._mapping)
            for row in connection.execute(table.select().where(table.c.id.in_(list(ids))))
        ]
        written = 0
        for _ in range(copies):
            batch = [
                {**row, "id": new_response_id(), "token_hash": digest(new_token())}
                for row in originals
            ]
            connection.execute(table.insert(), batch)
            written += len(batch)
    return written


def submit_through_api(
    client: TestClient,
    answers: dict[str, int],
    research: bool,
    questionnaire_id: str = QUESTIONNAIRE,
) -> str:
    """Answer and submit in one call, as an integrator would; returns the response id."""
    created = client.post(
        "/api/v1/responses",
        json={
            "questionnaire_id": questionnaire_id,
            "answers": answers,
            "submit": True,
            "consent": {"research": research},
        },
    )
    assert created.status_code == 201, created.text
    response_id: str = created.json()["response_id"]
    return response_id


def new_key(engine: Engine, studies: Sequence[str] = (), name: str = "Test Researcher") -> str:
    with Session(engine) as session:
        _, key = create_key(session, name, studies, dt.datetime.now(dt.UTC))
        session.commit()
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def export(client: TestClient, endpoint: str, key: str | None, **params: Any) -> Response:
    params.setdefault("questionnaire_id", QUESTIONNAIRE)
    headers = bearer(key) if key else {}
    return client.get(f"{RESEARCH}/{endpoint}", params=params, headers=headers)


def ok(response: Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def eligible_rows(database_url: str) -> pd.DataFrame:
    """Submitted, consenting responses, read with plain SQL; scores parsed from the stored
    results (what the scoring engine produced at submission, stored compactly: see
    app.services.stored_results)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT id, questionnaire_id, study, country, language, primary_tendency, "
                    "crisis_level, submitted_at, answers, answer_layout, result_frame, "
                    "result_values, "
                    "research_consent, status FROM response_session"
                )
            ).all()
            contents = dict(connection.execute(text("SELECT id, body FROM result_content")).all())
    finally:
        engine.dispose()
    records = []
    for row in rows:
        if row.status != "submitted" or not row.research_consent:
            continue
        layout = answer_copy.layout_from_text(contents[row.answer_layout])
        answers = answer_copy.unpack(layout, bytes(row.answers))
        pieces = [contents[int(p)] for p in contents[row.result_frame].split(",")]
        scores = stored_results.stored_document(pieces, row.result_values)
        record: dict[str, Any] = {
            "id": row.id,
            "questionnaire": row.questionnaire_id,
            "study": row.study,
            "country": row.country,
            "language": row.language,
            "primary": row.primary_tendency,
            "crisis": row.crisis_level,
            "submitted_at": pd.Timestamp(row.submitted_at),
        }
        for dimension in DIMENSIONS:
            record[dimension] = scores["scores"][dimension]["mean"]
        for tendency in scores["tendencies"]:
            record[f"elevated_{tendency['id']}"] = tendency["elevated"]
        for item, value in answers.items():
            record[item] = value
        records.append(record)
    return pd.DataFrame.from_records(records)


def table_rows(database_url: str, table: str) -> list[dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            result = connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))  # noqa: S608
            return [dict(row._mapping) for row in result]
    finally:
        engine.dispose()
