"""Every statistic the exports publish equals an independent computation with numpy/pandas on
the same stored responses, to 1e-9.

The data have a known structure: three correlated latent traits, nine items per trait (some
reverse-keyed, a few answers skipped), spread over two studies, three countries and four
months, plus responses that must not count (no research consent, not submitted). The
reference reads the stored rows with plain SQL and uses the scores the scoring engine stored
at submission, so the exports' own path (recomputing scores from answers inside the
database) is checked against the engine, not against itself.

k is set to 2 here so that nearly every value is published and can be compared; a withheld
value must be listed in ``suppressed``. The tests of suppression itself are elsewhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from research_support import (
    DIMENSIONS,
    NOW,
    QUESTIONNAIRE,
    Respondent,
    eligible_rows,
    export,
    insert,
    latent_answers,
    new_key,
    ok,
)

from scoring.catalog import Catalog

TOLERANCE = 1e-9
REVERSED = {"anx03", "anx07", "avo02", "avo05", "avo08", "dis04", "dis08"}
ITEMS = {
    d: [f"{p}{n:02d}" for n in range(1, 10)]
    for d, p in {"anxiety": "anx", "avoidance": "avo", "disorganization": "dis"}.items()
}


def close(published: float | None, expected: float) -> bool:
    return published is not None and abs(published - expected) <= TOLERANCE * max(
        1.0, abs(expected)
    )


@pytest.fixture
def study(
    make_client: Any, catalog: Catalog, database_url: str
) -> tuple[TestClient, str, pd.DataFrame]:
    client: TestClient = make_client(min_cell_size=2)
    rng = np.random.default_rng(20261128)
    people = []
    for answers in latent_answers(rng, 420, catalog):
        people.append(
            Respondent(
                answers,
                study=str(rng.choice(["alpha", "beta"])),
                country=str(rng.choice(["DE", "GB", "FR"])),
                submitted_at=NOW
                - dt.timedelta(days=int(rng.integers(0, 120)), hours=int(rng.integers(0, 24))),
            )
        )
    excluded = latent_answers(rng, 30, catalog)
    people += [Respondent(a, consent=False) for a in excluded[:15]]
    people += [Respondent(a, submitted=False) for a in excluded[15:]]
    engine = client.app.state.engine  # type: ignore[attr-defined]
    insert(engine, catalog, people)
    frame = eligible_rows(database_url)
    assert len(frame) == 420
    return client, new_key(engine), frame


def utc(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_convert("UTC") if stamp.tzinfo is not None else stamp.tz_localize("UTC")


def assert_published_or_listed(
    body: dict[str, Any], pointer: str, published: Any, expected: float
) -> None:
    if published is None:
        assert pointer in body["suppressed"], f"{pointer} is null but not listed as withheld"
        return
    assert close(published, expected), f"{pointer}: {published} != {expected}"


def check_dimensions(body: dict[str, Any], frame: pd.DataFrame, prefix: str = "") -> None:
    for dimension in DIMENSIONS:
        scores = frame[dimension].to_numpy(dtype=float)
        q1, median, q3 = np.quantile(scores, [0.25, 0.5, 0.75])  # Hyndman & Fan 7 (linear)
        expected = {
            "n": len(scores),
            "mean": scores.mean(),
            "sd": scores.std(ddof=1),
            "median": median,
            "q1": q1,
            "q3": q3,
            "min": scores.min(),
            "max": scores.max(),
        }
        published = body["dimensions"][dimension]
        for name, value in expected.items():
            assert close(published[name], float(value)), (
                prefix,
                dimension,
                name,
                published[name],
                value,
            )


def check_counts(body: dict[str, Any], frame: pd.DataFrame, prefix: str = "") -> None:
    n = len(frame)
    assert body["n"] == n
    primary = frame["primary"].value_counts()
    for tendency in ("anxious", "avoidant", "disorganized", "secure"):
        cell = body["tendencies"]["primary"][tendency]
        count = int(primary.get(tendency, 0))
        assert_published_or_listed(
            body, f"{prefix}/tendencies/primary/{tendency}/count", cell["count"], count
        )
        if cell["count"] is not None:
            assert close(cell["share"], count / n)
    for tendency in ("anxious", "avoidant", "disorganized"):
        cell = body["tendencies"]["elevated"][tendency]
        count = int(frame[f"elevated_{tendency}"].sum())
        assert_published_or_listed(
            body, f"{prefix}/tendencies/elevated/{tendency}/count", cell["count"], count
        )
        if cell["count"] is not None:
            assert close(cell["share"], count / n)
    levels = frame["crisis"].value_counts()
    for level in ("acute", "urgent", "support"):
        cell = body["crisis"][level]
        count = int(levels.get(level, 0))
        assert_published_or_listed(body, f"{prefix}/crisis/{level}/count", cell["count"], count)
        if cell["count"] is not None:
            assert close(cell["rate"], count / n)


def test_summary_statistics_equal_numpy(study: tuple[TestClient, str, pd.DataFrame]) -> None:
    client, key, frame = study
    body = ok(export(client, "summary", key))

    check_dimensions(body, frame)
    check_counts(body, frame)
    months = frame["submitted_at"].map(lambda s: utc(s).strftime("%Y-%m")).value_counts()
    assert list(body["periods"]["counts"]) == sorted(months.index)
    for label, count in months.items():
        assert_published_or_listed(
            body, f"/periods/counts/{label}", body["periods"]["counts"][label], int(count)
        )
    assert body["meta"]["n"] == len(frame)
    assert body["meta"]["questionnaire"]["id"] == QUESTIONNAIRE


def test_weekly_counts_use_iso_weeks(study: tuple[TestClient, str, pd.DataFrame]) -> None:
    client, key, frame = study
    body = ok(export(client, "summary", key, period="week"))

    def iso(stamp: pd.Timestamp) -> str:
        year, week, _ = utc(stamp).isocalendar()
        return f"{year}-W{week:02d}"

    weeks = frame["submitted_at"].map(iso).value_counts()
    counts = body["periods"]["counts"]
    assert set(weeks.index) <= set(counts)
    for label, count in counts.items():
        assert_published_or_listed(
            body, f"/periods/counts/{label}", count, int(weeks.get(label, 0))
        )
    # Empty weeks inside the range are listed as zero, so a gap is visible as a gap.
    assert len(counts) == len(
        pd.period_range(
            frame["submitted_at"].map(utc).min().tz_localize(None),
            frame["submitted_at"].map(utc).max().tz_localize(None),
            freq="W",
        )
    )


def test_grouped_summary_equals_pandas_per_group(
    study: tuple[TestClient, str, pd.DataFrame],
) -> None:
    client, key, frame = study
    body = ok(export(client, "summary", key, group_by="country"))

    assert body["group_by"] == "country"
    assert [g["key"] for g in body["groups"]] == ["DE", "FR", "GB"]
    for index, group in enumerate(body["groups"]):
        members = frame[frame["country"] == group["key"]]
        check_dimensions(group, members, f"/groups/{index}")
        check_counts(group | {"suppressed": body["suppressed"]}, members, f"/groups/{index}")
    check_dimensions(body, frame)


def test_histograms_equal_numpy_histogram(study: tuple[TestClient, str, pd.DataFrame]) -> None:
    client, key, frame = study
    body = ok(export(client, "histograms", key))

    edges = np.arange(1.0, 7.01, 0.5)  # half-point bins on the 1..7 scale
    for dimension in DIMENSIONS:
        expected, _ = np.histogram(frame[dimension].to_numpy(dtype=float), bins=edges)
        bins = body["dimensions"][dimension]["bins"]
        assert [b["lower"] for b in bins] == list(edges[:-1])
        assert [b["upper"] for b in bins] == list(edges[1:])
        assert bins[-1]["closed"] == "both"
        for index, (published, count) in enumerate(zip(bins, expected, strict=True)):
            pointer = f"/dimensions/{dimension}/bins/{index}/count"
            assert_published_or_listed(body, pointer, published["count"], int(count))
        assert body["dimensions"][dimension]["n"] == len(frame)


def cronbach(items: pd.DataFrame) -> float:
    """Cronbach's alpha from the covariance matrix: k/(k-1) (1 - trace / total)."""
    complete = items.dropna()
    k = complete.shape[1]
    cov = complete.cov(ddof=1).to_numpy()
    return float(k / (k - 1) * (1 - np.trace(cov) / cov.sum()))


