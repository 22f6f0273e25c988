"""Property test through the API: for random data, filters and ``group_by``, no exported cell
reveals a count between 1 and k - 1, directly or by subtraction from totals or sibling cells.
``group_by=age_band`` groups by a demographic item (the questionnaire with demographics in
``fixtures/``, answered by most, in unequal bands).

Each example stores random respondents (varied tendencies, crisis answers, studies, countries,
dates, consent), asks for the summary (maybe grouped), the histograms and the items, and
rebuilds from the JSON alone every equation a reader could use: each block's counts add up to
its n, the groups add up to the overall counts, the histogram bins add up to the scored n and,
from the threshold up, to the elevated count the summary shows, an item's counts add up to its
N and, with its mean and SD, to two weighted sums. The true value of every cell (withheld or
never exported) comes from the stored rows. :mod:`disclosure_check` then looks for a small
count that is published, follows from the published ones, or is the difference between a
total and its published parts.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pandas as pd
import pytest
from disclosure_check import System, disclosures
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from research_support import (
    DIMENSIONS,
    NOW,
    QUESTIONNAIRE,
    WITH_DEMOGRAPHICS,
    Respondent,
    eligible_rows,
    export,
    insert,
    new_key,
    ok,
)
from sqlalchemy import text

from scoring.catalog import Catalog

TENDENCIES = ("anxious", "avoidant", "disorganized")
PRIMARY = (*TENDENCIES, "secure")
LEVELS = ("acute", "urgent", "support")
STUDIES = ("s1", "s2", "s3")
THRESHOLD_BIN = 7  # bins are 1.0, 1.5, ... 7.0: bin 7 starts at the elevated threshold 4.5
FIELD = {
    "study": "study",
    "country": "country",
    "language": "language",
    "tendency": "primary",
    "age_band": "age_band",
}
AGE_BANDS = ("18-24", "25-39", "40-59", "60-plus")

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def person(rng: random.Random, catalog: Catalog, questionnaire: str) -> Respondent:
    definition = catalog.definitions[questionnaire].definition
    levels = {d: rng.choice([2, 4, 6]) for d in DIMENSIONS}
    answers: dict[str, int] = {}
    for item in definition.items:
        if rng.random() < 0.04:
            continue
        value = min(7, max(1, levels[item.dimension] + rng.choice([-1, 0, 0, 1])))
        answers[item.id] = 8 - value if item.reverse else value
    for dimension in DIMENSIONS:  # keep every dimension scorable (7 of 9 answered)
        for item in definition.items_of(dimension)[:7]:
            answers.setdefault(item.id, levels[dimension])
    crisis = rng.random()
    if crisis < 0.05:
        answers["wb_now"] = 1
    elif crisis < 0.15:
        answers["wb_life"] = rng.choice([1, 2])
    elif crisis < 0.3:
        answers["wb_overwhelmed"] = 3
    if definition.demographics:
        place = rng.choices([0, 1, 2, 3, 4], weights=[2, 8, 5, 2, 1])[0]
        answers.update({"age_band": place} if place else {})
    return Respondent(
        answers,
        study=rng.choice([*STUDIES, None]),
        country=rng.choice(["DE", "GB", "FR", None]),
        language="en",
        consent=rng.random() < 0.9,
        submitted_at=NOW - dt.timedelta(days=rng.randrange(0, 75), hours=rng.randrange(24)),
        questionnaire=questionnaire,
    )


scenarios = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32),
        "n": st.one_of(st.integers(0, 15), st.integers(15, 90)),
        "k": st.sampled_from([3, 5, 11]),
        "group_by": st.sampled_from([None, "study", "country", "tendency", "language", "age_band"]),
        "period": st.sampled_from(["week", "month"]),
        "study": st.sampled_from([None, "s1"]),
        "since": st.sampled_from([None, dt.date(2026, 2, 1)]),
    }
)


def in_scope(frame: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    filters = meta["filters"]
    if frame.empty:
        return frame
    stamps = frame["submitted_at"].map(
        lambda s: s.tz_convert("UTC") if s.tzinfo is not None else s.tz_localize("UTC")
    )
    keep = pd.Series(True, index=frame.index)
    if filters["study"] is not None:
        keep &= frame["study"] == filters["study"]
    if filters["since"] is not None:
        keep &= stamps >= pd.Timestamp(filters["since"], tz="UTC")
    if filters["until"] is not None:
        keep &= stamps < pd.Timestamp(filters["until"], tz="UTC") + pd.Timedelta(days=1)
    return frame[keep].assign(period=stamps[keep].map(lambda s: label(s, filters["period"])))


def with_age_band(frame: pd.DataFrame) -> pd.DataFrame:
    """The age band as the exports name it (the option id), missing where not answered."""
    if frame.empty:
        return frame
    places = frame["age_band"] if "age_band" in frame else pd.Series(pd.NA, index=frame.index)
    band = places.map(lambda place: AGE_BANDS[int(place) - 1], na_action="ignore")
    return frame.assign(age_band=band)


def label(stamp: pd.Timestamp, unit: str) -> str:
    if unit == "month":
        return stamp.strftime("%Y-%m")
    year, week, _ = stamp.isocalendar()
    return f"{year}-W{week:02d}"


def add_block(
    system: System, body: dict[str, Any], prefix: str, rows: pd.DataFrame, withheld: set[str]
) -> dict[str, str]:
    """The block's cells and its own equations; returns cell name -> key, for the margins."""
    n_key = system.cell(f"{prefix}/n", len(rows), f"{prefix}/n" not in withheld)
    if body["n"] is not None:
        assert body["n"] == len(rows)
    keys: dict[str, str] = {}

    def cell(name: str, pointer: str, value: int, exported: bool = True) -> str:
        published = exported and pointer not in withheld
        if published:
            shown = resolve(body, pointer[len(prefix) :])
            assert shown == value, (pointer, shown, value)
        keys[name] = system.cell(pointer if exported else "~" + pointer, value, published)
        return keys[name]

    for dimension in DIMENSIONS:
        scored = cell(f"scored/{dimension}", f"{prefix}/dimensions/{dimension}/n", len(rows))
        unscored = cell(
            f"unscored/{dimension}", f"{prefix}/dimensions/{dimension}/unscored", 0, False
        )
        system.total(n_key, [scored, unscored])
    parts = [
        cell(
            f"primary/{t}",
            f"{prefix}/tendencies/primary/{t}/count",
            int((rows["primary"] == t).sum()),
        )
        for t in PRIMARY
    ]
    parts.append(
        cell(
            "primary/other",
            f"{prefix}/tendencies/primary/other",
            int((~rows["primary"].isin(PRIMARY)).sum()),
            False,
        )
    )
    system.total(n_key, parts)
    for t in TENDENCIES:
        elevated = int(rows[f"elevated_{t}"].sum())
        system.total(
            n_key,
            [
                cell(f"elevated/{t}", f"{prefix}/tendencies/elevated/{t}/count", elevated),
                cell(
                    f"not/{t}", f"{prefix}/tendencies/elevated/{t}/not", len(rows) - elevated, False
                ),
            ],
        )
    parts = [
        cell(
            f"crisis/{level}",
            f"{prefix}/crisis/{level}/count",
            int((rows["crisis"] == level).sum()),
        )
        for level in LEVELS
    ]
    parts.append(
        cell("crisis/none", f"{prefix}/crisis/none", int(rows["crisis"].isna().sum()), False)
    )
    system.total(n_key, parts)
    periods = body["periods"]["counts"] or {}
    assert set(rows["period"]) <= set(periods)
    parts = [
        cell(f"period/{p}", f"{prefix}/periods/counts/{p}", int((rows["period"] == p).sum()))
        for p in periods
    ]
    system.total(n_key, parts)
    keys["n"] = n_key
    return keys


