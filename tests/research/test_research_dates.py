"""Dates at the end of the calendar: widening ``until`` to the end of its week or month
must not overflow into a 500; it is refused with 422 naming ``until``."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from research_support import PROBLEM_JSON, export, new_key


@pytest.mark.parametrize("endpoint", ["summary", "histograms", "items"])
@pytest.mark.parametrize(
    ("until", "period"),
    [
        ("9999-12-31", "month"),
        ("9999-12-01", "month"),
        ("9999-12-31", "week"),
        ("9999-12-27", "week"),
        ("9999-12-01", "week"),
    ],
)
def test_an_until_at_the_end_of_the_calendar_is_refused_naming_until(
    research_client: TestClient, endpoint: str, until: str, period: str
) -> None:
    key = new_key(research_client.app.state.engine)  # type: ignore[attr-defined]
    response = export(research_client, endpoint, key, until=until, period=period)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [e["item"] for e in response.json()["errors"]] == ["until"]


def test_a_since_at_the_end_of_the_calendar_is_answered(research_client: TestClient) -> None:
    key = new_key(research_client.app.state.engine)  # type: ignore[attr-defined]
    response = export(research_client, "summary", key, since="9999-12-31", period="week")
    assert response.status_code in {200, 422}, response.text