def test_items_equal_pandas(study: tuple[TestClient, str, pd.DataFrame]) -> None:
    client, key, frame = study
    body = ok(export(client, "items", key))

    assert body["n"] == len(frame)
    for dimension, item_ids in ITEMS.items():
        keyed = pd.DataFrame({i: (8 - frame[i]) if i in REVERSED else frame[i] for i in item_ids})
        complete = keyed.dropna()
        published = body["reliability"][dimension]
        assert published["n"] == len(complete)
        assert close(published["alpha"], cronbach(keyed))
        for item in item_ids:
            raw = frame[item].dropna()
            summary = body["items"][item]
            assert summary["dimension"] == dimension
            assert summary["reverse"] is (item in REVERSED)
            assert summary["n"] == len(raw)
            assert_published_or_listed(body, f"/items/{item}/mean", summary["mean"], raw.mean())
            assert_published_or_listed(body, f"/items/{item}/sd", summary["sd"], raw.std(ddof=1))
            counts = raw.astype(int).value_counts()
            for point in range(1, 8):
                assert_published_or_listed(
                    body,
                    f"/items/{item}/distribution/{point}",
                    summary["distribution"][str(point)],
                    int(counts.get(point, 0)),
                )
            rest = complete.drop(columns=item)
            expected_r = np.corrcoef(complete[item], rest.sum(axis=1))[0, 1]
            assert close(summary["corrected_item_total"], float(expected_r))
            assert close(summary["alpha_if_deleted"], cronbach(rest))

    matrix = frame[list(DIMENSIONS)].corr(method="pearson")
    assert body["correlations"]["n"] == len(frame)
    for first in DIMENSIONS:
        for second in DIMENSIONS:
            assert close(
                body["correlations"]["matrix"][first][second], float(matrix.loc[first, second])
            )