def resolve(body: dict[str, Any], pointer: str) -> Any:
    node: Any = body
    for token in pointer.strip("/").split("/"):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def check_shares(body: dict[str, Any]) -> None:
    """A withheld count takes its share or rate with it (else share x n gives it back)."""
    for section in ("primary", "elevated"):
        for cell in body["tendencies"][section].values():
            assert (cell["count"] is None) == (cell["share"] is None) or body["n"] == 0
    for cell in body["crisis"].values():
        assert (cell["count"] is None) == (cell["rate"] is None) or body["n"] == 0


@pytest.fixture
def clients(make_client: Any) -> dict[int, TestClient]:
    return {k: make_client(min_cell_size=k) for k in (3, 5, 11)}


@EXAMPLES
@given(scenario=scenarios)
def test_no_export_reveals_a_small_count(
    scenario: dict[str, Any], clients: dict[int, TestClient], catalog: Catalog, database_url: str
) -> None:
    k = scenario["k"]
    client = clients[k]
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM response_session"))
    rng = random.Random(scenario["seed"])
    questionnaire = WITH_DEMOGRAPHICS if scenario["group_by"] == "age_band" else QUESTIONNAIRE
    insert(engine, catalog, [person(rng, catalog, questionnaire) for _ in range(scenario["n"])])
    key = new_key(engine)
    params = {k: v for k, v in scenario.items() if k in ("period", "study", "since") and v}
    params["questionnaire_id"] = questionnaire
    if scenario["group_by"]:
        params["group_by"] = scenario["group_by"]
    summary = ok(export(client, "summary", key, **params))
    params.pop("group_by", None)
    histograms = ok(export(client, "histograms", key, **params))
    items = ok(export(client, "items", key, **params))

    rows = in_scope(with_age_band(eligible_rows(database_url)), summary["meta"])
    withheld = set(summary["suppressed"])
    n = len(rows)
    if n == 0:
        assert summary["n"] == histograms["n"] == items["n"] == 0
        assert not summary["suppressed"]
        return
    if n < k:
        assert summary["n"] is None
        assert histograms["n"] is None
        assert items["n"] is None
        assert summary["groups"] in (None, [])
        return

    system = System()
    overall = add_block(system, summary, "", rows, withheld)
    check_shares(summary)
    groups = summary["groups"] or []
    named = {g["key"] for g in groups if not g["other"]}
    margins: dict[str, list[str]] = {name: [] for name in overall}
    for index, group in enumerate(groups):
        column = FIELD[summary["group_by"]]
        members = (
            rows[~rows[column].isin(named)]
            if group["other"]
            else rows[rows[column].isna()]
            if group["key"] is None
            else rows[rows[column] == group["key"]]
        )
        assert len(members) >= k, "every group listed has at least k responses"
        keys = add_block(system, group, f"/groups/{index}", members, withheld)
        check_shares(group)
        for name, key_ in keys.items():
            margins[name].append(key_)
    if groups:
        for name, parts in margins.items():
            system.total(overall[name], parts)
    assert disclosures(system, k) == []

    # Histograms, tied to the summary's scored n and elevated counts.
    system = System()
    hidden = set(histograms["suppressed"])
    n_key = system.cell("/n", n, True)
    for dimension, tendency in zip(DIMENSIONS, TENDENCIES, strict=True):
        scored = system.cell(
            f"/dimensions/{dimension}/n", n, f"/dimensions/{dimension}/n" not in withheld
        )
        assert (histograms["dimensions"][dimension]["n"] is None) == (
            f"/dimensions/{dimension}/n" in withheld
        )
        system.total(n_key, [scored, system.cell(f"~unscored/{dimension}", 0, False)])
        counts = [0] * 12
        for score in rows[dimension]:
            counts[min(int((score - 1) // 0.5), 11)] += 1
        bins = []
        for index, count in enumerate(counts):
            pointer = f"/dimensions/{dimension}/bins/{index}/count"
            if pointer not in hidden:
                assert histograms["dimensions"][dimension]["bins"][index]["count"] == count
            bins.append(system.cell(pointer, count, pointer not in hidden))
        system.total(scored, bins)
        elevated_pointer = f"/tendencies/elevated/{tendency}/count"
        elevated = system.cell(
            elevated_pointer, sum(counts[THRESHOLD_BIN:]), elevated_pointer not in withheld
        )
        system.total(elevated, bins[THRESHOLD_BIN:])
        system.total(
            n_key,
            [elevated, system.cell(f"~not/{tendency}", n - sum(counts[THRESHOLD_BIN:]), False)],
        )
    assert disclosures(system, k) == []

    # Items: each on its own (N is published), with the weighted sums of a published mean/SD.
    hidden = set(items["suppressed"])
    for item_id, item in items["items"].items():
        system = System()
        n_key = system.cell("/n", n, True)
        answered = rows[item_id].dropna().astype(int) if item_id in rows else pd.Series(dtype=int)
        item_n = system.cell(
            f"/items/{item_id}/n", len(answered), f"/items/{item_id}/n" not in hidden
        )
        system.total(n_key, [item_n, system.cell("~skipped", n - len(answered), False)])
        keys = {}
        for point in range(1, 8):
            pointer = f"/items/{item_id}/distribution/{point}"
            count = int((answered == point).sum())
            if pointer not in hidden:
                assert item["distribution"][str(point)] == count
            keys[point] = system.cell(pointer, count, pointer not in hidden)
        system.total(item_n, list(keys.values()))
        if item["mean"] is not None:
            system.weighted({**{c: float(p) for p, c in keys.items()}, item_n: -item["mean"]})
        if item["mean"] is not None and item["sd"] is not None:
            second = item["sd"] ** 2 + item["mean"] ** 2
            system.weighted({**{c: float(p * p) for p, c in keys.items()}, item_n: -second})
        assert disclosures(system, k) == [], item_id
