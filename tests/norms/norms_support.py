"""Helpers for the norms tests: answer sets, submitting them through the response service,
and norms files written for a definition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlmodel import Session

from app.config import Settings
from app.db import create_db_engine
from app.repositories import research_studies
from app.schemas.responses import Consent, CreateResponseRequest
from app.services import responses
from app.services.locale import RequestLocale
from app.services.responses import ResponseContext
from app.services.studies import add_study
from scoring.catalog import Catalog
from scoring.loading import LoadedDefinition
from scoring.norms import (
    NORMS_FORMAT,
    cumulative_shares,
    discrete_laplace_variance,
    dump_norms,
    score_bins,
)

QUESTIONNAIRE = "attachment-self-reflection"
DIMENSIONS = ("anxiety", "avoidance", "disorganization")


def answer_sets(
    catalog: Catalog, n: int, seed: int, *, partial: float = 0.1
) -> list[dict[str, int]]:
    """Varied answers: a person-level leaning per dimension plus item noise, 1..7; with
    probability ``partial`` a person skips one item of a dimension (so some scores fall
    between the bins' edges)."""
    rng = np.random.default_rng(seed)
    definition = catalog.definitions[QUESTIONNAIRE].definition
    people = []
    for _ in range(n):
        answers: dict[str, int] = {}
        for dimension in DIMENSIONS:
            leaning = rng.normal(0, 1.2)
            items = definition.items_of(dimension)
            skip = items[int(rng.integers(len(items)))].id if rng.random() < partial else None
            for item in items:
                if item.id == skip:
                    continue
                value = int(np.clip(np.rint(4 + leaning + rng.normal(0, 1.0)), 1, 7))
                answers[item.id] = 8 - value if item.reverse else value
        people.append(answers)
    return people


def submit_all(
    settings: Settings,
    catalog: Catalog,
    people: Sequence[dict[str, int]],
    *,
    consent: bool = True,
    study: str | None = None,
) -> list[dict[str, float]]:
    """Submit every answer set as a new response through the response service; each
    result's dimension scores."""
    engine = create_db_engine(settings)
    scores = []
    try:
        with Session(engine) as session:
            ctx = ResponseContext(session, catalog, settings)
            enrolment = None
            if study is not None:  # a response joins a study through its enrolment code
                registered = research_studies.get(session, study)
                if registered is None:
                    registered = add_study(session, study, "exact", dt.datetime.now(dt.UTC))
                enrolment = registered.enrolment_code
            for answers in people:
                created = responses.start(
                    ctx,
                    CreateResponseRequest(
                        questionnaire_id=QUESTIONNAIRE,
                        answers=answers,  # type: ignore[arg-type]
                        submit=True,
                        consent=Consent(research=consent),
                        study=enrolment,
                    ),
                    RequestLocale(),
                    None,
                )
                assert created.result is not None
                scores.append(
                    {d: s.mean for d, s in created.result.scores.items() if s.mean is not None}
                )
            session.commit()
    finally:
        engine.dispose()
    return scores


def exact_share_below(sample: Sequence[float], score: float) -> float:
    return sum(1 for value in sample if value < score - 1e-9) / len(sample)


def write_norms(
    folder: Path,
    loaded: LoadedDefinition,
    sample: dict[str, Sequence[float]],
    *,
    built_on: str = "2026-11-01",
) -> Path:
    """A norms file (without noise) for ``loaded`` from exact sample scores, where the
    catalog looks for it: ``folder/norms/<id>/<date>.yaml``."""
    definition = loaded.definition
    dimensions = {}
    n = 0
    for dimension in definition.dimensions:
        items = len(definition.items_of(dimension.id))
        bins = score_bins(1, 7, items)
        counts = [0] * len(bins)
        for value in sample[dimension.id]:
            counts[int((value - 1) * items + 1e-9)] += 1
        n = sum(counts)
        shares = cumulative_shares(counts, discrete_laplace_variance(0))
        dimensions[dimension.id] = {
            "bins": [
                {"lower": lo, "upper": up, "count": c, "below": b, "margin": m}
                for (lo, up), c, (b, m) in zip(bins, counts, shares, strict=True)
            ]
        }
    content = {
        "format": NORMS_FORMAT,
        "questionnaire": {
            "id": definition.id,
            "version": definition.version,
            "hash": loaded.content_hash,
        },
        "built": {"on": built_on, "by": "test"},
        "source": {"kind": "study", "description": "A test sample", "sample": "generated"},
        "sample": {"n": n, "since": "2026-03-01", "until": "2026-10-31", "study": None},
        "privacy": None,
        "dimensions": dimensions,
    }
    path = folder / "norms" / definition.id / f"{built_on}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_norms(content), encoding="utf-8")
    return path


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