def test_the_known_structure_shows(study: tuple[TestClient, str, pd.DataFrame]) -> None:
    """What a researcher would look for first: consistent scales, positively related traits."""
    client, key, _ = study
    body = ok(export(client, "items", key))

    for dimension in DIMENSIONS:
        assert body["reliability"][dimension]["alpha"] > 0.85
        assert all(body["items"][i]["corrected_item_total"] > 0.5 for i in ITEMS[dimension])
    matrix = body["correlations"]["matrix"]
    assert 0.2 < matrix["anxiety"]["avoidance"] < 0.5
    assert matrix["anxiety"]["anxiety"] == 1.0


def test_default_k_publishes_only_what_equals_the_reference(
    make_client: Any, study: tuple[TestClient, str, pd.DataFrame]
) -> None:
    _, key, frame = study
    client = make_client()  # k = 11 on the same data
    body = ok(export(client, "summary", key, group_by="study", period="week"))

    assert body["meta"]["suppression"]["min_cell_size"] == 11
    check_dimensions(body, frame)
    check_counts(body, frame)
    for index, group in enumerate(body["groups"]):
        check_counts(
            group | {"suppressed": body["suppressed"]},
            frame[frame["study"] == group["key"]],
            f"/groups/{index}",
        )
    assert body["suppressed"], "weekly counts per study include small cells"
